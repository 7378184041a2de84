"""The two containers every domain speaks to the core: :class:`Tokens` and :class:`Cond`."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor


@dataclass
class Tokens:
    """A batch of token sets.

    x:    (B, N, C) token features.
    pos:  (B, N, A) float coordinates along A axes for RoPE / sin-cos embeddings, or None (a set).
    mask: (B, N) bool, True for real tokens, False for padding; None means all real.
    """

    x: Tensor
    pos: Tensor | None = None
    mask: Tensor | None = None

    def with_x(self, x: Tensor) -> Tokens:
        """The same positions and mask around new features `x` (B, N, C')."""
        return Tokens(x, self.pos, self.mask)


@dataclass
class Cond:
    """Conditioning of a batch. Every field is optional.

    labels:       (B,) long class ids into the DiT's label table.
    vector:       (B, D_v) float vector, projected and added to the adaLN conditioning (absent:
                  the learned null vector).
    context:      (B, M, D_c) context tokens for MM-DiT joint attention (text, observations...).
    context_mask: (B, M) bool, True for real context tokens.
    given:        (B, N) bool, True for clean tokens that condition the generation (frames of a
                  video to predict from, a known region): they are not noised, not generated and
                  carry no loss. Not dropped for classifier-free guidance.
    dropped:      (B,) bool, True where labels/vector/context are replaced by the learned null
                  conditioning (classifier-free guidance's unconditional branch).
    self_cond:    (B, N, C) the previous estimate of the clean tokens, for a DiT with
                  ``self_condition`` (self-conditioning); not dropped for guidance.
    joint_bias:   (B, M + N, M + N) float additive attention logits over the joint sequence
                  [context; tokens] (query rows, key columns; 0 = attend, -inf = never): e.g.
                  time spans that attend only to their own prompt's tokens. Not dropped for
                  guidance (the null context's key mask still applies).
    """

    labels: Tensor | None = None
    vector: Tensor | None = None
    context: Tensor | None = None
    context_mask: Tensor | None = None
    given: Tensor | None = None
    dropped: Tensor | None = None
    self_cond: Tensor | None = None
    joint_bias: Tensor | None = None

    def _first(self) -> Tensor | None:
        return next((v for f in fields(self) if (v := getattr(self, f.name)) is not None), None)

    @property
    def batch_size(self) -> int | None:
        first = self._first()
        return None if first is None else first.shape[0]

    def unconditional(self) -> Cond:
        """The same batch with every droppable field replaced by the null conditioning."""
        first = self._first()
        if first is None:
            return self
        return replace(
            self, dropped=torch.ones(first.shape[0], dtype=torch.bool, device=first.device)
        )

    def with_dropout(self, p: float, generator: torch.Generator | None = None) -> Cond:
        """Drop the conditioning of each sample with probability `p` (CFG training)."""
        first = self._first()
        if first is None or p <= 0:
            return self
        drop = torch.rand(first.shape[0], generator=generator).to(first.device) < p
        if self.dropped is not None:
            drop = drop | self.dropped
        return replace(self, dropped=drop)

    def to(self, device: torch.device | str) -> Cond:
        return Cond(**{f.name: _to(getattr(self, f.name), device) for f in fields(self)})

    def cat(self, other: Cond) -> Cond:
        """This batch followed by `other` (B + B', ...): both must set the same fields, except
        `dropped`, which a side without it fills with False."""
        values = {}
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if f.name == "dropped" and (a is None) != (b is None):
                a = a if a is not None else torch.zeros(self.batch_size or 0, dtype=torch.bool)
                b = b if b is not None else torch.zeros(other.batch_size or 0, dtype=torch.bool)
                a, b = a.to(b.device), b.to(a.device)
            if (a is None) != (b is None):
                raise ValueError(f"Cond.cat: field {f.name!r} is set on one side only")
            values[f.name] = None if a is None else torch.cat([a, b])
        return Cond(**values)

    def index(self, idx: slice | Tensor) -> Cond:
        """The sub-batch `idx` of every field."""
        return Cond(**{f.name: _index(getattr(self, f.name), idx) for f in fields(self)})


def _to(t: Tensor | None, device: torch.device | str) -> Tensor | None:
    return None if t is None else t.to(device)


def _index(t: Tensor | None, idx: slice | Tensor) -> Tensor | None:
    return None if t is None else t[idx]
