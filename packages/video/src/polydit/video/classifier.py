"""The in-package frame classifier: a small CNN that names the digit in a moving-digits frame.

It stands in for the Inception/I3D networks of FID/FVD (unavailable offline): its penultimate
features feed the per-frame Fréchet distance, and its predictions give recognisability and
temporal consistency. Global max pooling makes it insensitive to where the digit is. The
shipped weights (``assets/frame_classifier.safetensors``) were trained by :func:`train_classifier`
on single-digit frames of the train split (``python -m polydit.video.classifier``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from polydit.core.atomic import atomic_write
from polydit.core.errors import CheckpointError
from polydit.video.data import MovingDigitsConfig, make_clip

WEIGHTS = Path(__file__).parent / "assets" / "frame_classifier.safetensors"
FEATURES = 64


class FrameClassifier(nn.Module):
    """(B, 1, H, W) frames in [0, 1] → (B, 10) logits; :meth:`features` gives (B, 64)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.GELU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.GELU(),
            nn.MaxPool2d(2),
            nn.Conv2d(32, FEATURES, 3, padding=1),
            nn.GELU(),
            nn.AdaptiveMaxPool2d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(FEATURES, 10)

    def features(self, frames: Tensor) -> Tensor:
        return self.body(frames * 2 - 1)

    def forward(self, frames: Tensor) -> Tensor:
        return self.head(self.features(frames))


def load_classifier(path: str | Path = WEIGHTS) -> FrameClassifier:
    """The shipped (or another saved) classifier, in eval mode."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: frame-classifier weights are missing; rebuild them with "
            f"`python -m polydit.video.classifier`"
        )
    model = FrameClassifier()
    model.load_state_dict(load_file(str(path)))
    return model.eval()


def digit_frames(config: MovingDigitsConfig, split: str, num_clips: int) -> tuple[Tensor, Tensor]:
    """Every frame of the first `num_clips` single-digit clips of `split`: (K, 1, H, W), (K,)."""
    frames, labels = [], []
    for i in range(num_clips):
        clip = make_clip(config, split, i)
        frames.append(clip.video)
        labels.append(np.full(len(clip.video), clip.labels[0]))
    return torch.from_numpy(np.concatenate(frames)), torch.from_numpy(np.concatenate(labels))


def train_classifier(
    config: MovingDigitsConfig, *, steps: int = 600, batch: int = 128, seed: int = 0
) -> tuple[FrameClassifier, float]:
    """Train on train-split frames; returns the model and its test-split frame accuracy."""
    single = MovingDigitsConfig(**{**config.to_dict(), "min_digits": 1, "max_digits": 1})
    x, y = digit_frames(single, "train", 3000)
    torch.manual_seed(seed)
    model = FrameClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=g)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    xt, yt = digit_frames(single, "test", 256)
    with torch.no_grad():
        accuracy = float((model(xt).argmax(-1) == yt).float().mean())
    return model, accuracy


def save_classifier(model: FrameClassifier, path: str | Path = WEIGHTS) -> Path:
    from safetensors.torch import save

    data = save({k: v.contiguous() for k, v in model.state_dict().items()})
    return atomic_write(path, lambda f: f.write(data))


if __name__ == "__main__":
    torch.set_num_threads(1)
    trained, acc = train_classifier(MovingDigitsConfig())
    print(f"test-split frame accuracy {acc:.4f}; saved {save_classifier(trained)}")
