"""Choose the given-frame guidance scale on validation clips, not on the fixed test set.

For each scale, the metrics of :func:`polydit.video.metrics.evaluate` (prediction from 4
frames, interpolation from first + last; no unconditional clips, which have nothing given) on
test-split clips ``offset … offset + clips − 1``. The fixed test set is clips 0–127, so the
default offset 1000 keeps the choice off it.

Run: ``OMP_NUM_THREADS=1 python -m polydit.bench.video.guidance_sweep --model moving-digits
--scales 1,2,3,4`` (one JSON line per scale).
"""

from __future__ import annotations

import argparse
import json
import time

from polydit.video import load_pretrained
from polydit.video.classifier import load_classifier
from polydit.video.data import make_clip
from polydit.video.metrics import evaluate

REPORTED = (
    "predict.psnr",
    "predict.margin_db",
    "predict.ssim",
    "predict.classifier_accuracy",
    "interpolate.psnr",
    "interpolate.margin_db",
    "interpolate.ssim",
    "interpolate.classifier_accuracy",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="moving-digits", help="shipped name or directory")
    parser.add_argument("--scales", default="1,2,3,4", help="comma-separated guidance scales")
    parser.add_argument("--clips", type=int, default=32, help="validation clips")
    parser.add_argument("--offset", type=int, default=1000, help="first test-split clip index")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (model's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.offset < 128:
        parser.error("--offset must be >= 128: clips 0-127 are the fixed test set")
    generator = load_pretrained(args.model)
    clips = [make_clip(generator.codec.data, "test", args.offset + i) for i in range(args.clips)]
    classifier = load_classifier()
    steps = {} if args.steps is None else {"steps": args.steps}
    for scale in (float(s) for s in args.scales.split(",")):
        started = time.perf_counter()
        metrics = evaluate(
            generator, clips, classifier, num_unconditional=0, seed=args.seed,
            given_scale=scale, **steps,
        )  # fmt: skip
        record = {"given_scale": scale, **{k: round(metrics[k], 3) for k in REPORTED}}
        print(json.dumps({**record, "seconds": round(time.perf_counter() - started)}), flush=True)


if __name__ == "__main__":
    main()
