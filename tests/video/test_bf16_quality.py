"""bf16 autocast sampling of the shipped moving-digits model keeps the quality of fp32.

Frame prediction (the eval protocol's first task: 4 given frames, the rest generated) on the
first 12 clips of the fixed test set, the model's own sampler and steps, once in fp32 and once
in bf16 from the same seeds. Tolerances:

* prediction PSNR against the real frames (the domain's metric) within 0.5 dB (measured 19.89
  and 19.86 dB; the model beats the best trivial baseline by 4.3 dB on the full test set, so
  0.5 dB is well inside what would change a conclusion);
* the PSNR of a bf16 prediction against its fp32 twin ≥ 35 dB (measured 53.1 dB; a prediction
  against the truth is ~20 dB and against another clip's prediction ~13 dB).
"""

from __future__ import annotations

import pytest
from torch import Tensor

from polydit.video.cli import DOMAIN
from polydit.video.commands import data_config
from polydit.video.data import eval_set
from polydit.video.metrics import psnr, stack_clips

pytestmark = pytest.mark.bf16

NUM, GIVEN = 12, 4
MAX_PSNR_DB_CHANGE = 0.5
MIN_TWIN_PSNR_DB = 35.0


@pytest.fixture(scope="module")
def runs() -> tuple[Tensor, dict[str, Tensor]]:
    """(real clips (NUM, T, 1, H, W), {"fp32" | "bf16": predicted clips, same shape})."""
    generator = DOMAIN.load(
        DOMAIN.pretrained_root / DOMAIN.default_model, device="cpu", dtype="fp32"
    )
    videos, _ = stack_clips(eval_set(data_config(generator), NUM))
    predicted = {
        d: generator.predict(videos, GIVEN, seed=0, dtype=d).clips for d in ("fp32", "bf16")
    }
    return videos, predicted


def test_bf16_keeps_the_prediction_psnr(runs: tuple[Tensor, dict[str, Tensor]]) -> None:
    videos, predicted = runs
    scores = {d: psnr(x[:, GIVEN:], videos[:, GIVEN:]).mean().item() for d, x in predicted.items()}
    assert abs(scores["bf16"] - scores["fp32"]) <= MAX_PSNR_DB_CHANGE, scores


def test_a_bf16_prediction_matches_its_fp32_twin(runs: tuple[Tensor, dict[str, Tensor]]) -> None:
    _, predicted = runs
    twin = psnr(predicted["bf16"][:, GIVEN:], predicted["fp32"][:, GIVEN:]).mean().item()
    assert twin >= MIN_TWIN_PSNR_DB, twin
