"""polydit-molecule: all-atom generation of 3D molecules (QM9) and crystals, ADiT-style.

The molecule kind lives at the package root; :mod:`polydit.molecule.crystal` and
:mod:`polydit.molecule.joint` hold the crystal and the joint kinds, each with the same modules
(codec, data, pipeline, train...).

from polydit.molecule import evaluate, load_pretrained
gen = load_pretrained()              # the shipped QM9 model
mols = gen.sample(10, seed=0)        # RDKit Mols with 3D conformers and perceived bonds
cry = load_pretrained("crystals")    # the shipped crystal model
structures = cry.sample(10, seed=0)  # pymatgen Structures (None: lattice not a real cell)
joint = load_pretrained("joint")     # the joint molecule + crystal model (class label = kind)
mols = joint.sample(10, seed=0, kind="molecule")  # or kind="crystal" → Structures
evaluate(mols)                       # EDM metrics of RDKit Mols with 3D conformers
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from polydit.core.lazy import import_object

if TYPE_CHECKING:
    from polydit.molecule.crystal.pipeline import CrystalGenerator
    from polydit.molecule.evaluation import evaluate, training_smiles
    from polydit.molecule.joint.pipeline import JointGenerator
    from polydit.molecule.pipeline import MoleculeGenerator

__all__ = [
    "GENERATORS",
    "PRETRAINED",
    "CrystalGenerator",
    "JointGenerator",
    "MoleculeGenerator",
    "evaluate",
    "load_pretrained",
    "model_kind",
    "training_smiles",
]

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
#: The generator class of each kind of model, by the "kind" its config.json stores.
GENERATORS = {
    "molecule": "polydit.molecule.pipeline:MoleculeGenerator",
    "crystal": "polydit.molecule.crystal.pipeline:CrystalGenerator",
    "joint": "polydit.molecule.joint.pipeline:JointGenerator",
}
#: What the package face imports on first use (torch and RDKit stay unloaded until then).
LAZY = {
    **{target.rpartition(":")[2]: target for target in GENERATORS.values()},
    "evaluate": "polydit.molecule.evaluation:evaluate",
    "training_smiles": "polydit.molecule.evaluation:training_smiles",
}


def model_kind(model_dir: str | Path) -> str:
    """ "molecule", "crystal" or "joint": the "kind" of a pretrained directory's config.json
    ("molecule" when unreadable: loading then reports the real problem)."""
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return "molecule"
    kind = config.get("kind", "molecule") if isinstance(config, dict) else "molecule"
    return kind if kind in GENERATORS else "molecule"


def load_pretrained(
    name: str | Path = "qm9", device: str = "cpu"
) -> MoleculeGenerator | CrystalGenerator | JointGenerator:
    """A shipped model by name (a directory of pretrained/) or a pretrained directory path: a
    MoleculeGenerator, a CrystalGenerator or, for a joint model, a JointGenerator."""
    from polydit.core.hub import resolve_pretrained

    path = resolve_pretrained(name, PRETRAINED)
    return import_object(GENERATORS[model_kind(path)]).from_pretrained(path, device=device)


def __getattr__(name: str) -> Any:
    if name in LAZY:
        return import_object(LAZY[name])
    raise AttributeError(name)
