"""Pretrained directories: bit-exact round trip, atomic replacement, and every CheckpointError."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import safetensors.torch
import torch

from polydit.core.errors import CheckpointError, ConfigError, PolyditError
from polydit.core.hub import load_pretrained, package_version, save_pretrained

PKG, VER = "polydit-image", "0.1.0"


def state() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(6, 4, generator=g)
    return {
        "weight_t": weight.t(),  # non-contiguous
        "tied": weight,  # shares storage with weight_t
        "half": torch.randn(3, generator=g).half(),
        "bf16": torch.randn(2, 2, generator=g).bfloat16(),
        "index": torch.arange(5),
        "flag": torch.tensor([True, False]),
        "tiny": torch.tensor([1e-40, -0.0, float("inf")]),
    }


def save(directory: Path, **overrides: object) -> Path:
    kwargs: dict = {"package": PKG, "version": VER, "config": {"dim": 4}, "state_dict": state()}
    return save_pretrained(directory, **{**kwargs, **overrides})


def test_round_trip_is_bit_exact(tmp_path: Path) -> None:
    config = {"model": {"depth": 2, "patch": [2, 2]}, "name": "tiny", "scale": 0.1}
    out = save(tmp_path / "m", config=config, extra={"metrics.json": {"fid": 1.5}})
    assert out == tmp_path / "m"
    written = json.loads((out / "config.json").read_text())
    checksum = {
        "weights_sha256": hashlib.sha256((out / "model.safetensors").read_bytes()).hexdigest()
    }
    assert written == {"format": 1, "package": PKG, "version": VER, **checksum, **config}
    assert json.loads((out / "metrics.json").read_text()) == {"fid": 1.5}
    loaded_config, loaded = load_pretrained(out, package=PKG, version=VER)
    assert loaded_config == config
    expected = state()
    assert loaded.keys() == expected.keys()
    for name, tensor in expected.items():
        assert loaded[name].dtype == tensor.dtype and loaded[name].shape == tensor.shape
        assert torch.equal(
            loaded[name].view(-1).view(torch.uint8), tensor.contiguous().view(-1).view(torch.uint8)
        ), name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temp siblings left


def test_save_replaces_a_pretrained_directory(tmp_path: Path) -> None:
    save(tmp_path / "m", config={"dim": 4})
    (tmp_path / "m" / "stale.json").write_text("{}")
    save(tmp_path / "m", config={"dim": 8})
    assert load_pretrained(tmp_path / "m", package=PKG, version=VER)[0] == {"dim": 8}
    assert not (tmp_path / "m" / "stale.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_a_crash_while_saving_keeps_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save(tmp_path / "m", config={"dim": 4})

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        save(tmp_path / "m", config={"dim": 8})
    assert load_pretrained(tmp_path / "m", package=PKG, version=VER)[0] == {"dim": 4}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_save_refuses_to_replace_other_things(tmp_path: Path) -> None:
    precious = tmp_path / "work"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(CheckpointError, match="not a pretrained directory"):
        save(precious)
    assert (precious / "notes.txt").read_text() == "keep me"
    (tmp_path / "file").write_text("x")
    with pytest.raises(CheckpointError, match="not a directory"):
        save(tmp_path / "file")


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"config": {"version": "9"}}, "must not set version"),
        ({"extra": {"../x.json": {}}}, "plain"),
        ({"extra": {"config.json": {}}}, "plain"),
        ({"state_dict": {"w": [1.0]}}, r"state_dict\['w'\]"),
    ],
)
def test_save_rejects_bad_arguments(tmp_path: Path, overrides: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        save(tmp_path / "m", **overrides)
    assert not (tmp_path / "m").exists()


def rewrite_config(directory: Path, **changes: object) -> None:
    path = directory / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def corrupt(directory: Path, case: str) -> Path:
    """Damage a saved directory; returns the path the error must name."""
    config, weights = directory / "config.json", directory / "model.safetensors"
    if case == "directory missing":
        shutil.rmtree(directory)
        return directory
    if case == "config missing":
        config.unlink()
        return config
    if case == "config invalid":
        config.write_text('{"format": 1, "package": ')
        return config
    if case == "config not polydit":
        config.write_text('{"dim": 4}')
        return config
    if case == "weights missing":
        weights.unlink()
        return weights
    if case == "weights truncated":
        weights.write_bytes(weights.read_bytes()[:-10])
        return weights
    if case == "weights garbage":
        weights.write_bytes(b"not a safetensors file at all")
        return weights
    if case == "other package":
        rewrite_config(directory, package="polydit-graph")
        return config
    if case == "newer version":
        rewrite_config(directory, version="0.3.0")
        return config
    if case == "newer format":
        rewrite_config(directory, format=2)
        return config
    if case == "bad version":
        rewrite_config(directory, version="latest")
        return config
    raise AssertionError(case)


@pytest.mark.parametrize(
    ("case", "match"),
    [
        ("directory missing", "no such pretrained directory"),
        ("config missing", "missing; expected a pretrained config written by polydit-image"),
        ("config invalid", "invalid JSON"),
        ("config not polydit", "not a polydit pretrained config"),
        ("weights missing", "missing; expected the model weights"),
        ("weights truncated", "corrupt or truncated"),
        ("weights garbage", "corrupt or truncated"),
        ("other package", "written by polydit-graph, expected polydit-image"),
        ("newer version", "written by polydit-image 0.3.0; this is 0.1.0 — upgrade"),
        ("newer format", "format 2 written by polydit-image 0.1.0; .* reads format 1 — upgrade"),
        ("bad version", "'latest' is not a release number"),
    ],
)
def test_checkpoint_errors_name_the_file(tmp_path: Path, case: str, match: str) -> None:
    culprit = corrupt(save(tmp_path / "m"), case)
    with pytest.raises(CheckpointError, match=match) as error:
        load_pretrained(tmp_path / "m", package=PKG, version=VER)
    assert str(culprit) in str(error.value)
    assert "\n" not in str(error.value)


def test_versions_compare_numerically(tmp_path: Path) -> None:
    save(tmp_path / "m", version="0.9.0")
    assert load_pretrained(tmp_path / "m", package=PKG, version="0.10.0")[0] == {"dim": 4}
    assert load_pretrained(tmp_path / "m", package=PKG, version="0.9")[0] == {"dim": 4}
    save(tmp_path / "m", version="0.10.0")
    with pytest.raises(CheckpointError, match="upgrade"):
        load_pretrained(tmp_path / "m", package=PKG, version="0.9.1")


def test_an_interrupted_swap_points_to_the_surviving_version(tmp_path: Path) -> None:
    old = save(tmp_path / "m").rename(tmp_path / ".m.old-abc")
    with pytest.raises(CheckpointError, match=f"previous version in {old}"):
        load_pretrained(tmp_path / "m", package=PKG, version=VER)


def test_package_version() -> None:
    assert package_version("polydit-core") == "0.1.0"
    with pytest.raises(PolyditError, match="no-such-dist-xyz is not installed"):
        package_version("no-such-dist-xyz")


def test_saved_directories_are_readable_by_everyone(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        target = save_pretrained(
            tmp_path / "m",
            package="polydit-x",
            version="0.1.0",
            config={},
            state_dict={"w": torch.ones(2)},
        )
    finally:
        os.umask(old)
    assert stat.S_IMODE(target.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in target.iterdir()} == {0o644}


def test_weights_that_do_not_match_their_checksum_are_refused(tmp_path: Path) -> None:
    out = save(tmp_path / "m", config={"dim": 4})
    weights = out / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # one payload byte: the safetensors header still parses
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"model\.safetensors: its SHA-256 does not match"):
        load_pretrained(out, package=PKG, version=VER)
    unchecked = json.loads((out / "config.json").read_text())
    del unchecked["weights_sha256"]  # a directory saved before checksums: read unchecked
    (out / "config.json").write_text(json.dumps(unchecked))
    assert load_pretrained(out, package=PKG, version=VER)[0] == {"dim": 4}
