"""bf16 autocast sampling of the shipped digits-mel-tiny model keeps the quality of fp32.

10 clips for the labels of the first test clips (as the eval protocol pairs them), the model's
own sampler, steps and guidance, drawn once in fp32 and once in bf16 from the same seeds (the
Griffin-Lim phases too), quantised to 16-bit PCM as the WAV files store them, then scored by the
shipped word classifier whose embeddings the eval's Fréchet distance uses. digits-mel-tiny is a
smoke model (accuracy at chance, README), so the paired properties carry the test:

* the mean embedding distance of a pair ≤ 10 % of the mean distance between clips of different
  seeds (measured 0.54 vs 16.3, i.e. 3 %);
* the mean total-variation distance between the two posteriors of a pair ≤ 10 % of that between
  clips of different seeds (measured 0.015 vs 0.66, i.e. 2 %);
* the classifier's accuracy within 20 points, 2 of 10 clips (measured 10 % and 10 %: chance, so
  this check only catches a bf16 path that breaks the clips outright).
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from polydit.audio.classifier import load_classifier
from polydit.audio.cli import DOMAIN
from polydit.audio.data import default_config, load_builtin
from polydit.audio.evaluate import builtin_name
from polydit.audio.metrics import accuracy, classifier_outputs
from polydit.audio.waveform import quantise_pcm16

pytestmark = pytest.mark.bf16

NUM = 10
MAX_EMBEDDING_RATIO = 0.10
MAX_POSTERIOR_RATIO = 0.10
ACCURACY_POINTS = 0.20


@pytest.fixture(scope="module")
def runs() -> tuple[Tensor, dict[str, tuple[Tensor, Tensor]]]:
    """(labels (NUM,), {"fp32" | "bf16": (posteriors (NUM, K), embeddings (NUM, 64))})."""
    generator = DOMAIN.load(
        DOMAIN.pretrained_root / DOMAIN.default_model, device="cpu", dtype="fp32"
    )
    name = builtin_name(generator)
    config = default_config(name).replace(
        sample_rate=generator.codec.sample_rate, num_samples=generator.codec.num_samples
    )
    labels = load_builtin(name, "test", config).labels[:NUM]
    classifier = load_classifier(name)
    scored = {}
    for dtype in ("fp32", "bf16"):
        clips = generator.sample(NUM, labels, seed=0, dtype=dtype)
        scored[dtype] = classifier_outputs(classifier, quantise_pcm16(clips.waveforms))
    return labels, scored


def paired_and_unpaired(a: Tensor, b: Tensor, distance: Tensor) -> tuple[float, float]:
    """Mean of the diagonal of `distance` (NUM, NUM) between rows of a and b, and of the rest."""
    off = ~torch.eye(len(a), dtype=torch.bool)
    return distance.diag().mean().item(), distance[off].mean().item()


def test_a_bf16_clip_sounds_like_its_fp32_twin_to_the_classifier(
    runs: tuple[Tensor, dict[str, tuple[Tensor, Tensor]]],
) -> None:
    _, scored = runs
    (p32, e32), (p16, e16) = scored["fp32"], scored["bf16"]
    paired, other = paired_and_unpaired(e32, e16, torch.cdist(e32, e16))
    assert paired <= MAX_EMBEDDING_RATIO * other, (paired, other)
    total_variation = 0.5 * (p32[:, None] - p16[None]).abs().sum(-1)  # (NUM, NUM)
    paired, other = paired_and_unpaired(p32, p16, total_variation)
    assert paired <= MAX_POSTERIOR_RATIO * other, (paired, other)


def test_bf16_keeps_the_classifier_accuracy(
    runs: tuple[Tensor, dict[str, tuple[Tensor, Tensor]]],
) -> None:
    labels, scored = runs
    scores = {d: accuracy(posteriors, labels) for d, (posteriors, _) in scored.items()}
    assert abs(scores["bf16"] - scores["fp32"]) <= ACCURACY_POINTS, scores
