"""``generator(...)`` is ``generator.sample(...)`` (diffusers' ``pipe(...)``) on every shipped
DiT model of every installed domain, and every generator class has a main call to alias.

The policy's generator predicts action chunks from observations and has no ``sample``: there
``policy(...)`` is ``policy.predict(...)``.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from polydit.core.pipeline import Pipeline

SEED = 3
FAST = {"steps": 2}
#: extra keyword arguments of one shipped model's sample (a joint model samples one kind)
SAMPLE_KWARGS: dict[str, list[dict[str, Any]]] = {
    "molecule/joint": [{"kind": "molecule"}, {"kind": "crystal"}]
}
#: the generator classes whose main call is not `sample` (see the module docstring)
PREDICTORS = {"PolicyGenerator"}


def policy_inputs(generator: Any) -> tuple[Any, ...]:
    """(observation histories (2, n_obs, D) of zeros, the first task) for ``predict``."""
    codec = generator.codec
    return np.zeros((2, codec.n_obs, codec.obs_dim), np.float32), codec.tasks[0]


#: domain → (its generators' main method, its positional inputs for a batch of 2)
MAIN_CALL: dict[str, tuple[str, Any]] = {"policy": ("predict", policy_inputs)}


def domains() -> list[Any]:
    return [p.load() for p in sorted(entry_points(group="polydit.domains"), key=lambda p: p.name)]


def shipped_cases() -> list[Any]:
    """(domain, model directory, sample kwargs) for every shipped model that is a Pipeline."""
    cases = []
    for domain in domains():
        for name in domain.shipped_models():
            key = f"{domain.name}/{name}"
            directory = Path(domain.pretrained_root) / name
            for kwargs in SAMPLE_KWARGS.get(key, [{}]):
                label = key + "".join(f"-{v}" for v in kwargs.values())
                cases.append(pytest.param(domain, directory, kwargs, id=label))
    return cases


def generator_classes() -> list[Any]:
    """Every ``*Generator`` Pipeline subclass of the installed domains' ``*pipeline`` modules
    (not the bases they share, such as molecule's KindPipeline)."""
    for domain in domains():
        package = importlib.import_module(f"polydit.{domain.name}")
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if module.name.rsplit(".", 1)[-1].endswith("pipeline"):
                importlib.import_module(module.name)
    found, todo = {}, [Pipeline]
    while todo:
        for cls in todo.pop().__subclasses__():
            todo.append(cls)
            if cls.__module__.startswith("polydit.") and cls.__name__.endswith("Generator"):
                found[cls.__qualname__] = cls
    return [pytest.param(cls, id=name) for name, cls in sorted(found.items())]


def same(a: Any, b: Any) -> bool:
    """Equal outputs: tensors/arrays exactly, dataclasses and sequences field by field, RDKit
    molecules by their mol block, networkx graphs by nodes and edges with their data."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(
            same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if type(a).__module__.startswith("networkx"):
        import networkx as nx

        return nx.utils.graphs_equal(a, b)
    if type(a).__module__.startswith("rdkit"):
        from rdkit import Chem

        return Chem.MolToMolBlock(a) == Chem.MolToMolBlock(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("cls", generator_classes())
def test_every_generator_class_has_a_main_call(cls: type) -> None:
    """A sampling generator inherits the core alias of its `sample`; a predictor has its own."""
    if cls.__name__ in PREDICTORS:
        assert cls.__call__ is not Pipeline.__call__ and callable(cls.predict)
    else:
        assert cls.__call__ is Pipeline.__call__ and callable(cls.sample)


@pytest.mark.parametrize(("domain", "directory", "kwargs"), shipped_cases())
def test_calling_a_shipped_generator_is_its_main_call(
    domain: Any, directory: Path, kwargs: dict[str, Any]
) -> None:
    """``generator(2, seed=s)`` equals ``generator.sample(2, seed=s)`` (the policy: predict on
    2 observation histories), and differs from the draw of another seed."""
    generator = domain.load(directory, device="cpu", dtype="fp32")
    if not isinstance(generator, Pipeline):
        pytest.skip(f"{directory.name} is a baseline, not a DiT pipeline")
    method, inputs = MAIN_CALL.get(domain.name, ("sample", lambda _: (2,)))
    args = inputs(generator)
    main = getattr(generator, method)
    called = generator(*args, seed=SEED, **kwargs, **FAST)
    assert same(called, main(*args, seed=SEED, **kwargs, **FAST))
    assert not same(called, main(*args, seed=SEED + 1, **kwargs, **FAST))  # `same` can fail
