"""JsonConfig: the JSON round trip and nested overrides every config class inherits."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.train import TrainConfig


@dataclass(frozen=True)
class _Spec(JsonConfig):
    name: str = "run"
    sizes: tuple[int, ...] = (1, 2)
    train: TrainConfig = TrainConfig(steps=50, lr=3e-4)


def test_round_trip_through_json():
    spec = _Spec(name="x", sizes=(3,), train=TrainConfig(steps=7, betas=(0.8, 0.9)))
    assert _Spec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_merged_keeps_the_unnamed_fields_of_a_nested_config():
    spec = _Spec().merged({"train": {"lr": 1e-4}})
    assert spec.train.lr == 1e-4
    assert spec.train.steps == 50  # this spec's value, not TrainConfig's default (1000)
    assert spec.name == "run" and spec.sizes == (1, 2)


def test_from_dict_reads_a_whole_config_with_class_defaults():
    spec = _Spec.from_dict({"train": {"lr": 1e-4}})
    assert spec.train.steps == TrainConfig().steps


def test_replace_and_errors_name_the_source():
    assert _Spec().replace(name="y").name == "y"
    with pytest.raises(ConfigError, match=r"--config\.train: unknown field\(s\) lrr"):
        _Spec().merged({"train": {"lrr": 1}}, where="--config")
    with pytest.raises(ConfigError, match="--config: expected a JSON object"):
        _Spec().merged([1], where="--config")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"name": 3}, r"--config\.name: expected a string, got 3"),
        ({"sizes": "12"}, r"--config\.sizes: expected a list, got '12'"),
        ({"sizes": [1, "x"]}, r"--config\.sizes\[1\]: expected an integer, got 'x'"),
        ({"sizes": [1.5]}, r"--config\.sizes\[0\]: expected an integer, got 1\.5"),
        ({"train": {"lr": "fast"}}, r"--config\.train\.lr: expected a number, got 'fast'"),
        ({"train": {"steps": True}}, r"--config\.train\.steps: expected an integer, got True"),
        ({"train": {"betas": [0.9]}}, r"--config\.train\.betas: expected a list of 2"),
        ({"train": {"grad_clip": "x"}}, r"--config\.train\.grad_clip: expected a number or null"),
        ({"train": [1, 2]}, r"--config\.train: expected a JSON object, got list"),
        ({"train": {"ema_warmup": 1}}, r"--config\.train\.ema_warmup: expected true or false"),
        ({"name": None}, r"--config\.name: expected a string, got None"),
    ],
)
def test_a_wrong_typed_field_is_named_with_what_was_expected(override, message):
    with pytest.raises(ConfigError, match=message):
        _Spec().merged(override, where="--config")


def test_json_numbers_take_the_field_type():
    spec = _Spec().merged({"train": {"lr": 1, "steps": 20.0}})
    assert spec.train.lr == 1.0 and isinstance(spec.train.lr, float)
    assert spec.train.steps == 20 and isinstance(spec.train.steps, int)


def test_name_index_takes_a_name_or_an_id_and_names_the_argument():
    import numpy as np

    from polydit.core.names import name_index

    names = ("zero", "one", "two")
    picks = [name_index(v, names, argument="label") for v in ("one", 2, "0", np.int64(1))]
    assert picks == [1, 2, 0, 1]
    for bad in ("three", 3, -1, "x1", 1.7, True, None, [1]):
        with pytest.raises(ConfigError, match=r"^voice .* is not one of this model's voices"):
            name_index(bad, names, argument="voice", what="voices")


def test_lazy_attributes_import_on_first_use_and_name_the_package():
    from polydit.core.dit import DiT
    from polydit.core.lazy import lazy_attributes

    getattr_ = lazy_attributes("polydit.core", {"DiT": "dit"})
    assert getattr_("DiT") is DiT
    with pytest.raises(AttributeError, match=r"module 'polydit\.core' has no attribute 'Nope'"):
        getattr_("Nope")
