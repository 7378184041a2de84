import numpy as np
import pytest

from polydit.audio.espeak import (
    ACCENTS,
    DEFAULT_VARIANT,
    ENGINE_RATE,
    Espeak,
    Utterance,
    say,
    variant_gender,
    variants,
)
from polydit.core.errors import ConfigError


def test_the_bundled_data_has_104_voices_and_no_test_variant():
    names = variants()
    assert len(names) == 104
    assert DEFAULT_VARIANT in names and "f3" in names and "klatt" in names
    assert "fast" not in names
    assert variant_gender("f3") == "female" and variant_gender("m3") == "male"
    assert variant_gender("klatt") is None


def test_every_accent_speaks_and_sounds_different():
    clips = say([Utterance("seven", accent) for accent in ACCENTS])
    for clip in clips:
        seconds = len(clip) / ENGINE_RATE
        assert clip.dtype == np.int16 and 0.3 < seconds < 0.8
        assert np.abs(clip).max() > 5000
    distinct = {clip.tobytes() for clip in clips}
    assert len(distinct) == len(ACCENTS)


def test_an_utterance_is_a_pure_function_of_its_parameters():
    batch = [
        Utterance("nine", "en-us", "f3"),
        Utterance("nine", "en", "whisper", rate=130, pitch=70),
        Utterance("stop", "en-029", "klatt2", rate=220, pitch=30, pitch_range=80),
    ]
    forward = say(batch)
    backward = say(batch[::-1])[::-1]  # espeak-ng's state would differ if it carried over
    again = say([batch[1]])
    for a, b in zip(forward, backward, strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(forward[1], again[0])


def test_rate_and_pitch_change_the_speech():
    slow, fast, low, high = say(
        [
            Utterance("seven", rate=120),
            Utterance("seven", rate=240),
            Utterance("seven", pitch=20),
            Utterance("seven", pitch=80),
        ]
    )
    assert len(slow) > 1.5 * len(fast)
    assert not np.array_equal(low, high)


def test_an_unknown_accent_or_variant_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="no voice 'en-xx'"):
        say([Utterance("one", "en-xx"), Utterance("two")])
    with Espeak() as fresh:
        expected = fresh.say([Utterance("three")])[0]
    assert np.array_equal(say([Utterance("three")])[0], expected)  # no stale reply was left
    with pytest.raises(ConfigError, match="variant 'nobody'"):
        Utterance("one", "en-us", "nobody")


@pytest.mark.parametrize(
    "kwargs", [{"rate": 50}, {"rate": 500}, {"pitch": 100}, {"pitch_range": -1}, {"text": " "}]
)
def test_out_of_range_parameters_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        Utterance(**{"text": "one", **kwargs})
