"""The calibration diagnostic: its identities hold for a synthetic calibrated model."""

import math

import pytest
import torch

from polydit.bench.video.calibration import calibration
from polydit.video.pipeline import VideoSamples

SIGMA = 0.1


class CalibratedFake:
    """Posterior mean μ = truth + a fixed error of std SIGMA; samples μ + SIGMA·z (calibrated)."""

    def _draw(self, videos, seed, steps):
        error = torch.randn(videos.shape, generator=torch.Generator().manual_seed(12345))
        mean = videos + SIGMA * error
        if steps != 1:
            noise = torch.randn(videos.shape, generator=torch.Generator().manual_seed(seed))
            mean = mean + SIGMA * noise
        return VideoSamples(mean, torch.full((len(videos),), -1))

    def predict(self, videos, given, *, seed=0, steps=None):
        return self._draw(videos, seed, steps)

    def interpolate(self, first, last, *, seed=0, steps=None):
        return self._draw(self.videos, seed, steps)


@pytest.mark.parametrize("task", ["predict", "interpolate"])
def test_a_calibrated_model_satisfies_the_identities(task):
    videos = torch.rand(16, 8, 1, 24, 24)
    fake = CalibratedFake()
    fake.videos = videos
    result = calibration(fake, videos, task, draws=4)
    three_db = 10 * math.log10(2)
    assert result["one_step"] == pytest.approx(-10 * math.log10(SIGMA**2), abs=0.1)
    assert result["sample"] == pytest.approx(result["one_step"] - three_db, abs=0.1)
    assert result["spread"] == pytest.approx(result["sample"], abs=0.1)
    assert result["mean_of_4"] == pytest.approx(result["one_step"] - 10 * math.log10(1.25), abs=0.1)
    assert result["calibrated_sample_prediction"] == pytest.approx(result["sample"], abs=0.1)


def test_runs_on_a_real_generator_and_rejects_bad_arguments(generator):
    videos = torch.rand(2, 8, 1, 24, 24)
    result = calibration(generator, videos, "predict", draws=2)
    assert {"sample", "spread", "mean_of_2", "one_step", "best_baseline"} <= set(result)
    with pytest.raises(ValueError, match="draws"):
        calibration(generator, videos, "predict", draws=1)
    with pytest.raises(ValueError, match="task"):
        calibration(generator, videos, "complete")
