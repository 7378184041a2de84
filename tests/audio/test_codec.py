import pytest
import torch

from polydit.audio.codec import MelCodec
from polydit.audio.data import load_builtin
from polydit.audio.mel import GriffinLimVocoder, LogMel, MelConfig
from polydit.audio.spectral import stft_distance
from polydit.core.codec import Codec
from polydit.core.errors import ConfigError

#: Griffin-Lim round trip of 16 test clips: measured 0.86 (speech) and 1.20 (notes) over 48.
SPEECH_FLOOR = 1.0
#: The same with linear STFT bins (n_fft 512, hop 128, GL 256): measured 0.20 (mel: 0.87).
LINEAR_SPEECH_FLOOR = 0.3


@pytest.fixture
def speech(small_speech):
    return load_builtin("spoken-digits", "test", small_speech)


def test_log_mel_frames_and_filters():
    config = MelConfig()
    waves = torch.randn(3, 16384) * 0.1
    frames = LogMel(config)(waves)
    assert frames.shape == (3, 64, 64) and config.frames(16384) == 64
    assert config.filters().shape == (513, 64)
    silent = LogMel(config)(torch.zeros(1, 16384))
    assert torch.allclose(silent, torch.full_like(silent, torch.log(torch.tensor(1e-5))))


def test_the_codec_is_a_core_codec_with_an_exact_token_layout(speech):
    codec = MelCodec(patch=2, class_names=("a",)).fitted(speech.waves[:32])
    assert isinstance(codec, Codec)
    tokens = codec.encode(speech.waves[:4])
    assert tokens.x.shape == (4, 32, 128) and tokens.pos.shape == (4, 32, 1)
    assert torch.equal(tokens.pos[0, :, 0], torch.arange(32.0))
    log_mel = LogMel(codec.mel)(speech.waves[:4])
    assert torch.allclose(codec.to_log_mel(tokens.x), log_mel, atol=1e-5)
    assert torch.equal(tokens.x[:, 1, :64], (log_mel[:, :, 2] - codec.mean) / codec.std)
    template = codec.template(5)
    assert template.x.shape == (5, 32, 128) and torch.equal(template.pos, codec.positions(5))
    assert MelCodec.from_dict(codec.to_dict()) == codec
    assert codec.replace(class_names=("b",)) == codec  # conditioning is not the layout


def test_fitted_standardisation(speech):
    codec = MelCodec().fitted(speech.waves)
    x = codec.encode(speech.waves).x
    assert abs(float(x.mean())) < 1e-4 and abs(float(x.std()) - 1) < 1e-3


def test_griffin_lim_round_trip_is_within_the_stated_floor_and_deterministic(speech):
    clips = speech.waves[::15][:16]
    codec = MelCodec().fitted(speech.waves[:64])
    back = codec.decode(codec.encode(clips).x)
    assert back.shape == clips.shape
    distance = stft_distance(back, clips).mean()
    other = stft_distance(clips.roll(1, 0), clips).mean()
    assert distance < SPEECH_FLOOR and distance < 0.5 * other
    again = codec.decode(codec.encode(clips).x)
    assert torch.equal(back, again)
    assert not torch.equal(back, codec.decode(codec.encode(clips).x, seed=1))


def test_vocoder_magnitudes_are_non_negative():
    config = MelConfig()
    log_mel = torch.randn(2, 64, 64)
    magnitude = GriffinLimVocoder(config).magnitude(log_mel)
    assert magnitude.shape == (2, 513, 65) and bool((magnitude >= 0).all())


def test_linear_scale_keeps_the_stft_bins():
    config = MelConfig(scale="linear")
    waves = torch.randn(2, 16384) * 0.1
    frames = LogMel(config)(waves)
    assert config.channels == 513 and frames.shape == (2, 513, 64)
    window = torch.hann_window(1024)
    spec = torch.stft(waves, 1024, 256, window=window, center=True, return_complex=True).abs()
    assert torch.allclose(frames, spec[..., :64].clamp_min(1e-5).log(), atol=1e-4)
    magnitude = GriffinLimVocoder(config).magnitude(frames)
    assert torch.allclose(magnitude[..., :64], frames.exp(), rtol=1e-4, atol=1e-6)
    codec = MelCodec(config, patch=2)
    assert codec.token_dim == 1026 and MelCodec.from_dict(codec.to_dict()) == codec


def test_linear_griffin_lim_round_trip_beats_the_mel_one(speech):
    clips = speech.waves[::15][:16]
    mel = MelCodec().fitted(speech.waves[:64])
    config = MelConfig(n_fft=512, hop=128, scale="linear", griffin_lim_iters=256)
    linear = MelCodec(config, patch=2).fitted(speech.waves[:64])  # digits-linear-tiny's codec
    mel_distance = stft_distance(mel.decode(mel.encode(clips).x), clips).mean()
    back = linear.decode(linear.encode(clips).x)
    distance = stft_distance(back, clips).mean()
    assert distance < LINEAR_SPEECH_FLOOR and distance < mel_distance


def test_bad_codec_settings():
    with pytest.raises(ConfigError, match="not a multiple of patch=3"):
        MelCodec(patch=3)
    with pytest.raises(ConfigError, match="expected clips"):
        MelCodec().encode(torch.zeros(2, 1000))
    with pytest.raises(ConfigError, match="hop"):
        MelConfig(hop=2048)
    with pytest.raises(ConfigError, match="scale must be 'mel' or 'linear'"):
        MelConfig(scale="bark")
