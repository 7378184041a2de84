"""Small valid files written by our own writers (or, for formats we only read, by the library
we read them with): the seeds that tests/test_fuzz.py mutates.

Each builder writes its file(s) under a directory and returns the path of the file to mutate.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

#: a builder writes a valid seed under the given directory and returns the file to mutate
SeedBuilder = Callable[[Path], Path]

WATER = (["O", "H", "H"], np.array([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]]))
_C, _H = 0.0, 0.63
METHANE = (
    ["C", "H", "H", "H", "H"],
    np.array([[_C, _C, _C], [_H, _H, _H], [-_H, -_H, _H], [-_H, _H, -_H], [_H, -_H, -_H]]),
)


def sdf(root: Path) -> Path:
    from polydit.molecule.io import to_rdkit, write_sdf

    return write_sdf(root / "seed.sdf", [to_rdkit(*WATER), to_rdkit(*METHANE)])


def xyz(root: Path) -> Path:
    from polydit.molecule.io import write_xyz

    return write_xyz(root / "seed.xyz", [WATER, METHANE])


def cif(root: Path) -> Path:
    from pymatgen.core import Lattice, Structure

    from polydit.molecule.crystal.io import write_cif

    salt = Structure(Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    return write_cif(root / "seed.cif", salt)


def _graphs() -> list:
    import networkx as nx

    return [nx.cycle_graph(5), nx.path_graph(3)]


def graphml(root: Path) -> Path:
    from polydit.graph.io import write_graphml

    return write_graphml(root / "seed.graphml", _graphs())


def edgelist(root: Path) -> Path:
    from polydit.graph.io import write_edgelist

    return write_edgelist(root / "seed.edgelist", _graphs())


def ply(root: Path) -> Path:
    from polydit.pointcloud.io import write_ply

    points = np.random.default_rng(0).normal(size=(48, 3)).astype(np.float32)
    return write_ply(root / "seed.ply", points)


def _mesh(suffix: str) -> SeedBuilder:
    """A unit box exported by trimesh (we read these formats, we do not write them)."""

    def build(root: Path) -> Path:
        import trimesh

        path = root / f"seed{suffix}"
        trimesh.creation.box().export(path)
        return path

    return build


obj, off, stl = _mesh(".obj"), _mesh(".off"), _mesh(".stl")


def _tone() -> np.ndarray:
    return (0.5 * np.sin(np.arange(800) * 0.05)).astype(np.float32)


def wav(root: Path) -> Path:
    import torch

    from polydit.audio.io import write_wav

    return write_wav(root / "seed.wav", torch.from_numpy(_tone()), 8000)


def wav_float(root: Path) -> Path:
    """A 32-bit float WAV (soundfile's; we write 16-bit PCM only)."""
    import soundfile as sf

    path = root / "seed.wav"
    sf.write(path, _tone(), 8000, subtype="FLOAT")
    return path


def flac(root: Path) -> Path:
    import soundfile as sf

    path = root / "seed.flac"
    sf.write(path, _tone(), 8000, format="FLAC")
    return path


def _clip() -> np.ndarray:
    """A (T, C, H, W) = (3, 1, 4, 4) clip in [0, 1]."""
    return np.random.default_rng(0).uniform(0, 1, (3, 1, 4, 4)).astype(np.float32)


def gif(root: Path) -> Path:
    from polydit.video.io import write_gif

    return write_gif(root / "seed.gif", _clip())


def mp4(root: Path) -> Path:
    from polydit.video.io import write_mp4

    return write_mp4(root / "seed.mp4", _clip(), scale=2)


def png(root: Path) -> Path:
    from polydit.image.io import png_bytes

    path = root / "digits" / "seed.png"
    path.parent.mkdir(parents=True)
    pixels = np.random.default_rng(0).integers(0, 256, (6, 6), dtype=np.uint8)
    path.write_bytes(png_bytes(pixels))
    return path


def episode(seed: int = 0, task: str = "push-v3", obs_dim: int = 39, action_dim: int = 4):
    from polydit.policy.io import Episode

    rng = np.random.default_rng(seed)
    return Episode(
        task=task,
        observations=rng.normal(size=(5, obs_dim)).astype(np.float32),
        actions=rng.uniform(-1, 1, (5, action_dim)).astype(np.float32),
        success=True,
        seed=seed,
        action_noise=0.1,
    )


def episode_arrays() -> dict[str, np.ndarray]:
    """The arrays :func:`polydit.policy.io.save_episode` writes for :func:`episode`."""
    ep = episode()
    return {
        "format": np.int64(1),
        "task": np.str_(ep.task),
        "observations": ep.observations,
        "actions": ep.actions,
        "success": np.bool_(ep.success),
        "seed": np.int64(ep.seed),
        "action_noise": np.float64(ep.action_noise),
    }


def npz(root: Path) -> Path:
    from polydit.policy.io import save_episode

    return save_episode(root / "seed.npz", episode())


def _lerobot(root: Path) -> Path:
    from polydit.policy.lerobot import export_lerobot

    out = root / "dataset"
    export_lerobot([episode(0), episode(1, "reach-v3")], out)
    return out


def lerobot_info(root: Path) -> Path:
    return _lerobot(root) / "meta" / "info.json"


def lerobot_episodes(root: Path) -> Path:
    return _lerobot(root) / "meta" / "episodes.jsonl"


def lerobot_parquet(root: Path) -> Path:
    return next((_lerobot(root) / "data").rglob("*.parquet"))


#: fields of meta/info.json, episodes.jsonl and tasks.jsonl that load_lerobot reads
LEROBOT_KEYS = (
    "codebase_version", "data_path", "chunks_size", "episode_index", "task_index", "task",
    "metaworld_task", "seed", "success", "action_noise", "tasks", "length",
)  # fmt: skip


def set_json_field(path: Path, key: str, value: object) -> None:
    """Set `key` to `value` in the JSON object of `path` (every line's, for .jsonl)."""
    import json

    def change(record: dict) -> dict:
        return {**record, key: value}

    if path.suffix == ".jsonl":
        rows = [change(json.loads(line)) for line in path.read_text().splitlines() if line]
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    else:
        path.write_text(json.dumps(change(json.loads(path.read_text()))))
