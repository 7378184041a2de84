"""Property-based fuzzing of every file parser we wrote (issue 21).

Each target starts from a small valid file (tests/fuzz_seeds.py: from our writers, or from
trimesh / soundfile for the formats we only read), applies a few hypothesis mutations — byte
flips, truncation, inserted and deleted byte runs and, for text formats, dropped / repeated / swapped lines, swapped fields and numbers replaced by
nan, inf, huge, negative or non-numeric tokens — and reads it back. The reader must either
return a valid result (the target's check) or raise our error type
(:class:`~polydit.core.errors.PolyditError`) naming the file; any other exception, or a read
that runs longer than :data:`HANG_SECONDS`, fails. Examples are derandomized, so CI is
deterministic; the ``slow`` twin runs many more. Two more properties write NPZ arrays and
LeRobot JSON fields of any type. What it found is fixed, each with a regression test beside
its parser's tests.
"""

from __future__ import annotations

import re
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fuzz_seeds as seeds
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as npst

from polydit.core.errors import PolyditError
from polydit.policy.io import KEYS as EPISODE_KEYS

FAST_EXAMPLES = 100  # per target: the whole file runs in about a minute on one loaded core
SLOW_EXAMPLES = 1000
DEADLINE_MS = 2000
HANG_SECONDS = 20  # a read this long is a hang, not a slow example
WEIRD_NUMBERS = (
    "nan", "-nan", "inf", "-inf", "1e309", "-1", "0", "-0", "1e-320", "99999999999999999999",
    "-2147483649", "4294967296", "x", "", "1,5", "0x1F", "\xe9",
)  # fmt: skip
NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


# --- what a valid result is -----------------------------------------------------------------


def _finite(*arrays: Any) -> bool:
    return all(np.isfinite(np.asarray(a, dtype=np.float64)).all() for a in arrays)


def _molecules(result: Any) -> None:
    data, _ = result
    assert len(data) >= 1 and data.coords.shape[0] == len(data) and _finite(data.coords)
    assert (data.num_atoms >= 1).all() and (data.num_atoms <= data.coords.shape[1]).all()


def _crystals(result: Any) -> None:
    data, _ = result
    assert len(data) >= 1
    assert all(_finite(v.numpy()) for v in data.arrays.values()), data.arrays


def _graphs(result: Any) -> None:
    data, _ = result
    assert len(data) >= 1
    for graph in data:
        assert sorted(graph.nodes) == list(range(graph.number_of_nodes()))
        assert graph.number_of_nodes() >= 1 and not graph.is_directed()
        assert not graph.is_multigraph() and not any(u == v for u, v in graph.edges)


def _points(count: int | None) -> Callable[[Any], None]:
    def check(points: Any) -> None:
        assert points.dtype == np.float32 and points.ndim == 2 and points.shape[1] == 3
        assert len(points) >= 1 and (count is None or len(points) == count) and _finite(points)

    return check


def _audio(result: Any) -> None:
    wave, rate = result
    assert wave.dtype.is_floating_point and wave.dim() == 1 and len(wave) >= 1 and rate > 0
    assert _finite(wave.numpy()) and float(wave.abs().max()) <= 1.0


def _clip(clip: Any) -> None:
    assert clip.shape == (4, 1, 8, 8) and clip.dtype == np.float32
    assert _finite(clip) and clip.min() >= 0 and clip.max() <= 1


def _images(result: Any) -> None:
    data, _ = result
    assert tuple(data.images.shape) == (1, 1, 8, 8)
    assert _finite(data.images.numpy()) and data.images.abs().max() <= 1


def _episode(episode: Any) -> None:
    obs, act = episode.observations, episode.actions
    assert obs.dtype == act.dtype == np.float32 and obs.ndim == act.ndim == 2
    assert len(obs) == len(act) >= 1 and _finite(obs, act)
    assert isinstance(episode.task, str) and isinstance(episode.seed, int)
    assert isinstance(episode.success, bool) and np.isfinite(episode.action_noise)


def _episodes(episodes: Any) -> None:
    assert len(episodes) >= 1
    for episode in episodes:
        _episode(episode)


