"""The in-package spoken-word classifier: a small log-mel CNN trained by our code.

It stands in for the VGGish / PANNs / PaSST / CLAP networks of FAD, KL and IS, whose weights are
not available offline. Input: clips (B, L) at 16 kHz; log-mel frames (n_fft 512, hop 128, 64
mels) standardised by fixed constants, the mels taken as channels of a 1-D signal over time
(as keyword-spotting networks such as TC-ResNet do, which keeps it cheap on a CPU); a 5-tap
convolution to 64 channels; three residual blocks (two 3-tap convolutions with batch-norm, ReLU
after the sum) each followed by a 2× max-pool in time; mean and max over time (128); a linear
layer with ReLU to the 64-d **embedding** (the Fréchet-distance features, like VGGish's 128-d
output); a linear layer to the logits.

Training (:func:`train_classifier`) uses the train split only (train voices), AdamW with a
one-cycle schedule, and augmentation that a generated clip may need to be judged fairly under:
a random circular time shift of up to ±0.15 s, a gain of −12…+3 dB and white noise at 15–40 dB
SNR (per clip). ``python -m polydit.audio.classifier DATASET [--save]`` trains, prints test
accuracy and with ``--save`` writes the shipped weights ``weights/classifier-DATASET.safetensors``
that :func:`load_classifier` reads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from polydit.audio.mel import LogMel, MelConfig
from polydit.core.config import JsonConfig
from polydit.core.errors import CheckpointError

EMBEDDING_DIM = 64
CLASSIFIER_MEL = MelConfig(n_fft=512, hop=128, n_mels=64)
LOG_MEL_MEAN, LOG_MEL_STD = -9.0, 3.4  # measured on spoken-digits train clips
WIDTH = 64
WEIGHTS = Path(__file__).resolve().parent / "weights"


class ResidualBlock(nn.Module):
    """(B, C, T) → (B, C, T / 2): two 3-tap conv + batch-norm, ReLU of the sum, max-pool."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm1d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool1d(F.relu(x + self.body(x)), 2)


class WordClassifier(nn.Module):
    """clips (B, L) at 16 kHz → logits (B, num_classes); :meth:`embed` → (B, 64)."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.log_mel = LogMel(CLASSIFIER_MEL)
        self.stem = nn.Sequential(
            nn.Conv1d(CLASSIFIER_MEL.n_mels, WIDTH, 5, padding=2, bias=False),
            nn.BatchNorm1d(WIDTH),
            nn.ReLU(),
        )
        self.blocks = nn.Sequential(*(ResidualBlock(WIDTH) for _ in range(3)))
        self.embedding = nn.Linear(2 * WIDTH, EMBEDDING_DIM)
        self.head = nn.Linear(EMBEDDING_DIM, num_classes)

    def embed(self, waves: Tensor) -> Tensor:
        x = (self.log_mel(waves) - LOG_MEL_MEAN) / LOG_MEL_STD  # (B, 64 mels, F)
        h = self.blocks(self.stem(x))  # (B, 64, F / 8)
        pooled = torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)  # (B, 128)
        return F.relu(self.embedding(pooled))

    def forward(self, waves: Tensor) -> Tensor:
        return self.head(self.embed(waves))


@dataclass(frozen=True)
class ClassifierTraining(JsonConfig):
    """Optimisation and augmentation of :func:`train_classifier`."""

    steps: int = 600
    batch: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    max_shift_seconds: float = 0.15
    gain_db: tuple[float, float] = (-12.0, 3.0)
    snr_db: tuple[float, float] = (15.0, 40.0)
    seed: int = 0


def augment(
    waves: Tensor, sample_rate: int, config: ClassifierTraining, g: torch.Generator
) -> Tensor:
    """(B, L) → (B, L): per clip a circular shift, a gain and white noise (module docstring)."""
    b, length = waves.shape
    max_shift = int(config.max_shift_seconds * sample_rate)
    shifts = torch.randint(-max_shift, max_shift + 1, (b,), generator=g)
    index = (torch.arange(length)[None, :] - shifts[:, None]) % length
    shifted = waves.gather(1, index)
    low, high = config.gain_db
    gain = 10 ** ((low + (high - low) * torch.rand(b, 1, generator=g)) / 20)
    shifted = shifted * gain
    low, high = config.snr_db
    snr = low + (high - low) * torch.rand(b, 1, generator=g)
    power = shifted.pow(2).mean(dim=1, keepdim=True)
    noise = torch.randn(b, length, generator=g) * (power / 10 ** (snr / 10)).sqrt()
    return (shifted + noise).clamp(-1.0, 1.0)


def train_classifier(
    waves: Tensor,
    labels: Tensor,
    num_classes: int,
    sample_rate: int,
    config: ClassifierTraining | None = None,
) -> WordClassifier:
    """A classifier trained on `waves` (N, L), `labels` (N,) for `config.steps` steps."""
    config = config or ClassifierTraining()
    torch.manual_seed(config.seed)
    g = torch.Generator().manual_seed(config.seed)
    model = WordClassifier(num_classes)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=config.steps)
    model.train()
    for _ in range(config.steps):
        idx = torch.randint(0, len(waves), (config.batch,), generator=g)
        x = augment(waves[idx], sample_rate, config, g)
        loss = F.cross_entropy(model(x), labels[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    return model.eval()


def classifier_path(dataset: str) -> Path:
    """Where the shipped classifier of built-in set `dataset` lives."""
    return WEIGHTS / f"classifier-{dataset}.safetensors"


def load_classifier(dataset: str) -> WordClassifier:
    """The shipped classifier of built-in set `dataset` (eval mode, CPU)."""
    from safetensors.torch import load_file

    path = classifier_path(dataset)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: no classifier ships for {dataset!r}; train one with "
            f"`python -m polydit.audio.classifier {dataset} --save`"
        )
    state = load_file(path)
    model = WordClassifier(state["head.weight"].shape[0])
    model.load_state_dict(state)
    return model.eval()


def main() -> None:
    import argparse

    from polydit.audio.data import load_builtin
    from polydit.audio.metrics import accuracy, classifier_outputs

    parser = argparse.ArgumentParser(description="Train the spoken-word classifier briefly.")
    parser.add_argument("dataset", nargs="?", default="spoken-digits")
    parser.add_argument("--steps", type=int, default=ClassifierTraining.steps)
    parser.add_argument("--save", action="store_true", help="write the shipped weights")
    args = parser.parse_args()
    torch.set_num_threads(1)
    train, test = load_builtin(args.dataset, "train"), load_builtin(args.dataset, "test")
    started = time.perf_counter()
    model = train_classifier(
        train.waves,
        train.labels,
        len(train.class_names),
        train.sample_rate,
        ClassifierTraining(steps=args.steps),
    )
    seconds = time.perf_counter() - started
    train_accuracy = accuracy(classifier_outputs(model, train.waves)[0], train.labels)
    test_accuracy = accuracy(classifier_outputs(model, test.waves)[0], test.labels)
    print(
        f"{args.dataset}: {args.steps} steps in {seconds:.0f} s; accuracy on train voices "
        f"{train_accuracy:.4f}, on unheard test voices {test_accuracy:.4f}"
    )
    if args.save:
        from safetensors.torch import save

        from polydit.core.atomic import atomic_write

        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        path = classifier_path(args.dataset)
        atomic_write(path, lambda f: f.write(save(state)))
        print(f"saved {path}")


if __name__ == "__main__":
    main()
