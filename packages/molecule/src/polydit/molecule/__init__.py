"""polydit-molecule: all-atom generation of 3D molecules (QM9), ADiT-style.

from polydit.molecule import MoleculeGenerator, load_pretrained
gen = load_pretrained()              # the shipped QM9 model
mols = gen.sample(10, seed=0)        # RDKit Mols with 3D conformers and perceived bonds
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from polydit.molecule.pipeline import MoleculeGenerator

__all__ = ["PRETRAINED", "MoleculeGenerator", "load_pretrained"]

PRETRAINED = Path(__file__).resolve().parent / "pretrained"


def load_pretrained(name: str = "qm9", device: str = "cpu") -> MoleculeGenerator:
    """A shipped model by name (a directory of pretrained/) or a pretrained directory path."""
    from polydit.molecule.pipeline import MoleculeGenerator

    path = Path(name) if Path(name).is_dir() else PRETRAINED / name
    return MoleculeGenerator.from_pretrained(path, device=device)


def __getattr__(name: str):
    if name == "MoleculeGenerator":
        from polydit.molecule.pipeline import MoleculeGenerator

        return MoleculeGenerator
    raise AttributeError(name)
