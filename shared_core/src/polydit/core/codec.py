"""`Codec`: what every domain supplies between its data and the DiT's tokens.

A codec is a frozen :class:`~polydit.core.config.JsonConfig` dataclass, so its settings are its
identity: two codecs are compatible exactly when they are equal (a warm start checks this), and
``to_dict``/``from_dict`` are how a :class:`~polydit.core.pipeline.Pipeline` stores it in
``config.json``. Domains may add keyword arguments with defaults (an image size, a kind).
"""

from __future__ import annotations

from typing import Any, Protocol, Self, runtime_checkable

from torch import Tensor

from polydit.core.tokens import Tokens


@runtime_checkable
class Codec(Protocol):
    """Data ↔ :class:`Tokens`; the Pipeline owns one and serialises it generically."""

    def encode(self, batch: Any) -> Tokens:
        """A training batch of domain data → Tokens (x (B, N, C), pos, mask)."""
        ...

    def decode(self, x: Tensor, template: Tokens) -> Any:
        """Sampled features x (B, N, C) on `template`'s positions/mask → domain objects."""
        ...

    def template(self, num: int) -> Tokens:
        """Zero features with the positions/mask of `num` samples: what the sampler fills."""
        ...

    def to_dict(self) -> dict[str, Any]: ...

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "") -> Self: ...