# --- the targets ----------------------------------------------------------------------------


def _molecule_file(path: Path) -> Any:
    from polydit.molecule.data import load_molecule_file

    return load_molecule_file(path)


def _crystal_file(path: Path) -> Any:
    from polydit.molecule.crystal.data import load_crystals

    return load_crystals(str(path))


def _graph_file(path: Path) -> Any:
    from polydit.graph.data import load_files

    return load_files(path)


def _shape(path: Path) -> Any:
    from polydit.pointcloud.io import read_shape

    return read_shape(path, 32)


def _ply(path: Path) -> Any:
    from polydit.pointcloud.io import read_ply

    return read_ply(path)


def _audio_file(path: Path) -> Any:
    from polydit.audio.io import read_audio

    return read_audio(path)


def _clip_file(path: Path) -> Any:
    from polydit.video.data import load_clip

    return load_clip(path, 4, 8, 1)


def _image_folder(path: Path) -> Any:
    from polydit.image.data import load_folder

    return load_folder(path.parents[1], 8, 1)


def _episode_file(path: Path) -> Any:
    from polydit.policy.io import load_episode

    return load_episode(path)


def _lerobot(path: Path) -> Any:
    from polydit.policy.lerobot import load_lerobot

    return load_lerobot(next(p for p in path.parents if p.name == "dataset"))


@dataclass(frozen=True)
class Target:
    """A parser under fuzzing: its seed, how the mutated file is read, what a valid result
    is, whether line-level mutations apply, and what its errors must name."""

    seed: seeds.SeedBuilder
    read: Callable[[Path], Any]
    check: Callable[[Any], None]
    text: bool = False
    needle: str | None = None  # default: the mutated file's name


TARGETS: dict[str, Target] = {
    "sdf": Target(seeds.sdf, _molecule_file, _molecules, text=True),
    "xyz": Target(seeds.xyz, _molecule_file, _molecules, text=True),
    "cif": Target(seeds.cif, _crystal_file, _crystals, text=True),
    "graphml": Target(seeds.graphml, _graph_file, _graphs, text=True),
    "edgelist": Target(seeds.edgelist, _graph_file, _graphs, text=True),
    "ply-shape": Target(seeds.ply, _shape, _points(32)),
    "ply-points": Target(seeds.ply, _ply, _points(None)),
    "obj": Target(seeds.obj, _shape, _points(32), text=True),
    "off": Target(seeds.off, _shape, _points(32), text=True),
    "stl": Target(seeds.stl, _shape, _points(32)),
    "wav": Target(seeds.wav, _audio_file, _audio),
    "wav-float": Target(seeds.wav_float, _audio_file, _audio),
    "flac": Target(seeds.flac, _audio_file, _audio),
    "gif": Target(seeds.gif, _clip_file, _clip),
    "mp4": Target(seeds.mp4, _clip_file, _clip),
    "png": Target(seeds.png, _image_folder, _images),
    "npz": Target(seeds.npz, _episode_file, _episode),
    "lerobot-info": Target(seeds.lerobot_info, _lerobot, _episodes, True, "dataset"),
    "lerobot-episodes": Target(seeds.lerobot_episodes, _lerobot, _episodes, True, "dataset"),
    "lerobot-parquet": Target(seeds.lerobot_parquet, _lerobot, _episodes, needle="dataset"),
}
# --- mutations ------------------------------------------------------------------------------

OFFSET = st.integers(0, 1 << 20)
BYTE_EDITS = (
    st.tuples(st.just("flip"), OFFSET, st.integers(1, 255)),
    st.tuples(st.just("cut"), OFFSET),
    st.tuples(st.just("insert"), OFFSET, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), OFFSET, st.integers(1, 64)),
)
LINE_EDITS = (
    st.tuples(st.just("drop-line"), OFFSET),
    st.tuples(st.just("repeat-line"), OFFSET),
    st.tuples(st.just("swap-lines"), OFFSET, OFFSET),
    st.tuples(st.just("swap-fields"), OFFSET, OFFSET, OFFSET),
    st.tuples(st.just("number"), OFFSET, st.sampled_from(WEIRD_NUMBERS)),
)


