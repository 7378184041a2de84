import io
import math

import numpy as np
import pytest
import soundfile as sf
import torch

from polydit.audio.io import read_audio, wav_bytes, write_wav
from polydit.audio.waveform import fit_length, quantise_pcm16, resample
from polydit.core.errors import DataError


def _tone(seconds: float = 0.5, rate: int = 16000, amplitude: float = 0.5) -> torch.Tensor:
    t = torch.arange(int(seconds * rate)) / rate
    return amplitude * torch.sin(2 * math.pi * 440 * t)


def test_wav_round_trip_is_exact_at_16_bit(tmp_path):
    wave = _tone() + 0.001 * torch.randn(8000, generator=torch.Generator().manual_seed(0))
    path = write_wav(tmp_path / "sub" / "x.wav", wave, 16000)
    info = sf.info(str(path))
    assert (info.format, info.subtype, info.samplerate, info.channels) == (
        "WAV",
        "PCM_16",
        16000,
        1,
    )
    back, rate = read_audio(path)
    assert rate == 16000 and torch.equal(back, quantise_pcm16(wave))
    assert (back - wave).abs().max() <= 0.5 / 32768 + 1e-7
    assert [p.name for p in path.parent.iterdir()] == ["x.wav"]  # no temp file left
    write_wav(path, -wave, 16000)  # an existing file is replaced whole
    assert torch.equal(read_audio(path)[0], quantise_pcm16(-wave))


def test_wav_bytes_are_deterministic_and_clip():
    loud = torch.tensor([2.0, -2.0, 0.25])
    assert wav_bytes(loud, 8000) == wav_bytes(loud.clone(), 8000)
    levels, _ = sf.read(io.BytesIO(wav_bytes(loud, 8000)), dtype="int16")
    assert levels.tolist() == [32767, -32768, 8192]


def test_flac_files_read_too(tmp_path):
    sf.write(tmp_path / "x.flac", _tone().numpy(), 22050, subtype="PCM_16")
    wave, rate = read_audio(tmp_path / "x.flac")
    assert rate == 22050 and torch.allclose(wave, _tone(), atol=1e-4)


def _bad_files(tmp_path):
    good = tmp_path / "good.wav"
    write_wav(good, _tone(), 16000)
    data = good.read_bytes()
    (tmp_path / "junk.wav").write_bytes(b"this is not audio at all" * 20)
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    sf.write(tmp_path / "full.flac", _tone(2.0).numpy(), 16000)
    flac = (tmp_path / "full.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(flac[: len(flac) // 2])
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16000, subtype="PCM_16")
    sf.write(tmp_path / "silent.wav", np.zeros(8000, np.float32), 16000, subtype="PCM_16")
    stereo = torch.stack([_tone(), 0.5 * _tone()], dim=1).numpy()
    sf.write(tmp_path / "stereo.wav", stereo, 16000, subtype="PCM_16")
    nan = _tone().numpy().copy()
    nan[100] = np.nan
    sf.write(tmp_path / "nan.wav", nan, 16000, subtype="FLOAT")
    # found by tests/test_fuzz.py: float samples beyond [-1, 1] were returned as they were
    sf.write(tmp_path / "overs.wav", _tone(amplitude=1.5).numpy(), 16000, subtype="FLOAT")
    return {
        "junk.wav": "unreadable",
        "cut.wav": "truncated",
        "cut.flac": "unreadable|truncated",
        "empty.wav": "empty",
        "silent.wav": "silent",
        "stereo.wav": "2 channels",
        "nan.wav": "NaN",
        "overs.wav": r"samples reach 1\.5, beyond \[-1, 1\]",
        "missing.wav": "no such",
    }


def test_bad_files_are_data_errors_naming_the_file(tmp_path):
    for name, problem in _bad_files(tmp_path).items():
        with pytest.raises(DataError, match=f"{name}: .*({problem})"):
            read_audio(tmp_path / name)


def test_downmix_averages_the_channels(tmp_path):
    _bad_files(tmp_path)
    wave, _ = read_audio(tmp_path / "stereo.wav", downmix=True)
    assert torch.allclose(wave, 0.75 * _tone(), atol=2 / 32768)


def test_resample_and_fit_length():
    tone = _tone(1.0, 8000)
    up = resample(tone, 8000, 16000)
    assert up.shape == (16000,)
    assert torch.allclose(up[4000:12000], _tone(1.0, 16000)[4000:12000], atol=1e-3)
    assert torch.equal(fit_length(tone, 100), tone[:100])
    padded = fit_length(tone[:10], 16, align="centre")
    assert torch.equal(padded[3:13], tone[:10]) and padded[:3].abs().sum() == 0
    assert torch.equal(fit_length(tone[:10], 4, align="centre"), tone[3:7])
