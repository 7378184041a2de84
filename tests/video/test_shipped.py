"""The shipped `moving-digits` model on the first 32 fixed test clips (about 5 s).

Its one-step estimate (the posterior mean E[frames | given]) must beat the best trivial baseline
clearly; the sampled bar (+2 / +1 dB) is not met yet and is tracked as an expected failure.
"""

import pytest

from polydit.video.classifier import load_classifier
from polydit.video.data import eval_set
from polydit.video.metrics import evaluate
from polydit.video.pipeline import VideoGenerator

CLIPS = 32


@pytest.fixture(scope="module")
def shipped() -> VideoGenerator:
    from polydit.video.cli import DOMAIN

    return VideoGenerator.from_pretrained(DOMAIN.pretrained_root / DOMAIN.default_model)


def margins(generator: VideoGenerator, steps: int) -> tuple[float, float]:
    clips = eval_set(generator.data_config, CLIPS)
    out = evaluate(generator, clips, load_classifier(), num_unconditional=0, steps=steps)
    return out["predict.margin_db"], out["interpolate.margin_db"]


def test_the_one_step_estimate_beats_every_trivial_baseline(shipped: VideoGenerator) -> None:
    predict, interpolate = margins(shipped, steps=1)
    assert predict > 1.5 and interpolate > 1.5, (predict, interpolate)


@pytest.mark.slow
@pytest.mark.xfail(reason="issue 5 bar not met yet: see packages/video/README.md", strict=True)
def test_sampled_frames_meet_the_bar(shipped: VideoGenerator) -> None:
    predict, interpolate = margins(shipped, steps=20)
    assert predict >= 2.0 and interpolate >= 1.0, (predict, interpolate)