def edits(text: bool) -> st.SearchStrategy[list[tuple]]:
    """1–4 mutations; line-level ones too for text formats."""
    kinds = BYTE_EDITS + LINE_EDITS if text else BYTE_EDITS
    return st.lists(st.one_of(*kinds), min_size=1, max_size=4)


def mutate(data: bytes, edit: tuple) -> bytes:
    """`data` with one mutation applied (offsets wrap around the current size)."""
    kind, *args = edit
    at = args[0] % (len(data) + 1)
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ args[1]]) + data[at + 1 :] if data[at:] else data
    if kind == "cut":
        return data[:at]
    if kind == "insert":
        return data[:at] + args[1] + data[at:]
    if kind == "delete":
        return data[:at] + data[at + args[1] :]
    if kind == "number":
        found = list(NUMBER.finditer(data))
        if not found:
            return data
        hit = found[args[0] % len(found)]
        return data[: hit.start()] + args[1].encode("latin-1") + data[hit.end() :]
    lines = data.split(b"\n")
    i = args[0] % len(lines)
    if kind == "drop-line":
        del lines[i]
    elif kind == "repeat-line":
        lines.insert(i, lines[i])
    elif kind == "swap-lines":
        j = args[1] % len(lines)
        lines[i], lines[j] = lines[j], lines[i]
    else:  # swap-fields
        fields = lines[i].split(b" ")
        a, b = args[1] % len(fields), args[2] % len(fields)
        fields[a], fields[b] = fields[b], fields[a]
        lines[i] = b" ".join(fields)
    return b"\n".join(lines)


# --- the property ---------------------------------------------------------------------------


class Hang(Exception):
    """A read ran longer than HANG_SECONDS."""


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise Hang(f"the read ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def seed_dirs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], tuple[Path, Path]]:
    """seed_dirs(name) → (a directory holding target `name`'s valid seed, the file's path
    relative to it), built once per module; the seed is read and checked once (which also
    keeps the reader's imports out of the first example's time)."""
    built: dict[str, tuple[Path, Path]] = {}

    def get(name: str) -> tuple[Path, Path]:
        if name not in built:
            root = tmp_path_factory.mktemp(name)
            path = TARGETS[name].seed(root)
            TARGETS[name].check(TARGETS[name].read(path))
            built[name] = (root, path.relative_to(root))
        return built[name]

    return get


@pytest.fixture
def seed(name: str, seed_dirs: Callable[[str], tuple[Path, Path]]) -> tuple[Path, Path]:
    """The parametrised target's seed, built before hypothesis times the first example."""
    return seed_dirs(name)


def check_mutant(name: str, seed: tuple[Path, Path], edit_list: list) -> None:
    """Read target `name`'s seed (directory, file relative to it) mutated by `edit_list`: a
    valid result or our error naming the file."""
    root, relative = seed
    data = (root / relative).read_bytes()
    for edit in edit_list:
        data = mutate(data, edit)
    check_bytes(name, seed, data)


def check_bytes(name: str, seed: tuple[Path, Path], data: bytes) -> None:
    """Read a copy of target `name`'s seed directory whose file holds `data`."""
    target = TARGETS[name]
    root, relative = seed
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(root, tmp, dirs_exist_ok=True)
        path = Path(tmp) / relative
        path.write_bytes(data)
        try:
            with time_limit(HANG_SECONDS):
                result = target.read(path)
        except PolyditError as e:
            needle = target.needle or path.name
            assert needle in str(e), f"the error does not name {needle!r}: {e}"
            return
        target.check(result)


def _fuzz(examples: int) -> Callable:
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=DEADLINE_MS,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],  # a loaded CI core
    )


#: each property runs FAST_EXAMPLES examples, and SLOW_EXAMPLES in its `slow` twin
BUDGETS = [
    pytest.param(FAST_EXAMPLES, id="fast"),
    pytest.param(SLOW_EXAMPLES, id="many", marks=pytest.mark.slow),
]


