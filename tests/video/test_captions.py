"""Captions from ground truth: directions, bounces, the fixed vocabulary, parsing back."""

import numpy as np
import pytest

from polydit.core.errors import ConfigError
from polydit.video.captions import (
    Motion,
    all_captions,
    caption,
    clip_caption,
    motion_of,
    parse_caption,
)
from polydit.video.data import MovingDigitsConfig, make_clip


def track(*steps: tuple[int, int], start: tuple[int, int] = (8, 8)) -> np.ndarray:
    """(T, 2) positions from a start and (dy, dx) steps."""
    return np.cumsum(np.array([start, *steps]), axis=0)


def test_directions_follow_the_step_signs_with_y_pointing_down() -> None:
    assert caption(motion_of(3, track((-1, -2), (-1, -2)))) == "a 3 moving up and to the left"
    assert caption(motion_of(5, track((2, 0), (2, 0)))) == "a 5 moving down"
    assert caption(motion_of(0, track((0, 1), (0, 1)))) == "a 0 moving right"
    assert caption(motion_of(8, track((1, -1)))) == "a 8 moving down and to the left"


def test_a_reversal_is_a_bounce_off_the_wall_moved_towards() -> None:
    right = motion_of(7, track((0, 2), (0, 1), (0, -2), (0, -2)))
    assert caption(right) == "a 7 moving right, bouncing off the right wall"
    both = motion_of(1, track((1, 1), (1, -1), (-1, -1)))  # x turns first, then y
    assert both == Motion(1, (1, 1), (1, 0))
    assert (
        caption(both) == "a 1 moving down and to the right, bouncing off the right and bottom walls"
    )
    # a bounce inside the first step shows no motion towards the wall: no bounce is named
    assert caption(motion_of(2, track((0, 0), (0, 2), (0, 2)))) == "a 2 moving right"


def test_real_clips_get_captions_of_the_vocabulary_that_parse_back() -> None:
    vocabulary = set(all_captions())
    assert len(vocabulary) == 280  # 10 digits × (4 diagonals × 5 + 4 straight × 2)
    config = MovingDigitsConfig()
    bounced = 0
    for i in range(200):
        clip = make_clip(config, "train", i)
        text = clip_caption(clip)
        assert text in vocabulary
        motion = parse_caption(text)
        assert motion == motion_of(int(clip.labels[0]), clip.positions[:, 0])
        assert motion.digit == clip.labels[0]
        for axis, v in enumerate(clip.velocity[0]):  # a bounce in the first step flips the sign
            assert abs(motion.direction[axis]) == (v != 0)
        bounced += bool(motion.bounces)
    assert 20 < bounced < 180  # both kinds of caption are common


def test_every_caption_of_the_vocabulary_parses_to_its_motion() -> None:
    for text in all_captions():
        assert caption(parse_caption(text)) == text


@pytest.mark.parametrize(
    "bad",
    ["a cat moving right", "a 3 moving sideways", "a 3 moving left, bouncing off the right wall"],
)
def test_other_prompts_are_refused_naming_the_flag(bad: str) -> None:
    with pytest.raises(ConfigError, match="--prompt"):
        parse_caption(bad)
