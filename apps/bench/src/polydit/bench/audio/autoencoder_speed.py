"""Seconds per training step of the waveform autoencoder, fp32 vs bf16 autocast.

One step = the loss of a batch of spoken-digits train clips (multi-resolution STFT + KL),
backward, AdamW. The first step of each dtype is a warm-up and not timed.

Run: ``OMP_NUM_THREADS=1 uv run python -m polydit.bench.audio.autoencoder_speed --batch 8``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time

import torch

from polydit.audio.autoencoder import PRESETS, WaveAutoencoder
from polydit.audio.data import load_builtin


def step_seconds(preset: str, batch: int, dtype: str, steps: int) -> float:
    """Mean wall seconds of `steps` timed training steps at `dtype` ("fp32" or "bf16")."""
    torch.manual_seed(0)
    model = WaveAutoencoder(PRESETS[preset])
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    waves = load_builtin("spoken-digits", "train").waves[:batch]
    times = []
    for _ in range(steps + 1):
        started = time.perf_counter()
        autocast = (
            torch.autocast("cpu", dtype=torch.bfloat16)
            if dtype == "bf16"
            else contextlib.nullcontext()
        )
        with autocast:
            loss = model.loss(waves).total
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        times.append(time.perf_counter() - started)
    return sum(times[1:]) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    for dtype in ("fp32", "bf16"):
        seconds = step_seconds(args.preset, args.batch, dtype, args.steps)
        print(json.dumps({"preset": args.preset, "batch": args.batch, "dtype": dtype,
                          "seconds_per_step": round(seconds, 3)}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
