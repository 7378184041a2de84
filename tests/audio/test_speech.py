import numpy as np
import pytest
import torch

from polydit.audio.data import _load_builtin, load_builtin
from polydit.audio.espeak import ACCENTS, variants
from polydit.audio.speech import (
    COMMANDS,
    DIGITS,
    TEST_VOICES,
    SpeechConfig,
    clip_recipes,
    split_voices,
    voice_family,
)
from polydit.core.errors import ConfigError


def test_the_split_is_by_voice_and_by_voice_family():
    train, test = split_voices("train"), split_voices("test")
    assert (len(train), len(test)) == (80, 24)
    assert set(train) | set(test) == set(variants()) and not set(train) & set(test)
    assert set(test) == set(TEST_VOICES)
    assert not {voice_family(v) for v in train} & {voice_family(v) for v in test}
    assert voice_family("klatt3") == "klatt" and voice_family("anikaRobot") == "anika"
    assert voice_family("f1") != voice_family("f2")


def test_recipes_cover_every_voice_word_and_rendition_within_the_ranges():
    config = SpeechConfig(renditions=3, rate=(130, 140), pitch=(40, 45), pitch_range=(50, 50))
    recipes = clip_recipes(DIGITS, config, "test")
    assert len(recipes) == 24 * 10 * 3
    assert {(r.voice, r.word, r.rendition) for r in recipes} == {
        (v, w, k) for v in TEST_VOICES for w in DIGITS for k in range(3)
    }
    assert all(130 <= r.rate <= 140 and 40 <= r.pitch <= 45 for r in recipes)
    assert all(r.pitch_range == 50 and r.accent in ACCENTS for r in recipes)
    assert len({r.accent for r in recipes}) == len(ACCENTS)
    assert clip_recipes(DIGITS, config, "test") == recipes
    assert clip_recipes(DIGITS, config.replace(seed=1), "test") != recipes


def test_a_spoken_digits_split_holds_centred_normalised_16_bit_clips(small_speech):
    data = load_builtin("spoken-digits", "test", small_speech)
    assert data.waves.shape == (240, 16384) and data.sample_rate == 16000
    assert data.class_names == DIGITS
    assert torch.equal(torch.bincount(data.labels), torch.full((10,), 24))
    assert set(data.info["voice"]) == set(TEST_VOICES)
    peaks = data.waves.abs().amax(dim=1)
    assert torch.allclose(peaks, torch.full((240,), 0.9), atol=1e-4)
    levels = data.waves * 32768
    assert torch.equal(levels, levels.round())
    energy = data.waves.pow(2)
    middle, edges = energy[:, 6000:10384].sum(1), energy[:, :1000].sum(1) + energy[:, -1000:].sum(1)
    assert bool((middle > 20 * edges).all())
    for caption, label in zip(data.captions, data.labels, strict=True):
        assert f" says {DIGITS[label]}" in caption and " accent " in caption


def test_cached_and_fresh_sets_are_bit_identical(audio_cache, small_speech):
    config = small_speech.replace(renditions=1, seed=3)
    fresh = load_builtin("words", "test", config, cache=False)
    written = load_builtin("words", "test", config)
    assert any(audio_cache.rglob("words-test-*.npz"))
    _load_builtin.cache_clear()
    read = load_builtin("words", "test", config)
    assert read.class_names == COMMANDS
    for other in (written, read):
        assert torch.equal(fresh.waves, other.waves) and torch.equal(fresh.labels, other.labels)
        assert fresh.captions == other.captions
        assert all(np.array_equal(fresh.info[k], other.info[k]) for k in fresh.info)


def test_bad_builtin_requests_are_config_errors(small_speech):
    with pytest.raises(ConfigError, match="no built-in audio set 'digits'"):
        load_builtin("digits")
    with pytest.raises(ConfigError, match="split"):
        load_builtin("words", "val", small_speech)
    with pytest.raises(ConfigError, match="rate"):
        SpeechConfig(rate=(200, 100))
