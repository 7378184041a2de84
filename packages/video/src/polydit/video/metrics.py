"""Video metrics on the fixed moving-digits test set.

Conventions: clips (B, T, 1, H, W) float in [0, 1]; data range 1.

- PSNR per frame, ``10·log10(1 / MSE)``, averaged over the scored frames and clips.
- SSIM per frame as `skimage.metrics.structural_similarity` defines it by default (7×7 uniform
  window, K1 = 0.01, K2 = 0.03, sample covariance, mean over the valid window positions).
- Trivial baselines: prediction — copy the last given frame, a blank canvas, the mean of the given
  frames; interpolation — the linear blend of the two given frames, the nearest given frame, a
  blank canvas. The bar compares the model with the best of them.
- Per-frame Fréchet distance and recognisability use the in-package frame classifier
  (:mod:`polydit.video.classifier`). FVD needs the Kinetics-400 I3D network, whose weights are
  not available offline, so it is not reported.
- Classifier confidence: the mean top-class probability per frame, for unconditional samples and
  for the real test frames (the reference for "recognisable").
- Temporal consistency: the fraction of frames whose classifier prediction equals the clip's
  most frequent prediction (1 = the digit keeps its identity throughout).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from polydit.core.metrics import frechet_distance_from_features
from polydit.video.classifier import FrameClassifier
from polydit.video.data import Clip


def psnr(pred: Tensor, target: Tensor) -> Tensor:
    """Per-frame PSNR (B, T) of clips (B, T, C, H, W)."""
    mse = (pred.float() - target.float()).pow(2).flatten(2).mean(-1)
    return 10 * torch.log10(1 / mse.clamp_min(1e-10))


def ssim(pred: Tensor, target: Tensor, window: int = 7) -> Tensor:
    """Per-frame SSIM (B, T) of clips (B, T, C, H, W) (mean over channels)."""
    b, t, c, h, w = pred.shape
    x = pred.float().reshape(b * t * c, 1, h, w)
    y = target.float().reshape(b * t * c, 1, h, w)
    n = window * window
    mean = lambda z: F.avg_pool2d(z, window, stride=1)  # noqa: E731
    ux, uy = mean(x), mean(y)
    cov = n / (n - 1)
    vx, vy = cov * (mean(x * x) - ux * ux), cov * (mean(y * y) - uy * uy)
    vxy = cov * (mean(x * y) - ux * uy)
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return s.flatten(1).mean(-1).reshape(b, t, c).mean(-1)


def prediction_baselines(clips: Tensor, given: int) -> dict[str, Tensor]:
    """Trivial continuations (B, T, C, H, W) of the first `given` frames."""
    last = clips[:, given - 1 : given].expand_as(clips)
    mean = clips[:, :given].mean(1, keepdim=True).expand_as(clips)
    return {"copy_last": last, "blank": torch.zeros_like(clips), "mean_given": mean}


def interpolation_baselines(clips: Tensor) -> dict[str, Tensor]:
    """Trivial in-betweens (B, T, C, H, W) of the first and last frames."""
    t = clips.shape[1]
    a = torch.linspace(0, 1, t).view(1, t, 1, 1, 1)
    first, last = clips[:, :1], clips[:, -1:]
    blend = (1 - a) * first + a * last
    nearest = torch.where(torch.arange(t).view(1, t, 1, 1, 1) < t / 2, first, last)
    return {
        "linear_blend": blend,
        "nearest": nearest.expand_as(clips),
        "blank": torch.zeros_like(clips),
    }


def score(pred: Tensor, target: Tensor, frames: slice) -> dict[str, float]:
    """Mean PSNR and SSIM over the `frames` of every clip."""
    p, g = pred[:, frames], target[:, frames]
    return {"psnr": float(psnr(p, g).mean()), "ssim": float(ssim(p, g).mean())}


@torch.no_grad()
def classify(classifier: FrameClassifier, clips: Tensor) -> tuple[Tensor, Tensor]:
    """(predicted class (B, T), features (B, T, F)) of every frame (1 channel)."""
    b, t = clips.shape[:2]
    frames = clips.reshape(b * t, *clips.shape[2:]).float()
    feats = classifier.features(frames)
    return classifier.head(feats).argmax(-1).view(b, t), feats.view(b, t, -1)


def temporal_consistency(classes: Tensor) -> float:
    """Mean over clips of the fraction of frames predicted as the clip's most frequent class."""
    mode = torch.mode(classes, dim=1).values[:, None]
    return float((classes == mode).float().mean())


