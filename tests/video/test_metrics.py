"""Metric definitions: PSNR/SSIM values, trivial baselines, consistency, Fréchet distance."""

import math

import torch

from polydit.video.classifier import load_classifier
from polydit.video.data import MovingDigitsConfig, eval_set
from polydit.video.metrics import (
    classify,
    frechet_frames,
    interpolation_baselines,
    prediction_baselines,
    psnr,
    ssim,
    stack_clips,
    temporal_consistency,
)


def test_psnr_and_ssim_values() -> None:
    a = torch.zeros(1, 2, 1, 16, 16)
    b = a.clone()
    b[:, 0] = 0.1  # MSE 0.01 → 20 dB
    assert torch.allclose(psnr(b, a)[0, 0], torch.tensor(20.0))
    assert psnr(a, a)[0, 1] == 100.0  # clamped, finite
    x = torch.rand(1, 1, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    assert math.isclose(float(ssim(x, x)), 1.0, abs_tol=1e-5)
    noisy = (x + 0.3 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    assert float(ssim(noisy, x)) < 0.9
    assert float(ssim(x, noisy)) == float(ssim(noisy, x))


def test_trivial_baselines() -> None:
    video = torch.rand(2, 8, 1, 4, 4)
    p = prediction_baselines(video, 3)
    assert torch.equal(p["copy_last"][:, 5], video[:, 2])
    assert torch.allclose(p["mean_given"][:, 7], video[:, :3].mean(1))
    assert p["blank"].abs().sum() == 0
    i = interpolation_baselines(video)
    assert torch.allclose(i["linear_blend"][:, 0], video[:, 0])
    assert torch.allclose(i["linear_blend"][:, -1], video[:, -1])
    assert torch.equal(i["nearest"][:, 3], video[:, 0]) and torch.equal(
        i["nearest"][:, 4], video[:, -1]
    )


def test_classifier_recognises_test_clips_and_consistency() -> None:
    videos, labels = stack_clips(eval_set(MovingDigitsConfig(), 32))
    classes, feats = classify(load_classifier(), videos)
    assert (classes == labels[:, None]).float().mean() > 0.85
    assert temporal_consistency(torch.tensor([[1, 1, 1, 2], [3, 3, 3, 3]])) == 0.875
    assert frechet_frames(feats, feats) < 1e-6
    assert frechet_frames(feats, torch.zeros_like(feats) + feats.mean()) > 1.0
