"""Prompt adherence: the centre-of-mass direction check and the named-digit accuracy are right
on real clips with their own captions and near chance with another clip's caption."""

import torch

from polydit.video.adherence import adherence, centre_of_mass, clip_motions, follows_motion
from polydit.video.captions import Motion
from polydit.video.classifier import load_classifier
from polydit.video.data import MovingDigitsConfig, eval_set
from polydit.video.metrics import stack_clips


def test_the_centre_of_mass_moves_exactly_with_a_whole_digit() -> None:
    clips = eval_set(MovingDigitsConfig(), 8)
    videos, _ = stack_clips(clips)
    tracks = centre_of_mass(videos)  # (B, T, 2)
    for clip, track in zip(clips, tracks, strict=True):
        shift = torch.from_numpy(clip.positions[:, 0] - clip.positions[0, 0]).float()
        torch.testing.assert_close(track - track[0], shift, atol=1e-4, rtol=0)
    blank = centre_of_mass(torch.zeros(1, 2, 1, 24, 24))
    assert torch.equal(blank, torch.full((1, 2, 2), 11.5))


def test_real_clips_follow_their_captions_and_shuffled_captions_are_near_chance() -> None:
    clips = eval_set(MovingDigitsConfig(), 128)
    videos, _ = stack_clips(clips)
    motions = clip_motions(clips)
    classifier = load_classifier()
    own = adherence(classifier, videos, motions)
    assert own["direction_accuracy"] >= 0.95 and own["named_digit_accuracy"] >= 0.85
    shuffled = adherence(classifier, videos, motions[1:] + motions[:1])
    assert shuffled["direction_accuracy"] < 0.5 and shuffled["named_digit_accuracy"] < 0.3
    # the wrong way round on either axis fails the check
    flipped = [Motion(m.digit, (-m.direction[0], m.direction[1]), m.bounces) for m in motions]
    assert adherence(classifier, videos, flipped)["direction_accuracy"] < 0.5


def test_the_direction_check_per_axis() -> None:
    track = torch.tensor([[5.0, 5.0], [5.0, 6.0], [5.0, 4.0], [5.0, 2.0]])  # right, then back
    assert follows_motion(track, Motion(1, (0, 1), (1,)))  # bouncing: the first step counts
    assert not follows_motion(track, Motion(1, (0, 1)))  # not bouncing: the net -3 px counts
    assert not follows_motion(track, Motion(1, (0, -1), (1,)))
    still = torch.tensor([[5.0, 5.0], [5.0, 5.2], [5.0, 5.1]])
    assert not follows_motion(still, Motion(1, (0, 1)))  # 0.1 px is no motion
    drift = torch.tensor([[5.0, 5.0], [7.0, 7.0], [9.0, 9.0]])
    assert not follows_motion(drift, Motion(1, (0, 1)))  # y moves 4 px but is not named