def mean_confidence(classifier: FrameClassifier, features: Tensor) -> float:
    """The classifier's mean top-class probability over frame features (..., D)."""
    logits = classifier.head(features.reshape(-1, features.shape[-1]))
    return float(logits.softmax(-1).max(-1).values.mean())


def frechet_frames(features_a: Tensor, features_b: Tensor) -> float:
    """Fréchet distance between per-frame classifier features (B, T, F) of two sets of clips."""
    a = features_a.reshape(-1, features_a.shape[-1]).double().numpy()
    b = features_b.reshape(-1, features_b.shape[-1]).double().numpy()
    return float(frechet_distance_from_features(a, b))


def stack_clips(clips: list[Clip]) -> tuple[Tensor, Tensor]:
    """(B, T, 1, H, W) videos and (B,) first-digit labels of a list of clips."""
    videos = torch.from_numpy(np.stack([c.video for c in clips]))
    labels = torch.from_numpy(np.stack([c.labels[0] for c in clips]))
    return videos, labels


@torch.no_grad()
def evaluate(
    generator: Any,
    clips: list[Clip],
    classifier: FrameClassifier,
    *,
    given: int = 4,
    num_unconditional: int = 64,
    seed: int = 0,
    report: Path | None = None,
    **overrides: Any,
) -> dict[str, float]:
    """Every metric of `generator` (a VideoGenerator) on the test `clips`; with a `report`
    directory also :mod:`polydit.video.report`'s figure there.

    Prediction scores frames [given, T) from the first `given`; interpolation scores frames
    [1, T-1) from the first and last. overrides: sampling settings (steps, sampler, ...).
    """
    videos, labels = stack_clips(clips)
    t = videos.shape[1]
    out: dict[str, float] = {}

    predicted = generator.predict(videos, given, seed=seed, **overrides).clips
    scored = slice(given, t)
    out |= {f"predict.{k}": v for k, v in score(predicted, videos, scored).items()}
    for name, base in prediction_baselines(videos, given).items():
        out |= {f"predict.baseline.{name}.{k}": v for k, v in score(base, videos, scored).items()}
    out["predict.best_baseline.psnr"] = max(
        v for k, v in out.items() if k.startswith("predict.baseline.") and k.endswith(".psnr")
    )
    out["predict.margin_db"] = out["predict.psnr"] - out["predict.best_baseline.psnr"]
    classes, _ = classify(classifier, predicted[:, scored])
    out["predict.classifier_accuracy"] = float((classes == labels[:, None]).float().mean())
    true_classes, real_features = classify(classifier, videos)
    out["data.classifier_accuracy"] = float((true_classes == labels[:, None]).float().mean())

    interpolated = generator.interpolate(videos[:, 0], videos[:, -1], seed=seed, **overrides).clips
    inner = slice(1, t - 1)
    out |= {f"interpolate.{k}": v for k, v in score(interpolated, videos, inner).items()}
    for name, base in interpolation_baselines(videos).items():
        out |= {
            f"interpolate.baseline.{name}.{k}": v for k, v in score(base, videos, inner).items()
        }
    out["interpolate.best_baseline.psnr"] = max(
        v for k, v in out.items() if k.startswith("interpolate.baseline.") and k.endswith(".psnr")
    )
    out["interpolate.margin_db"] = out["interpolate.psnr"] - out["interpolate.best_baseline.psnr"]
    classes, _ = classify(classifier, interpolated[:, inner])
    out["interpolate.classifier_accuracy"] = float((classes == labels[:, None]).float().mean())
    if report is not None:
        from polydit.video.report import write_report

        write_report(report, videos, predicted, interpolated, given)

    if num_unconditional > 0:
        samples = generator.sample(num_unconditional, seed=seed, **overrides).clips
        sample_classes, sample_features = classify(classifier, samples)
        out["unconditional.frechet_frames"] = frechet_frames(sample_features, real_features)
        out["unconditional.temporal_consistency"] = temporal_consistency(sample_classes)
        out["unconditional.classifier_confidence"] = mean_confidence(classifier, sample_features)
        out["data.classifier_confidence"] = mean_confidence(classifier, real_features)
        out["data.temporal_consistency"] = temporal_consistency(true_classes)
    return out
