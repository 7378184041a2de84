"""polydit-policy: diffusion-transformer robot policies in MuJoCo (MetaWorld).

``from polydit.policy import PolicyGenerator; PolicyGenerator.from_pretrained("mt10-dit")``
(or :func:`load_pretrained`, which also loads the MLP-BC baselines); importing the package
imports no torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from polydit.core.lazy import lazy_attributes

if TYPE_CHECKING:
    from polydit.policy.baselines import MLPBaseline
    from polydit.policy.pipeline import PolicyGenerator

__all__ = ["DEFAULT_MODEL", "PACKAGE", "PRETRAINED", "PolicyGenerator", "load_pretrained"]
__getattr__ = lazy_attributes(__name__, {"PolicyGenerator": "pipeline"})

PACKAGE = "polydit-policy"
PRETRAINED = Path(__file__).resolve().parent / "pretrained"
DEFAULT_MODEL = "mt10-dit"


def load_pretrained(
    model: str | Path = DEFAULT_MODEL, device: str = "cpu", flag: str = "model"
) -> PolicyGenerator | MLPBaseline:
    """A shipped model by name (a directory of pretrained/) or a pretrained directory path: the
    policy DiT, or an MLP-BC baseline where its config.json says kind "mlp_bc" (always on the
    CPU). `flag` names the option in the error for a model that does not exist."""
    from polydit.core.hub import load_pretrained as read_pretrained
    from polydit.core.hub import package_version, resolve_pretrained

    directory = resolve_pretrained(model, PRETRAINED, flag)
    config, state = read_pretrained(directory, package=PACKAGE, version=package_version(PACKAGE))
    where = f"{directory}/config.json"
    if config.get("kind") == "mlp_bc":
        from polydit.policy.baselines import MLPBaseline

        return MLPBaseline.from_config(config, state, where=where)
    from polydit.policy.pipeline import PolicyGenerator

    return PolicyGenerator.from_config(
        config, state, device=device, where=where, weights=f"{directory}/model.safetensors"
    )
