"""Warm starts (``train --init-from``): a fresh run whose network begins with a pretrained
model's weights (the optimiser, schedule and EMA start anew)."""

from __future__ import annotations

from pathlib import Path

from polydit.core.dit import DiT
from polydit.core.errors import ConfigError

#: DiT options that only add parameters when switched on: a model may turn them on over a donor
#: without them, and the added parameters keep their initialisation (zero for self-conditioning).
ADDITIVE_FIELDS = ("self_condition", "vector_dim", "num_classes")


def warm_start(model: DiT, donor: DiT, source: str | Path) -> list[str]:
    """Copy `donor`'s weights into `model`; return the names of the parameters that keep their
    fresh initialisation (those only an :data:`ADDITIVE_FIELDS` option adds).

    The two architectures must agree on every other config field; an error names the fields.
    """
    ours, theirs = model.config.to_dict(), donor.config.to_dict()
    differ = [
        k
        for k in ours
        if ours[k] != theirs.get(k) and not (k in ADDITIVE_FIELDS and not theirs.get(k))
    ]
    if type(model) is not type(donor):
        differ.append(f"network {type(donor).__name__} vs {type(model).__name__}")
    if differ:
        raise ConfigError(
            f"--init-from {source}: its architecture differs in "
            + ", ".join(
                f"{k} ({theirs.get(k)} there, {ours[k]} here)" if k in ours else k for k in differ
            )
        )
    state = donor.state_dict()
    mine = model.state_dict()
    for name, value in state.items():
        if name not in mine or mine[name].shape != value.shape:
            got = "absent" if name not in mine else tuple(mine[name].shape)
            raise ConfigError(
                f"--init-from {source}: parameter {name} {tuple(value.shape)} is {got} here"
            )
    missing = model.load_state_dict(state, strict=False).missing_keys
    return sorted(missing)
