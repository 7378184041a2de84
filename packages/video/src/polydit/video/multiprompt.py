"""Multi-prompt clips without retraining (after DiTCtrl, Cai et al. 2024): one longer clip whose
consecutive time spans follow consecutive prompts, sampled by a text model in one run.

The clip of F frames is one token sequence (RoPE time positions 0…F−1) after the prompts'
context tokens, [ctx_1; …; ctx_K; video]. Span k (frames [k·F/K, (k+1)·F/K)) and prompt k form
*segment* k. The joint attention is masked by segment (``Cond.joint_bias``):

- **time-masked joint attention**: a query of segment k attends to the keys of segment k only
  (its prompt's tokens and its span's video tokens);
- **KV sharing** over a transition window of W frames: a video query of span k ≥ 1 at frame
  f also reads the keys/values of segment k−1 (the earlier span's video *and* its prompt),
  weighted by λ = 1 − (f − start_k)/W (additive bias log λ): 1 at the span's first frame,
  fading to 0 after W frames. The earlier span never reads the later one. W = 0 turns
  sharing off: the spans are then independent clips that share only their RoPE time axis.

Because RoPE is relative, a span of the model's trained length attending within itself is
exactly a trained-length clip; only the shared reads across the boundary see time distances
beyond the trained range (up to span + W − 1 frames). DiTCtrl shares keys/values between
separately denoised clips in chosen steps and layers of CogVideoX and blends their overlapping
latents; here, with one short clip per prompt, the spans share one sequence and the sharing is
an attention weight in every step and block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from polydit.core.errors import ConfigError
from polydit.core.tokens import Cond
from polydit.video.codec import VideoCodec

DEFAULT_WINDOW = 4  # frames of KV sharing after each boundary


def span_frames(frames: int, prompts: int, temporal_patch: int = 1) -> list[tuple[int, int]]:
    """The [start, stop) frames of each prompt's span: `frames` split evenly."""
    per, left = divmod(frames, prompts)
    if left or per % temporal_patch or per < 2:
        raise ConfigError(
            f"--frames {frames}: must split into {prompts} equal spans of at least 2 frames "
            f"(multiples of the temporal patch {temporal_patch})"
        )
    return [(k * per, (k + 1) * per) for k in range(prompts)]


def share_weight(frame: int, start: int, window: int) -> float:
    """λ of a frame of the span starting at `start` for the previous segment's keys."""
    if window <= 0 or not 0 <= frame - start < window:
        return 0.0
    return 1.0 - (frame - start) / window


def joint_bias(
    codec: VideoCodec, context_lengths: Sequence[int], window: int = DEFAULT_WINDOW
) -> Tensor:
    """(L, L) additive attention bias over [ctx_1; …; ctx_K; video tokens of `codec`] with
    L = Σ M_k + N, for K = len(context_lengths) prompts (the module docstring's masks)."""
    k = len(context_lengths)
    spans = span_frames(codec.frames, k, codec.patch[0])
    frame = codec.positions(1)[0, :, 0].long() * codec.patch[0]  # (N,) first frame per token
    span = torch.bucketize(frame, torch.tensor([a for a, _ in spans[1:]]), right=True)  # (N,)
    segment = torch.cat(
        [torch.full((m,), i) for i, m in enumerate(context_lengths)] + [span]
    )  # (L,)
    m = sum(context_lengths)
    weight = (segment[:, None] == segment[None, :]).double()  # own segment: 1
    shared = torch.tensor(
        [share_weight(int(f), spans[int(s)][0], window) for f, s in zip(frame, span, strict=True)],
        dtype=torch.float64,
    )  # (N,) λ of each video query
    earlier = segment[None, :] == (span[:, None] - 1)  # (N, L) keys of the previous segment
    weight[m:] = torch.where(earlier, shared[:, None], weight[m:])
    return weight.log().float()  # log 0 = -inf: never attended


def sample_prompts(
    generator: Any,
    prompts: Sequence[str],
    num: int,
    *,
    frames: int | None = None,
    window: int = DEFAULT_WINDOW,
    seed: int = 0,
    **overrides: Any,
) -> Tensor:
    """`num` clips (num, frames, C, H, W) in [0, 1] whose spans follow `prompts` in turn, from
    a text :class:`~polydit.video.pipeline.VideoGenerator`; frames defaults to the model's
    frames per prompt. One prompt at the model's frames is exactly ``generator.sample``.
    overrides: steps, sampler, cfg_scale, shift, dtype, cache, cache_opts."""
    from polydit.video.text import encode_prompts

    if not generator.is_text:
        raise ConfigError("--prompt needs a text-conditional model (model.text); this one is not")
    if not prompts:
        raise ConfigError("--prompt: give at least one prompt")
    codec = generator.codec.replace(frames=frames or generator.codec.frames * len(prompts))
    features, mask = encode_prompts(list(prompts))  # (K, M, 384), (K, M)
    k, m = mask.shape
    cond = Cond(
        context=features.reshape(1, k * m, -1).expand(num, -1, -1),
        context_mask=mask.reshape(1, k * m).expand(num, -1),
    )
    if k > 1:
        cond.joint_bias = joint_bias(codec, [m] * k, window).expand(num, -1, -1)
    template = codec.template(num)
    x = generator.generate(template, cond, seed=seed, **overrides)
    return codec.decode(x.cpu(), template).clamp(0, 1)


def cut_baseline(generator: Any, prompts: Sequence[str], num: int, *, seed: int = 0,
                 **overrides: Any) -> Tensor:  # fmt: skip
    """Independent trained-length clips, one per prompt (seeds offset by 1000·k), cut together:
    (num, K·T, C, H, W)."""
    parts = [
        generator.sample(num, seed=seed + 1000 * k, prompts=p, **overrides).clips
        for k, p in enumerate(prompts)
    ]
    return torch.cat(parts, dim=1)


def chained_baseline(generator: Any, prompts: Sequence[str], num: int, *, seed: int = 0,
                     **overrides: Any) -> Tensor:  # fmt: skip
    """One clip per prompt, each predicted from the last frame of the one before as its given
    first frame (the existing ``given`` conditioning), that frame not repeated:
    (num, T + (K−1)(T−1), C, H, W)."""
    clip = generator.sample(num, seed=seed, prompts=prompts[0], **overrides).clips
    parts = [clip]
    for k, p in enumerate(prompts[1:], start=1):
        clip = generator.predict(clip[:, -1:], 1, seed=seed + 1000 * k, prompts=p, **overrides)
        clip = clip.clips
        parts.append(clip[:, 1:])
    return torch.cat(parts, dim=1)


def transition_smoothness(clips: Tensor, boundaries: Sequence[int]) -> float:
    """Mean absolute frame-to-frame change across the boundaries (frame b−1 → b) over the mean
    change within spans, for clips (B, F, C, H, W): 1 is as smooth as motion inside a span,
    larger is a jump."""
    change = (clips[:, 1:] - clips[:, :-1]).abs().flatten(2).mean(-1)  # (B, F-1)
    at = torch.zeros(change.shape[1], dtype=torch.bool)
    at[[b - 1 for b in boundaries]] = True
    return float(change[:, at].mean() / change[:, ~at].mean().clamp_min(1e-12))
