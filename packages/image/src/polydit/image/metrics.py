"""Digit-generation metrics under the in-package classifier (see :mod:`polydit.image.classifier`).

Protocol (``polydit-image eval``): ``num`` class-conditional samples (default 1,000) with labels
``i % 10`` (balanced), the model's default sampler/steps/CFG, quantised to 8 bits exactly as the
PNG files store them. Then

* ``accuracy``: fraction whose classifier argmax equals the label asked for;
* ``fd``: Fréchet distance between Gaussians fitted to the classifier's 64-d penultimate features
  of the samples and of the 360 held-out test digits;
* ``fd_floor``: the same FD for the 1,437 real train digits vs the test digits;
* ``fd_ratio`` = fd / fd_floor (the bar: ≤ 2);
* ``precision`` / ``recall``: improved precision/recall (k = 3) of samples vs test features.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from polydit.core.errors import ConfigError
from polydit.core.metrics import frechet_distance_from_features, precision_recall
from polydit.image.classifier import load_classifier
from polydit.image.data import load_digits_set

EVAL_NUM = 1000


def quantize(images: Tensor) -> Tensor:
    """[-1, 1] images rounded to the 256 levels a PNG stores (what a user gets on disk)."""
    levels = ((images.clamp(-1, 1) + 1) * 127.5).round()
    return levels / 127.5 - 1


@torch.no_grad()
def classify(images: Tensor) -> tuple[Tensor, Tensor]:
    """(predicted labels (B,), penultimate features (B, 64)) of 8×8 digits (B, 1, 8, 8)."""
    net = load_classifier()
    feats = net.features(images.float().cpu())
    return net.out(feats).argmax(1), feats


def sample_metrics(images: Tensor, labels: Tensor) -> dict[str, float]:
    """accuracy, fd, fd_floor, fd_ratio, precision, recall of generated digits vs the test split."""
    if tuple(images.shape[1:]) != (1, 8, 8):
        raise ConfigError(
            f"the digit metrics need 8×8 grayscale samples, got {tuple(images.shape[1:])}"
        )
    test, train = load_digits_set("test"), load_digits_set("train")
    pred, feats = classify(quantize(images))
    _, test_feats = classify(test.images)
    _, train_feats = classify(train.images)
    fd = frechet_distance_from_features(feats.double(), test_feats.double())
    floor = frechet_distance_from_features(train_feats.double(), test_feats.double())
    pr = precision_recall(test_feats, feats)
    return {
        "accuracy": (pred == labels).float().mean().item(),
        "fd": fd,
        "fd_floor": floor,
        "fd_ratio": fd / floor,
        "precision": pr.precision,
        "recall": pr.recall,
    }


def evaluate_digits(
    generator: Any,
    num: int = EVAL_NUM,
    seed: int = 0,
    dtype: str = "fp32",
    report: Path | None = None,
    **overrides: Any,
) -> dict[str, float]:
    """Sample `num` balanced class-conditional digits from `generator` and score them; with a
    `report` directory also draw :mod:`polydit.image.report`'s figure there.

    overrides: sampling settings and ``cache``/``cache_opts``, passed to ``generator.sample``.
    Adds ``num``, ``steps``, ``nfe`` (network evaluations per sample, CFG counted twice) and
    ``sample_seconds`` (wall time of sampling on this machine).
    """
    if tuple(generator.codec.class_names) != tuple(str(d) for d in range(10)):
        raise ConfigError("eval: the metrics are defined for digits models (classes 0–9)")
    labels = torch.arange(num) % 10
    sampling_keys = {"steps", "sampler", "cfg_scale", "shift"}
    settings = generator.sampling.override(
        **{k: v for k, v in overrides.items() if k in sampling_keys}
    )
    started = time.perf_counter()
    samples = generator.sample(num, labels, seed=seed, dtype=dtype, **overrides)
    seconds = time.perf_counter() - started
    metrics = sample_metrics(samples.images, labels)
    if report is not None:
        from polydit.image.report import write_report

        write_report(report, samples.images, labels, generator.codec.class_names)
    per_step = {"euler": 1, "ddim": 1, "ddpm": 1, "heun": 2, "dpmpp2m": 1}.get(settings.sampler, 1)
    nfe = settings.steps * per_step - (1 if settings.sampler == "heun" else 0)
    guided = 2 if settings.cfg_scale != 1.0 else 1
    return {
        **metrics,
        "num": float(num),
        "steps": float(settings.steps),
        "cfg_scale": float(settings.cfg_scale),
        "nfe": float(nfe * guided),
        "sample_seconds": seconds,
    }


def baseline_metrics(num: int = EVAL_NUM, seed: int = 0, noise: float = 0.3) -> dict[str, float]:
    """The trivial baseline: per-class mean train image + N(0, noise²) pixel noise, clamped."""
    train = load_digits_set("train")
    labels = torch.arange(num) % 10
    means = torch.stack([train.images[train.labels == k].mean(0) for k in range(10)])
    g = torch.Generator().manual_seed(seed)
    images = (means[labels] + noise * torch.randn(num, 1, 8, 8, generator=g)).clamp(-1, 1)
    return sample_metrics(images, labels)
