"""Two-prompt clips of a text video model: DiTCtrl-style sampling against the naive baselines.

Prompt pairs are the captions of validation clips (test-split clips ``offset …``, off the fixed
test set), paired so the two digits differ. Each method makes one clip per pair:

- ``ditctrl W=w``: :func:`polydit.video.multiprompt.sample_prompts` over 2·T frames with KV
  sharing over w frames (w = 0: the time masks alone);
- ``cut``: two independent T-frame clips cut together;
- ``chained``: the second clip predicted from the last frame of the first (``given``);
- ``one prompt, 2T frames``: the first prompt alone over the longer clip (full attention across
  all 2T frames: RoPE time distances beyond the trained range), scored on both halves against
  the first prompt: what a longer-than-trained clip does to adherence.

Per span: named-digit and motion-direction accuracy against that span's prompt
(:mod:`polydit.video.adherence`); and the transition smoothness (mean frame-to-frame change at
the boundary over the mean within spans; 1 = no jump).

Run: ``OMP_NUM_THREADS=1 python -m polydit.bench.video.multiprompt --model DIR --pairs 32``
(one JSON line per method, then a Markdown table).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from polydit.video import load_pretrained
from polydit.video.adherence import adherence
from polydit.video.captions import clip_caption, parse_caption
from polydit.video.classifier import load_classifier
from polydit.video.data import make_clip
from polydit.video.multiprompt import (
    chained_baseline,
    cut_baseline,
    sample_prompts,
    transition_smoothness,
)


def prompt_pairs(generator: Any, pairs: int, offset: int) -> list[tuple[str, str]]:
    """`pairs` caption pairs of consecutive validation clips whose digits differ."""
    out: list[tuple[str, str]] = []
    i = offset
    while len(out) < pairs:
        a, b = (clip_caption(make_clip(generator.codec.data, "test", j)) for j in (i, i + 1))
        if parse_caption(a).digit != parse_caption(b).digit:
            out.append((a, b))
        i += 2
    return out


def score(clips: Any, spans: list[tuple[int, int]], prompts: list[list[str]], classifier: Any,
          boundary: int) -> dict[str, float]:  # fmt: skip
    """Per-span adherence (span k against prompts[k]) and the smoothness at `boundary` (the
    change from frame boundary − 1 to boundary)."""
    out: dict[str, float] = {}
    for k, (start, stop) in enumerate(spans):
        motions = [parse_caption(p) for p in prompts[k]]
        for name, value in adherence(classifier, clips[:, start:stop], motions).items():
            out[f"span{k + 1}.{name}"] = round(value, 3)
    out["smoothness"] = round(transition_smoothness(clips, [boundary]), 3)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a text model: shipped name or directory")
    parser.add_argument("--pairs", type=int, default=32, help="prompt pairs")
    parser.add_argument("--offset", type=int, default=1000, help="first test-split clip index")
    parser.add_argument("--windows", default="0,2,4", help="comma-separated KV-sharing windows")
    parser.add_argument("--steps", type=int, default=None, help="sampling steps (model's)")
    parser.add_argument("--cfg", type=float, default=None, help="text guidance (model's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.offset < 128:
        parser.error("--offset must be >= 128: clips 0-127 are the fixed test set")
    generator = load_pretrained(args.model)
    if not generator.is_text:
        parser.error(f"--model {args.model}: not a text model (model.text)")
    classifier = load_classifier()
    pairs = prompt_pairs(generator, args.pairs, args.offset)
    firsts, seconds = [a for a, _ in pairs], [b for _, b in pairs]
    t = generator.codec.frames
    overrides = {k: v for k, v in (("steps", args.steps), ("cfg_scale", args.cfg)) if v is not None}
    two = [(0, t), (t, 2 * t)]
    rows: list[dict[str, Any]] = []

    def run(name: str, make: Any, spans: list[tuple[int, int]], prompts: list[list[str]],
            boundary: int = t) -> None:  # fmt: skip
        started = time.perf_counter()
        clips = make()
        record = {"method": name, **score(clips, spans, prompts, classifier, boundary)}
        record["seconds"] = round(time.perf_counter() - started)
        rows.append(record)
        print(json.dumps(record), flush=True)

    def pairwise(sampler: Any, **options: Any) -> Any:
        """One call per pair (its own prompts), clips stacked: (n, F, C, H, W)."""
        import torch

        return torch.cat(
            [sampler(generator, list(p), 1, seed=args.seed + i, **options, **overrides)
             for i, p in enumerate(pairs)]
        )  # fmt: skip

    for window in (int(w) for w in args.windows.split(",")):
        run(f"ditctrl W={window}", lambda w=window: pairwise(sample_prompts, window=w), two,
            [firsts, seconds])  # fmt: skip
    run("cut", lambda: pairwise(cut_baseline), two, [firsts, seconds])
    # chained: span 2 starts at its given frame (the last of span 1); the cut follows it
    run("chained", lambda: pairwise(chained_baseline), [(0, t), (t - 1, 2 * t - 1)],
        [firsts, seconds], boundary=t)  # fmt: skip
    run("one prompt, 2T frames", lambda: _one_prompt_long(generator, firsts, 2 * t, args.seed,
        overrides), two, [firsts, firsts])  # fmt: skip
    keys = [k for k in rows[0] if k not in ("method", "seconds")]
    print("\n| method | " + " | ".join(keys) + " | s |")
    print("|---" * (len(keys) + 2) + "|")
    for r in rows:
        print(f"| {r['method']} | " + " | ".join(str(r[k]) for k in keys) + f" | {r['seconds']} |")


def _one_prompt_long(generator: Any, prompts: list[str], frames: int, seed: int,
                     overrides: dict[str, Any]) -> Any:  # fmt: skip
    """Each prompt alone over `frames` frames (no masks: full attention over the longer clip)."""
    import torch

    return torch.cat(
        [sample_prompts(generator, [p], 1, frames=frames, seed=seed + i, **overrides)
         for i, p in enumerate(prompts)]
    )  # fmt: skip


if __name__ == "__main__":
    main()
