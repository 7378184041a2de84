import math

import pytest
import soundfile as sf
import torch

from polydit.audio.data import load_dataset
from polydit.audio.folder import load_folder
from polydit.audio.io import write_wav
from polydit.core.errors import DataError


def _tone(frequency: float, seconds: float, rate: int) -> torch.Tensor:
    t = torch.arange(int(seconds * rate)) / rate
    return 0.5 * torch.sin(2 * math.pi * frequency * t)


def _class_folder(root):
    write_wav(root / "high" / "a.wav", _tone(880, 0.5, 8000), 8000)
    write_wav(root / "high" / "b.wav", _tone(990, 2.0, 16000), 16000)
    write_wav(root / "low" / "c.wav", _tone(220, 0.5, 22050), 22050)
    (root / "low" / ".hidden.wav").write_bytes(b"ignored")
    return root


def test_subfolders_are_classes_resampled_and_cropped_or_padded(tmp_path):
    data, report = load_dataset(str(_class_folder(tmp_path)), num_samples=16384)
    assert report.counts == {} and report.summary() == ""
    assert data.class_names == ("high", "low") and data.labels.tolist() == [0, 0, 1]
    assert data.waves.shape == (3, 16384) and data.sample_rate == 16000
    assert list(data.info["file"]) == ["high/a.wav", "high/b.wav", "low/c.wav"]
    assert data.waves[0, 8000:].abs().max() == 0  # 0.5 s padded at the end
    assert data.waves[0, 1000:7000].abs().max() > 0.45
    assert torch.allclose(data.waves[1], _tone(990, 2.0, 16000)[:16384], atol=1 / 32768)
    assert data.captions == ()


def test_a_captions_file_names_files_captions_and_labels(tmp_path):
    write_wav(tmp_path / "x.wav", _tone(440, 0.5, 16000), 16000)
    write_wav(tmp_path / "clips" / "y.wav", _tone(660, 0.5, 16000), 16000)
    (tmp_path / "captions.csv").write_text(
        'file,caption,label\nclips/y.wav,"a high tone, loud",tone\nx.wav,a low tone,tone\n'
    )
    data, _ = load_folder(tmp_path, 16000, 8000)
    assert data.captions == ("a high tone, loud", "a low tone")
    assert data.class_names == ("tone",) and list(data.info["file"]) == ["clips/y.wav", "x.wav"]


def test_a_flat_folder_is_one_class(tmp_path):
    sf.write(tmp_path / "a.flac", _tone(440, 0.3, 16000).numpy(), 16000)
    data, _ = load_folder(tmp_path, 16000, 4000)
    assert data.class_names == ("",) and len(data) == 1


def _with_bad_files(root):
    _class_folder(root)
    write_wav(root / "low" / "quiet.wav", torch.zeros(4000), 16000)
    good = (root / "low" / "c.wav").read_bytes()
    (root / "high" / "cut.wav").write_bytes(good[:-3000])
    (root / "high" / "notes.txt").write_text("not audio")
    stereo = torch.stack([_tone(440, 0.2, 16000)] * 2, dim=1).numpy()
    sf.write(root / "low" / "stereo.wav", stereo, 16000)
    return root


def test_a_bad_file_is_a_data_error_naming_it(tmp_path):
    with pytest.raises(DataError, match=r"high/cut\.wav: truncated.*--skip-bad"):
        load_folder(_with_bad_files(tmp_path), 16000, 16000)


def test_skip_bad_skips_and_counts_by_reason(tmp_path):
    data, report = load_folder(_with_bad_files(tmp_path), 16000, 16000, skip_bad=True)
    assert len(data) == 3
    assert report.counts == {"truncated": 1, "not audio": 1, "silent": 1, "channels": 1}
    assert report.summary() == "skipped 4 files: 1 channels, 1 not audio, 1 silent, 1 truncated"
    assert any("quiet.wav" in message for _, message in report.skipped)
    data, report = load_folder(tmp_path, 16000, 16000, skip_bad=True, downmix=True)
    assert len(data) == 4 and "channels" not in report.counts


def test_a_class_without_readable_clips_is_an_error(tmp_path):
    write_wav(tmp_path / "ok" / "a.wav", _tone(440, 0.2, 16000), 16000)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "b.wav").write_bytes(b"nope" * 30)
    with pytest.raises(DataError, match="broken: no readable audio"):
        load_folder(tmp_path, 16000, 4000, skip_bad=True)


@pytest.mark.parametrize(
    "captions, problem",
    [
        ("name,text\na.wav,hi\n", "missing caption, file"),
        ("file,caption\nb.wav,hi\n", "b.wav: no such"),
    ],
)
def test_bad_captions_files(tmp_path, captions, problem):
    write_wav(tmp_path / "a.wav", _tone(440, 0.2, 16000), 16000)
    (tmp_path / "captions.csv").write_text(captions)
    with pytest.raises(DataError, match=problem):
        load_folder(tmp_path, 16000, 4000)


def test_neither_builtin_nor_folder(tmp_path):
    with pytest.raises(DataError, match="neither a built-in audio set"):
        load_dataset(str(tmp_path / "nothing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no audio files"):
        load_dataset(str(tmp_path / "empty"))
