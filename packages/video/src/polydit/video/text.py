"""Prompt conditioning of text models: MiniLM token states of captions as MM-DiT context.

The encoder is the core's offline all-MiniLM-L6-v2 (:mod:`polydit.core.text_encoder`, the
optional extra ``polydit-video[text]``). Training draws captions from the fixed vocabulary of
:mod:`polydit.video.captions`, so :class:`CaptionBank` encodes every caption once, up front.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from polydit.core.text_encoder import token_features
from polydit.video.captions import all_captions

INSTALL_HINT = "text conditioning needs the optional extra: pip install 'polydit-video[text]'"


def encode_prompts(prompts: Sequence[str]) -> tuple[Tensor, Tensor]:
    """(features (B, M, 384), mask (B, M) bool) of `prompts`, zero-padded to the longest."""
    return token_features(prompts, INSTALL_HINT)


class CaptionBank:
    """Every caption of the vocabulary encoded once: ``bank.context(ids)`` is the (features
    (B, M, 384), mask (B, M)) of caption ids (B,) into :attr:`captions`."""

    def __init__(self) -> None:
        self.captions = all_captions()
        self.features, self.mask = encode_prompts(self.captions)  # (K, M, 384), (K, M)

    def context(self, ids: Tensor) -> tuple[Tensor, Tensor]:
        rows = ids.cpu()
        return self.features[rows].to(ids.device), self.mask[rows].to(ids.device)
