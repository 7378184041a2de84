"""2D depictions of generated molecules (RDKit drawing), written atomically as PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from polydit.core.atomic import atomic_write
from polydit.molecule.chem import quiet_rdkit
from polydit.molecule.io import CANONICAL_SMILES_PROP, SMILES_PROP, VALID_PROP

PANEL = (260, 220)


def legend(mol) -> str:
    """The caption of one panel: its canonical heavy-atom SMILES (else the SMILES written with
    it), "· N fragments" when it falls apart, or 'invalid' with its formula."""
    from rdkit import Chem
    from rdkit.Chem.rdMolDescriptors import CalcMolFormula

    if mol.HasProp(VALID_PROP) and not mol.GetIntProp(VALID_PROP):
        mol.UpdatePropertyCache(strict=False)
        return f"invalid ({CalcMolFormula(mol)})"
    for prop in (CANONICAL_SMILES_PROP, SMILES_PROP):
        if mol.HasProp(prop) and mol.GetProp(prop):
            fragments = len(Chem.GetMolFrags(mol))
            apart = f" · {fragments} fragments" if fragments > 1 else ""
            return mol.GetProp(prop) + apart
    return ""


def draw_grid(path: str | Path, mols: Sequence, columns: int = 4) -> Path:
    """A PNG grid of 2D depictions (hydrogens hidden) with captions."""
    from rdkit import Chem
    from rdkit.Chem import Draw

    shown = []
    for mol in mols:
        copy = Chem.Mol(mol)
        copy.RemoveAllConformers()
        try:
            with quiet_rdkit():
                copy = Chem.RemoveHs(copy, sanitize=False)
        except Exception:  # RDKit raises bare RuntimeErrors for odd valences; keep the Hs then
            copy = Chem.Mol(mol)
            copy.RemoveAllConformers()
        shown.append(copy)
    image = Draw.MolsToGridImage(
        shown,
        molsPerRow=min(columns, len(shown)),
        subImgSize=PANEL,
        legends=[legend(m) for m in mols],
        returnPNG=True,
    )
    return atomic_write(path, lambda f: f.write(image))
