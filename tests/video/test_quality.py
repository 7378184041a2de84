"""Slow: a small video DiT trained briefly on prediction beats the best trivial baseline.

About 1500 optimizer steps of the default architecture on prediction only (roughly 20 minutes
on one free core).
"""

from pathlib import Path

import pytest
import torch

from polydit.core.train import TrainConfig
from polydit.video.data import MovingDigitsConfig, eval_set
from polydit.video.metrics import prediction_baselines, psnr, stack_clips
from polydit.video.pipeline import VideoGenerator
from polydit.video.tasks import TaskMix
from polydit.video.train import VideoTrainSpec, train


@pytest.mark.slow
def test_tiny_model_beats_the_best_trivial_baseline_on_prediction(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    spec = VideoTrainSpec(
        tasks=TaskMix(predict=1, interpolate=0, unconditional=0, backward=0, complete=0, random=0),
        train=TrainConfig(
            steps=1500,
            batch_size=16,
            lr=5e-4,
            warmup_steps=100,
            ema_decay=0.995,
            checkpoint_every=500,
            log_every=100,
        ),
        sampling_steps=10,
    )
    generator = VideoGenerator.from_pretrained(train(spec, tmp_path, progress=False))
    videos, _ = stack_clips(eval_set(MovingDigitsConfig(), 64))
    predicted = generator.predict(videos, 4, seed=0)
    model_psnr = float(psnr(predicted[:, 4:], videos[:, 4:]).mean())
    best = max(
        float(psnr(b[:, 4:], videos[:, 4:]).mean())
        for b in prediction_baselines(videos, 4).values()
    )
    assert model_psnr > best, (model_psnr, best)
