"""Round-trip floors of audio representations on the spoken-digits test clips.

Every representation encodes the 960 test clips (unheard voices) and decodes them back; the
round trips, quantised to 16 bits as a WAV stores them, are judged under the shipped
classifier exactly as ``polydit-audio eval`` judges samples: accuracy, Fréchet distance vs the
real test clips (beside the real-vs-real floor, train vs test), paired KL(real ‖ round trip),
inception score, and the multi-resolution STFT distance to the original clip.

``--clips N`` round-trips N evenly spaced test clips (Griffin-Lim costs about 4 ms per clip and
iteration on one thread) and still compares them with all 960: FD is biased upwards at small N,
so compare a row with the "16-bit PCM" row of the same N, which is the real subset itself.

Rows: log-mel and log linear-STFT magnitudes (:class:`~polydit.audio.mel.MelConfig`) inverted by
Griffin-Lim (exactly the codec's decoder, phase from seed 0), and "16-bit PCM" — the floor of
any exactly invertible representation (waveform patches, complex STFT), which only the WAV's
quantisation touches.

Run: ``OMP_NUM_THREADS=1 uv run python -m polydit.bench.audio.floors`` (prints a Markdown table,
then one JSON object per row).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from torch import Tensor

from polydit.audio.classifier import load_classifier
from polydit.audio.codec import MelCodec
from polydit.audio.data import load_builtin
from polydit.audio.mel import MelConfig
from polydit.audio.metrics import (
    accuracy,
    classifier_outputs,
    frechet_distance,
    inception_score,
    kl_divergence,
)
from polydit.audio.spectral import stft_distance
from polydit.audio.waveform import quantise_pcm16

REPRESENTATIONS: dict[str, MelConfig | None] = {
    "16-bit PCM (any exact codec)": None,
    "log-mel 64, n_fft 1024 / hop 256, GL 64": MelConfig(),
    "log-mel 64, n_fft 1024 / hop 256, GL 256": MelConfig(griffin_lim_iters=256),
    "log-mel 128, n_fft 1024 / hop 256, GL 256": MelConfig(n_mels=128, griffin_lim_iters=256),
    "linear 513, n_fft 1024 / hop 256, GL 64": MelConfig(scale="linear"),
    "linear 513, n_fft 1024 / hop 256, GL 256": MelConfig(scale="linear", griffin_lim_iters=256),
    "linear 257, n_fft 512 / hop 128, GL 64": MelConfig(n_fft=512, hop=128, scale="linear"),
    "linear 257, n_fft 512 / hop 128, GL 256": MelConfig(
        n_fft=512, hop=128, scale="linear", griffin_lim_iters=256
    ),
}


def round_trip(waves: Tensor, config: MelConfig | None, batch: int = 240) -> Tensor:
    """waves (N, L) → their codec round trip (N, L), quantised to 16-bit levels."""
    if config is None:
        return quantise_pcm16(waves)
    codec = MelCodec(config, waves.shape[1])
    out = [
        codec.decode(codec.encode(waves[i : i + batch]).x, seed=i)
        for i in range(0, len(waves), batch)
    ]
    return quantise_pcm16(torch.cat(out).clamp(-1.0, 1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", help="row names to run (substrings)")
    parser.add_argument(
        "--clips", type=int, default=960, help="round-trip this many evenly spaced test clips"
    )
    args = parser.parse_args()
    test, train = load_builtin("spoken-digits", "test"), load_builtin("spoken-digits", "train")
    subset = test.subset(torch.linspace(0, len(test) - 1, args.clips).round().long())
    classifier = load_classifier("spoken-digits")
    p_test, e_test = classifier_outputs(classifier, test.waves)
    _, e_train = classifier_outputs(classifier, train.waves)
    floor = frechet_distance(e_train, e_test)
    rows = [
        {
            "representation": "real test clips",
            "clips": len(test),
            "stft": 0.0,
            "accuracy": accuracy(p_test, test.labels),
            "fd": floor,
            "kl": 0.0,
            "is": inception_score(p_test),
            "seconds": 0.0,
        }
    ]
    for name, config in REPRESENTATIONS.items():
        if args.only and not any(s in name for s in args.only):
            continue
        started = time.perf_counter()
        waves = round_trip(subset.waves, config)
        seconds = time.perf_counter() - started
        p, e = classifier_outputs(classifier, waves)
        p_real, _ = classifier_outputs(classifier, subset.waves)
        rows.append(
            {
                "representation": name,
                "clips": len(subset),
                "stft": float(stft_distance(waves, subset.waves).mean()),
                "accuracy": accuracy(p, subset.labels),
                "fd": frechet_distance(e, e_test),
                "kl": kl_divergence(p_real, p),
                "is": inception_score(p),
                "seconds": seconds,
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    print(f"\nreal-vs-real FD floor (train vs test): {floor:.2f}\n")
    print("| representation | clips | MR-STFT | accuracy | FD vs test | FD / floor | KL | IS | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['representation']} | {r['clips']} | {r['stft']:.3f} | {100 * r['accuracy']:.1f} % "
            f"| {r['fd']:.1f} | {r['fd'] / floor:.1f} | {r['kl']:.3f} | {r['is']:.2f} "
            f"| {r['seconds']:.0f} |"
        )


if __name__ == "__main__":
    main()
