"""The in-package digit classifier: a small CNN trained by our code on the digits train split.

Its logits give the accuracy of class-conditional samples; its penultimate layer (64-d, after
ReLU — the input of the last linear layer, like Inception's pool features for FID) gives the
features of the Fréchet distance and precision/recall. The weights ship in
``polydit/image/weights/digits_classifier.safetensors``; ``python -m polydit.image.classifier``
retrains them (seed 0, ~1 min on one CPU thread) and prints the test accuracy.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

WEIGHTS = Path(__file__).parent / "weights" / "digits_classifier.safetensors"
FEATURE_DIM = 64
EPOCHS, BATCH, LR = 40, 64, 1e-3


class DigitClassifier(nn.Module):
    """(B, 1, 8, 8) in [-1, 1] → logits (B, 10); :meth:`features` → (B, 64)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 4×4
            nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(),
        )
        self.fc = nn.Linear(64 * 16, FEATURE_DIM)
        self.out = nn.Linear(FEATURE_DIM, 10)

    def features(self, images: Tensor) -> Tensor:
        return F.relu(self.fc(self.conv(images).flatten(1)))

    def forward(self, images: Tensor) -> Tensor:
        return self.out(self.features(images))


@lru_cache(maxsize=1)
def load_classifier() -> DigitClassifier:
    """The shipped classifier (eval mode, CPU)."""
    from safetensors.torch import load_file

    net = DigitClassifier()
    net.load_state_dict(load_file(WEIGHTS))
    return net.eval()


def _shift(images: Tensor, generator: torch.Generator) -> Tensor:
    """Random translation by -1..1 pixel per image (zero = background -1 padding)."""
    padded = F.pad(images, (1, 1, 1, 1), value=-1.0)
    out = torch.empty_like(images)
    offsets = torch.randint(0, 3, (images.shape[0], 2), generator=generator)
    for i, (dy, dx) in enumerate(offsets.tolist()):
        out[i] = padded[i, :, dy : dy + 8, dx : dx + 8]
    return out


def train_classifier(seed: int = 0) -> tuple[DigitClassifier, float]:
    """Train on the digits train split; (model, test accuracy)."""
    from polydit.image.data import load_digits_set

    train, test = load_digits_set("train"), load_digits_set("test")
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = DigitClassifier()
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    for _ in range(EPOCHS):
        net.train()
        for idx in torch.randperm(len(train), generator=g).split(BATCH):
            images, labels = train.batch(idx)
            loss = F.cross_entropy(net(_shift(images, g)), labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        accuracy = (net(test.images).argmax(1) == test.labels).float().mean().item()
    return net, accuracy


def main() -> None:
    from safetensors.torch import save

    from polydit.core.atomic import atomic_write

    torch.set_num_threads(1)
    net, accuracy = train_classifier()
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    atomic_write(WEIGHTS, lambda f: f.write(save(state)))
    print(f"test accuracy {accuracy:.4f}; wrote {WEIGHTS}")


if __name__ == "__main__":
    main()
