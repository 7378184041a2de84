"""The bad-input corpus: malformed inputs generated from valid ones by code (no hand-edited
binaries), each with the verb that reads it and what its one-line error must name.

Three families: broken copies of a domain's shipped model directory (fed to ``sample`` and
``info``), bad flags (fed to ``sample``), and malformed data files per domain (fed to ``data
show --data``). ``python tests/corpus/make.py DIR`` writes every data case into DIR to look at.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import wave
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: a builder writes its input under the given directory and returns (the --data / --model
#: argument, the text the error line must contain)
Builder = Callable[[Path], tuple[Path, str]]


@dataclass(frozen=True)
class BadInput:
    name: str
    build: Builder


# --- model directories ----------------------------------------------------------------------


def _rewrite_config(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def mutate(model: Path) -> None:
        config = json.loads((model / "config.json").read_text())
        change(config)
        (model / "config.json").write_text(json.dumps(config))

    return mutate


def _weights(data: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def mutate(model: Path) -> None:
        path = model / "model.safetensors"
        path.write_bytes(data(path.read_bytes()))

    return mutate


def _config_text(text: Callable[[str], str]) -> Callable[[Path], None]:
    def mutate(model: Path) -> None:
        path = model / "config.json"
        path.write_text(text(path.read_text()))

    return mutate


def _shape_mismatch(model: Path) -> None:
    """Re-save the weights with the first tensor's leading dimension one larger."""
    from safetensors.numpy import load_file, save_file

    tensors = load_file(model / "model.safetensors")
    first = sorted(tensors)[0]
    array = tensors[first]
    tensors[first] = np.concatenate([array, array[:1]]) if array.ndim else array
    save_file(tensors, model / "model.safetensors")
    config = json.loads((model / "config.json").read_text())
    config.pop("weights_sha256", None)  # so the shape, not the checksum, is what is caught
    (model / "config.json").write_text(json.dumps(config))


def _unlink_directory(model: Path) -> None:
    for path in model.iterdir():
        path.unlink()
    model.rmdir()


def _random(data: bytes) -> bytes:
    return np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8).tobytes()


