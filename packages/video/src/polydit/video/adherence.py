"""Prompt adherence of moving-digits clips: is the named digit there, does it move as named?

- **Named-digit accuracy**: the frame classifier's majority class over a clip's frames equals
  the digit of its caption.
- **Motion-direction accuracy**: the clip's tracked centre of mass (intensity-weighted, per
  frame) moves as the caption's :class:`~polydit.video.captions.Motion` says, on both axes:
  an axis it names without a bounce has a net displacement over the clip of sign σ; an axis it
  names with a bounce has a first step of sign σ (the turn may come at any frame); an axis it
  does not name moves less than :data:`STILL_PX` net. A displacement counts when it exceeds
  :data:`MIN_PX`. On real clips the digit is always wholly inside the canvas, so the centre of
  mass moves exactly with it and every real clip follows its own caption.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from polydit.video.captions import Motion, clip_caption, motion_of
from polydit.video.classifier import FrameClassifier
from polydit.video.data import Clip
from polydit.video.metrics import classify, stack_clips

MIN_PX = 0.5  # a step or net displacement smaller than this is no motion
STILL_PX = 2.0  # an axis the caption does not name may drift this much net


def centre_of_mass(clips: Tensor) -> Tensor:
    """(B, T, 2) intensity-weighted (y, x) centre of every frame of clips (B, T, 1, H, W) in
    [0, 1]; a blank frame is at the canvas centre."""
    h, w = clips.shape[-2:]
    mass = clips.float().clamp_min(0).sum(2)  # (B, T, H, W)
    total = mass.sum((-1, -2))
    ys, xs = torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32)
    y = (mass.sum(-1) * ys).sum(-1) / total.clamp_min(1e-6)
    x = (mass.sum(-2) * xs).sum(-1) / total.clamp_min(1e-6)
    centre = torch.tensor([(h - 1) / 2, (w - 1) / 2])
    track = torch.stack([y, x], -1)
    return torch.where((total > 1e-6)[..., None], track, centre)


def follows_motion(track: Tensor, motion: Motion) -> bool:
    """Whether a (T, 2) centre-of-mass track moves as `motion` says (module docstring)."""
    net, first = track[-1] - track[0], track[1] - track[0]
    for axis, sign in enumerate(motion.direction):
        if sign == 0:
            ok = abs(float(net[axis])) < STILL_PX
        else:
            moved = first if axis in motion.bounces else net
            ok = sign * float(moved[axis]) > MIN_PX
        if not ok:
            return False
    return True


def adherence(
    classifier: FrameClassifier, clips: Tensor, motions: Sequence[Motion]
) -> dict[str, float]:
    """Named-digit and motion-direction accuracy of clips (B, T, 1, H, W) against `motions`."""
    classes, _ = classify(classifier, clips)
    majority = torch.mode(classes, dim=1).values
    digits = torch.tensor([m.digit for m in motions])
    tracks = centre_of_mass(clips)
    moving = [follows_motion(track, m) for track, m in zip(tracks, motions, strict=True)]
    return {
        "named_digit_accuracy": float((majority == digits).float().mean()),
        "direction_accuracy": sum(moving) / len(moving),
    }


def clip_motions(clips: Sequence[Clip]) -> list[Motion]:
    """The motion of each clip's first digit (what its caption names)."""
    return [motion_of(int(c.labels[0]), c.positions[:, 0]) for c in clips]


@torch.no_grad()
def evaluate_adherence(
    generator: Any, clips: Sequence[Clip], classifier: FrameClassifier, *, seed: int = 0,
    **overrides: Any,
) -> dict[str, float]:  # fmt: skip
    """Adherence to the captions of the test `clips`: of clips the generator draws from them
    (``text.*``; a model without text draws unconditionally: the chance reference), of the
    real clips (``data.*``, the ceiling) and of the real clips against another clip's caption
    (``data.shuffled.*``: chance, for the real motion statistics)."""
    motions = clip_motions(clips)
    videos, _ = stack_clips(list(clips))
    out = {f"data.{k}": v for k, v in adherence(classifier, videos, motions).items()}
    shuffled = motions[1:] + motions[:1]
    out |= {f"data.shuffled.{k}": v for k, v in adherence(classifier, videos, shuffled).items()}
    prompts = [clip_caption(c) for c in clips] if generator.is_text else None
    drawn = generator.sample(len(clips), seed=seed, prompts=prompts, **overrides).clips
    out |= {f"text.{k}": v for k, v in adherence(classifier, drawn, motions).items()}
    out["text.conditioned"] = float(generator.is_text)
    return out
