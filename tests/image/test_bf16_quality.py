"""bf16 autocast sampling of the shipped digits model keeps the quality of fp32.

100 samples (labels 0..9 repeated), the model's own sampler, steps and guidance, drawn once in
fp32 and once in bf16 from the same seeds, then quantised to PNG levels. Tolerances:

* classifier accuracy (the domain's metric) within 3 points: the binomial s.e. at 100 samples
  and ~97 % accuracy is ~1.7 points, and the two runs are paired, so their difference is far
  smaller than that (measured: 97 % and 97 %);
* the same predicted digit in ≥ 95 % of pairs (measured 100 %);
* the mean absolute pixel difference of a pair ≤ 5 % of the mean difference between two samples
  of the same class drawn from other seeds (measured 0.0014 vs 0.31, i.e. 0.5 %).
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from polydit.image.cli import DOMAIN
from polydit.image.metrics import classify, quantize

pytestmark = pytest.mark.bf16

NUM = 100
ACCURACY_POINTS = 0.03
MIN_CLASS_AGREEMENT = 0.95
MAX_PIXEL_RATIO = 0.05


@pytest.fixture(scope="module")
def runs() -> tuple[Tensor, dict[str, Tensor]]:
    """(labels (NUM,), {"fp32" | "bf16": quantised images (NUM, 1, 8, 8)})."""
    generator = DOMAIN.load(
        DOMAIN.pretrained_root / DOMAIN.default_model, device="cpu", dtype="fp32"
    )
    labels = torch.arange(NUM) % 10
    images = {
        d: quantize(generator.sample(NUM, labels, seed=0, dtype=d).images) for d in ("fp32", "bf16")
    }
    return labels, images


def test_bf16_keeps_the_classifier_accuracy_and_each_samples_digit(
    runs: tuple[Tensor, dict[str, Tensor]],
) -> None:
    labels, images = runs
    predicted = {d: classify(x)[0] for d, x in images.items()}
    accuracy = {d: (p == labels).float().mean().item() for d, p in predicted.items()}
    assert abs(accuracy["bf16"] - accuracy["fp32"]) <= ACCURACY_POINTS, accuracy
    agreement = (predicted["fp32"] == predicted["bf16"]).float().mean().item()
    assert agreement >= MIN_CLASS_AGREEMENT, agreement


def test_a_bf16_sample_is_far_closer_to_its_fp32_twin_than_to_another_sample(
    runs: tuple[Tensor, dict[str, Tensor]],
) -> None:
    _, images = runs
    fp32, bf16 = images["fp32"], images["bf16"]
    paired = (fp32 - bf16).abs().mean().item()
    other = (fp32 - bf16.roll(10, 0)).abs().mean().item()  # the same class, seed + 10
    assert paired <= MAX_PIXEL_RATIO * other, (paired, other)