#: (name, how a copy of the model directory is broken, what the error must name)
MODEL_CASES = [
    ("weights-empty", _weights(lambda d: b""), "model.safetensors"),
    ("weights-truncated", _weights(lambda d: d[: len(d) // 2]), "model.safetensors"),
    ("weights-random-bytes", _weights(_random), "model.safetensors"),
    ("weights-payload-flipped", _weights(lambda d: d[:-1] + bytes([d[-1] ^ 0xFF])), "SHA-256"),
    ("weights-shape-mismatch", _shape_mismatch, "model.safetensors"),
    ("config-truncated", _config_text(lambda t: t[: len(t) // 2]), "config.json"),
    ("config-not-json", _config_text(lambda t: "<html>not json</html>"), "config.json"),
    ("config-empty", _config_text(lambda t: ""), "config.json"),
    (
        "config-other-package",
        _rewrite_config(lambda c: c.update(package="polydit-other")),
        "polydit-other",
    ),
    ("config-future-version", _rewrite_config(lambda c: c.update(version="99.0.0")), "99.0.0"),
    ("config-unknown-field", _rewrite_config(lambda c: c.update(surprise=1)), "surprise"),
    ("config-array-not-object", _config_text(lambda t: "[1, 2, 3]"), "config.json"),
    ("directory-missing", _unlink_directory, "model"),
]

#: (name, sample flags, what the error must name, exit code)
FLAG_CASES = [
    ("num-zero", ["--num", "0"], "--num", 2),
    ("num-negative", ["--num", "-1"], "--num", 2),
    ("num-not-an-integer", ["--num", "1e9"], "--num", 2),
    ("steps-zero", ["--steps", "0"], "--steps", 2),
    ("sampler-unknown", ["--sampler", "nope"], "nope", 2),
    ("seed-negative", ["--seed", "-1"], "--seed", 2),
    ("seed-too-large", ["--seed", str(2**70)], "--seed", 2),
    ("device-unknown", ["--device", "tpu"], "tpu", 2),
    ("dtype-unknown", ["--dtype", "fp8"], "--dtype", 2),
    ("out-is-a-file", ["--out", "{file}"], "--out", 2),
    ("out-unwritable", ["--out", "/proc/polydit-corpus"], "--out", 1),
    ("out-under-a-file", ["--out", "{file}/sub"], "--out", 1),
]


# --- data files -----------------------------------------------------------------------------


def _file(relative: str, data: bytes | str, needle: str | None = None) -> Builder:
    """A data root holding one file at `relative` with `data`; the error names the file (or
    `needle`)."""

    def build(root: Path) -> tuple[Path, str]:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        top = root / relative.split("/")[0] if "/" in relative else path
        return top, needle or path.name

    return build


GARBAGE = np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes()


def png(width: int, height: int, depth: int = 8, pixels: bytes | None = None) -> bytes:
    """A grayscale PNG written chunk by chunk (so huge sizes cost only their zeros)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    row = 1 + width * depth // 8
    raw = pixels if pixels is not None else b"\0" * (row * height)
    header = struct.pack(">IIBBBBB", width, height, depth, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def wav(frames: np.ndarray, rate: int = 16000, channels: int = 1, width: int = 2) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(width)
        f.setframerate(rate)
        f.writeframes(frames.astype("<i2").tobytes())
    return buffer.getvalue()


TONE = (8000 * np.sin(np.arange(16000) * 0.05)).astype(np.int16)
GIF = (
    b"GIF89a\x02\x00\x02\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x00\x00\x00\x00\x00,"
    b"\x00\x00\x00\x00\x02\x00\x02\x00\x00\x02\x02D\x01\x00;"
)
NAN = float("nan")
WATER_XYZ = "3\nwater\nO 0.0 0.0 0.0\nH 0.96 0.0 0.0\nH -0.24 0.93 0.0\n"
NAN_PLY = (
    "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
    "property float z\nend_header\n0 0 0\nnan 1 0\n0 0 1\n"
)
CUT_GRAPHML = '<?xml version="1.0"?><graphml><graph edgedefault="undirected"><node id="0"/>'

DATA_CASES: dict[str, list[BadInput]] = {
    "image": [
        BadInput("png-garbage", _file("set/digits/a.png", GARBAGE)),
        BadInput("png-empty", _file("set/digits/a.png", b"")),
        BadInput("png-truncated", _file("set/digits/a.png", png(64, 64)[:40])),
        BadInput("png-decompression-bomb", _file("set/digits/bomb.png", png(20000, 20000))),
        BadInput("name-not-utf8", _file("set/digits/\udcff\udcfe.png", GARBAGE, "digits/\\udcff")),
    ],
    "video": [
        BadInput("gif-garbage", _file("clips/a.gif", GARBAGE)),
        BadInput("gif-empty", _file("clips/a.gif", b"")),
        BadInput("gif-truncated", _file("clips/a.gif", GIF[:20])),
        BadInput("mp4-garbage", _file("clips/a.mp4", GARBAGE)),
    ],
    "audio": [
        BadInput("wav-garbage", _file("sounds/word/a.wav", GARBAGE)),
        BadInput("wav-empty", _file("sounds/word/a.wav", b"")),
        BadInput("wav-truncated", _file("sounds/word/a.wav", wav(TONE)[:2000])),
        BadInput("wav-silent", _file("sounds/word/a.wav", wav(np.zeros(16000)))),
        BadInput("wav-stereo", _file("sounds/word/a.wav", wav(np.repeat(TONE, 2), channels=2))),
        BadInput("flac-garbage", _file("sounds/word/a.flac", GARBAGE)),
    ],
    "pointcloud": [
        BadInput("ply-garbage", _file("shapes/chair/a.ply", GARBAGE)),
        BadInput("ply-empty", _file("shapes/chair/a.ply", b"")),
        BadInput("ply-nan", _file("shapes/chair/a.ply", NAN_PLY)),
        BadInput("obj-no-geometry", _file("shapes/chair/a.obj", "# nothing here\n")),
        BadInput("off-garbage", _file("shapes/chair/a.off", GARBAGE)),
    ],
    "molecule": [
        BadInput("sdf-garbage", _file("m.sdf", GARBAGE)),
        BadInput("sdf-empty", _file("m.sdf", b"")),
        BadInput("xyz-nan", _file("m.xyz", WATER_XYZ.replace("0.96", "nan"))),
        BadInput("xyz-wrong-count", _file("m.xyz", WATER_XYZ.replace("3\n", "5\n", 1))),
        BadInput("xyz-unknown-element", _file("m.xyz", WATER_XYZ.replace("O ", "Qq "))),
        BadInput("cif-garbage", _file("m.cif", GARBAGE)),
    ],
    "graph": [
        BadInput("graphml-garbage", _file("g.graphml", GARBAGE)),
        BadInput("graphml-empty", _file("g.graphml", b"")),
        BadInput("graphml-truncated", _file("g.graphml", CUT_GRAPHML)),
        BadInput("edgelist-self-loop", _file("g.edgelist", "0 1\n1 1\n")),
        BadInput("gml-garbage", _file("g.gml", GARBAGE)),
    ],
    "policy": [
        BadInput("npz-garbage", _file("episodes/episode_000.npz", GARBAGE)),
        BadInput("npz-empty", _file("episodes/episode_000.npz", b"")),
    ],
}


def _episode(**arrays: np.ndarray) -> Builder:
    """A folder holding one NPZ episode with `arrays`."""

    def build(root: Path) -> tuple[Path, str]:
        path = root / "episodes" / "episode_000.npz"
        path.parent.mkdir(parents=True)
        np.savez(path, **arrays)
        return path.parent, path.name

    return build


_NAN_OBS = np.zeros((5, 39), np.float32)
_NAN_OBS[2, 3] = NAN
DATA_CASES["policy"] += [
    BadInput("npz-no-actions", _episode(obs=np.zeros((5, 39), np.float32))),
    BadInput("npz-nan-observation", _episode(obs=_NAN_OBS, actions=np.zeros((5, 4), np.float32))),
]


def count() -> dict[str, int]:
    """How many cases each family holds (the README quotes these)."""
    return {
        "model": len(MODEL_CASES),
        "flags": len(FLAG_CASES),
        "data": sum(len(cases) for cases in DATA_CASES.values()),
    }


if __name__ == "__main__":
    out = Path(sys.argv[1])
    for domain, cases in DATA_CASES.items():
        for case in cases:
            case.build(out / domain / case.name)
    print(json.dumps(count()), "data cases written to", out)
