"""The Python API's plain arguments: a wrong value is our error naming the argument."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from polydit.core import arguments
from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.pipeline import Pipeline, SamplingConfig
from polydit.core.process import FlowMatching
from polydit.core.tokens import Tokens


@pytest.mark.parametrize("bad", ["4", 2.0, True, 0, -3, None, [4]])
def test_a_count_is_a_whole_number_of_at_least_one(bad) -> None:
    with pytest.raises(ConfigError, match=r"^num: expected a whole number ≥ 1, got "):
        arguments.count(bad)


def test_counts_and_seeds_take_python_and_numpy_integers() -> None:
    assert (
        arguments.count(np.int64(3)) == 3
        and arguments.seed(arguments.MAX_SEED) == arguments.MAX_SEED
    )
    with pytest.raises(ConfigError, match="seed: expected a whole number in 0…"):
        arguments.seed(arguments.MAX_SEED + 1)


def test_generate_names_a_bad_seed() -> None:
    pipe = Pipeline(
        DiT(DiTConfig.preset("tiny", in_dim=2)), FlowMatching(), SamplingConfig(steps=1)
    )
    with pytest.raises(ConfigError, match=r"seed: .* got '1' \(str\)"):
        pipe.generate(Tokens(torch.zeros(1, 3, 2)), seed="1")
