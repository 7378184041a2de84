"""polydit-molecule: all-atom generation of 3D molecules (QM9) and crystals, ADiT-style.

from polydit.molecule import load_pretrained
gen = load_pretrained()              # the shipped QM9 model
mols = gen.sample(10, seed=0)        # RDKit Mols with 3D conformers and perceived bonds
cry = load_pretrained("crystals")    # the shipped crystal model
structures = cry.sample(10, seed=0)  # pymatgen Structures (None: lattice not a real cell)
joint = load_pretrained("joint")     # the joint molecule + crystal model (class label = kind)
mols = joint.sample(10, seed=0, kind="molecule")  # or kind="crystal" → Structures
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polydit.molecule.crystal_pipeline import CrystalGenerator
    from polydit.molecule.joint_pipeline import JointGenerator
    from polydit.molecule.pipeline import MoleculeGenerator

__all__ = [
    "PRETRAINED",
    "CrystalGenerator",
    "JointGenerator",
    "MoleculeGenerator",
    "load_pretrained",
]

PRETRAINED = Path(__file__).resolve().parent / "pretrained"


def load_pretrained(
    name: str | Path = "qm9", device: str = "cpu"
) -> MoleculeGenerator | CrystalGenerator | JointGenerator:
    """A shipped model by name (a directory of pretrained/) or a pretrained directory path: a
    MoleculeGenerator, a CrystalGenerator or, for a joint model, a JointGenerator."""
    from polydit.molecule.cli import model_kind

    path = Path(name) if Path(name).is_dir() else PRETRAINED / name
    kind = model_kind(path)
    if kind == "joint":
        from polydit.molecule.joint_pipeline import JointGenerator

        return JointGenerator.from_pretrained(path, device=device)
    if kind == "crystal":
        from polydit.molecule.crystal_pipeline import CrystalGenerator

        return CrystalGenerator.from_pretrained(path, device=device)
    from polydit.molecule.pipeline import MoleculeGenerator

    return MoleculeGenerator.from_pretrained(path, device=device)


def __getattr__(name: str):
    if name == "MoleculeGenerator":
        from polydit.molecule.pipeline import MoleculeGenerator

        return MoleculeGenerator
    if name == "JointGenerator":
        from polydit.molecule.joint_pipeline import JointGenerator

        return JointGenerator
    if name == "CrystalGenerator":
        from polydit.molecule.crystal_pipeline import CrystalGenerator

        return CrystalGenerator
    raise AttributeError(name)