def _runs() -> list:
    """(target, examples) for every target and budget."""
    return [
        pytest.param(name, *budget.values, id=f"{name}-{budget.id}", marks=budget.marks)
        for budget in BUDGETS
        for name in TARGETS
    ]


@pytest.mark.parametrize(("name", "examples"), _runs())
def test_a_mutated_file_is_read_or_refused_cleanly(
    name: str, examples: int, seed: tuple[Path, Path]
) -> None:
    @_fuzz(examples)
    @given(edit_list=edits(TARGETS[name].text))
    def fuzz(edit_list: list) -> None:
        check_mutant(name, seed, edit_list)

    fuzz()


# --- typed contents: arrays and JSON values of the wrong kind --------------------------------

ARRAYS = npst.arrays(
    dtype=st.sampled_from(["<i8", "<u1", "<f4", "<f8", "?", "<U4", "|S2", "<c8"]),
    shape=npst.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
)


def _containers(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    _containers,
    max_leaves=6,
)


@pytest.mark.parametrize("examples", BUDGETS)
def test_an_episode_with_other_arrays_is_read_or_refused_cleanly(examples: int) -> None:
    """An NPZ whose arrays have other dtypes or shapes (as another writer might leave)."""
    from polydit.policy.io import load_episode

    @_fuzz(examples)
    @given(st.dictionaries(st.sampled_from(EPISODE_KEYS), ARRAYS, min_size=1, max_size=3))
    def fuzz(replaced: dict[str, np.ndarray]) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "episode.npz"
            np.savez(path, **{**seeds.episode_arrays(), **replaced})
            try:
                episode = load_episode(path)
            except PolyditError as e:
                assert path.name in str(e), str(e)
                return
            _episode(episode)

    fuzz()


@pytest.mark.parametrize("examples", BUDGETS)
def test_a_lerobot_dataset_with_other_json_values_is_read_or_refused_cleanly(
    examples: int, seed_dirs: Callable[[str], tuple[Path, Path]]
) -> None:
    """meta/*.json(l) with one field (of every record) set to any JSON value."""
    from polydit.policy.lerobot import load_lerobot

    root, relative = seed_dirs("lerobot-info")
    dataset = root / relative.parents[1]

    @_fuzz(examples)
    @given(
        st.sampled_from(["info.json", "episodes.jsonl", "tasks.jsonl"]),
        st.sampled_from(seeds.LEROBOT_KEYS),
        JSON,
    )
    def fuzz(file: str, key: str, value: Any) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "dataset"
            shutil.copytree(dataset, copy)
            seeds.set_json_field(copy / "meta" / file, key, value)
            try:
                episodes = load_lerobot(copy)
            except PolyditError as e:
                assert str(copy) in str(e), str(e)
                return
            _episodes(episodes)

    fuzz()


def test_every_seed_is_read_as_valid(seed_dirs: Callable[[str], tuple[Path, Path]]) -> None:
    """Unmutated, every seed passes its target's check (so the property is not vacuous)."""
    for name in TARGETS:
        seed_dirs(name)


def test_the_mutations_change_the_bytes() -> None:
    data = b"3\nwater\nO 0.0 0.0 0.0\n"
    assert mutate(data, ("flip", 0, 1)) == b"2" + data[1:]
    assert mutate(data, ("cut", 5)) == data[:5]
    assert mutate(data, ("insert", 1, b"ab")) == b"3ab" + data[1:]
    assert mutate(data, ("delete", 0, 2)) == data[2:]
    assert mutate(data, ("drop-line", 1)) == b"3\nO 0.0 0.0 0.0\n"
    assert mutate(data, ("swap-fields", 2, 0, 1)) == b"3\nwater\n0.0 O 0.0 0.0\n"
    assert mutate(data, ("number", 1, "nan")) == b"3\nwater\nO nan 0.0 0.0\n"


def test_the_readme_quotes_the_fuzzing_as_it_is() -> None:
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    for quoted in (
        f"for {len(TARGETS)} parser targets",
        f"{FAST_EXAMPLES} derandomized hypothesis examples each ({SLOW_EXAMPLES:,} in the `slow`",
        "every example reads as a valid result or raises our error naming the file",
    ):
        assert quoted in readme, quoted
