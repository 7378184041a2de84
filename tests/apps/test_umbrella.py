"""The `polydit` umbrella CLI: plugin discovery, `list` and the `demo` gallery.

Discovery is monkeypatched with a light fake domain (no torch) instead of installing a plugin.
"""

import subprocess
import sys
import types
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from polydit.core.cli import Domain, GalleryItem
from polydit.core.errors import CheckpointError
from polydit.umbrella import cli, plugins


class ShowcaseDomain(Domain):
    """Writes one image, one sound and one array per demo; loads nothing heavy."""

    package = "polydit-showcase"
    default_model = "small"

    def __init__(self, name: str, root: Path, *, fail: bool = False) -> None:
        self.name = name
        self.pretrained_root = root
        self.fail = fail
        for model in ("small", "large"):
            (root / model).mkdir(parents=True, exist_ok=True)
            (root / model / "config.json").write_text("{}")

    def load(self, model_dir: Path, *, device: str, dtype: str) -> Any:
        if self.fail:
            raise CheckpointError(f"{model_dir}/model.safetensors: corrupt")
        return {"model": model_dir, "device": device}

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        files = {"digit 3.png": b"\x89PNG", "tone.wav": b"RIFF", "raw.npy": b"\x93NUMPY"}
        for name, data in files.items():
            (out / name).write_bytes(data)
        command = f"polydit-{self.name} sample --seed {seed}"
        return [GalleryItem(Path(name), f"<{name}> seed {seed}", command) for name in files]

    def sample(self, *args: Any) -> Any:
        raise NotImplementedError

    evaluate = train = data_show = info = sample


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[plugins.Installed]:
    found = [
        plugins.Installed(ShowcaseDomain("alpha", tmp_path / "alpha"), "0.2.0"),
        plugins.Installed(ShowcaseDomain("beta", tmp_path / "beta"), "0.1.0"),
    ]
    broken = [plugins.Broken("gamma", "polydit.gamma.cli:DOMAIN", "ImportError: no gamma")]
    monkeypatch.setattr(plugins, "discover", lambda: (found, broken))
    return found


def invoke(*args: Any) -> Any:
    return CliRunner().invoke(cli.app, [str(a) for a in args])


def test_list_shows_domains_versions_models_and_broken_plugins(installed: list) -> None:
    result = invoke("list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0].split() == ["domain", "package", "version", "models"]
    assert lines[1].split() == ["alpha", "polydit-showcase", "0.2.0", "large,", "small*"]
    assert lines[2].startswith("beta")
    assert "broken plugin gamma" in result.stderr and "ImportError: no gamma" in result.stderr


def test_demo_writes_a_gallery_of_every_domain(installed: list, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = invoke("demo", "--out", out, "--seed", "5")
    assert result.exit_code == 0, result.output
    assert (out / "alpha" / "tone.wav").is_file() and (out / "beta" / "raw.npy").is_file()
    page = (out / "index.html").read_text()
    assert '<img src="alpha/digit%203.png"' in page
    assert '<audio controls preload="metadata" src="beta/tone.wav">' in page
    assert '<a href="alpha/raw.npy">raw.npy</a>' in page
    assert "&lt;tone.wav&gt; seed 5" in page and "<tone.wav>" not in page
    assert "polydit-alpha sample --seed 5" in page
    assert f"polydit demo --out {out} --device cpu --seed 5" in page
    assert not list(out.glob(".tmp-*"))


def test_a_domain_without_a_shipped_model_is_noted_not_failed(
    installed: list, tmp_path: Path
) -> None:
    for model in ("small", "large"):
        (installed[1].domain.pretrained_root / model / "config.json").unlink()
    out = tmp_path / "demo"
    result = invoke("demo", "--out", out)
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    assert "no shipped model yet" in page and "polydit-showcase train" in page
    assert (out / "alpha" / "tone.wav").is_file() and not (out / "beta").exists()


def test_demo_selects_domains_and_rejects_unknown_ones(installed: list, tmp_path: Path) -> None:
    result = invoke("demo", "--out", tmp_path / "d", "--domains", "beta")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "d" / "alpha").exists() and (tmp_path / "d" / "beta").is_dir()
    result = invoke("demo", "--out", tmp_path / "e", "--domains", "beta,delta")
    assert result.exit_code == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Invalid value for '--domains': delta")
    assert "installed: alpha, beta" in last


def test_a_failing_domain_is_reported_and_the_others_still_render(
    installed: list, tmp_path: Path
) -> None:
    installed[0].domain.fail = True
    result = invoke("demo", "--out", tmp_path / "demo")
    assert result.exit_code == 1
    assert "error: alpha: " in result.stderr and "corrupt" in result.stderr
    page = (tmp_path / "demo" / "index.html").read_text()
    assert "failed:" in page and "beta/tone.wav" in page


def test_a_rerun_replaces_the_gallery_whole_and_user_folders_are_refused(
    installed: list, tmp_path: Path
) -> None:
    out = tmp_path / "demo"
    assert invoke("demo", "--out", out).exit_code == 0
    (out / "alpha" / "stale.png").write_bytes(b"old")
    assert invoke("demo", "--out", out, "--domains", "beta").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["beta", "index.html"]  # nothing stale
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep")
    result = invoke("demo", "--out", tmp_path / "mine")
    assert result.exit_code == 1 and "refusing" in result.stderr
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "keep"


def test_structures_get_a_3d_viewer_that_ships_with_the_page(
    installed: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdf = (
        "water\n\n\n  3  2  0  0  0  0            999 V2000\n"
        + "".join(
            f"{x:10.4f}{y:10.4f}    0.0000 {e}   0  0\n"
            for x, y, e in ((0, 0, "O"), (0.96, 0, "H"), (-0.24, 0.93, "H"))
        )
        + "  1  2  1  0\n  1  3  1  0\nM  END\n$$$$\n"
    )

    def demo(generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        (out / "water.sdf").write_text(sdf)
        return [GalleryItem(Path("water.sdf"), "a <molecule>", "polydit-alpha sample")]

    monkeypatch.setattr(installed[0].domain, "demo", demo)
    out = tmp_path / "demo"
    assert invoke("demo", "--out", out, "--domains", "alpha").exit_code == 0
    page = (out / "index.html").read_text()
    assert '<div class="viewer" data-format="sdf">' in page and "M  END" in page
    assert '<script src="3Dmol-min.js">' in page
    assert (out / "3Dmol-min.js").stat().st_size > 100_000
    assert invoke("demo", "--out", out, "--domains", "beta").exit_code == 0
    assert not (out / "3Dmol-min.js").exists() and "3Dmol" not in (out / "index.html").read_text()


def test_demo_without_domains_still_writes_a_page(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(plugins, "discover", lambda: ([], []))
    result = invoke("demo", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    assert "No polydit domain packages are installed" in (tmp_path / "index.html").read_text()
    assert "no polydit domain packages" in invoke("list").stdout


def test_discover_loads_entry_points_and_reports_broken_ones(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = types.ModuleType("fake_polydit_plugin")
    module.DOMAIN = ShowcaseDomain("alpha", tmp_path)  # type: ignore[attr-defined]
    module.NOT_A_DOMAIN = object()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_polydit_plugin", module)
    points = [
        EntryPoint("zeta", "no_such_module_xyz:DOMAIN", plugins.GROUP),
        EntryPoint("alpha", "fake_polydit_plugin:DOMAIN", plugins.GROUP),
        EntryPoint("eta", "fake_polydit_plugin:NOT_A_DOMAIN", plugins.GROUP),
    ]
    monkeypatch.setattr(
        plugins, "entry_points", lambda group: [p for p in points if p.group == group]
    )
    installed, broken = plugins.discover()
    assert [item.domain for item in installed] == [module.DOMAIN]
    assert [(b.name, b.error.split(":")[0]) for b in broken] == [
        ("eta", "TypeError"),
        ("zeta", "ModuleNotFoundError"),
    ]


def test_the_installed_script(tmp_path: Path) -> None:
    """The real `polydit` script over the domain packages installed in this workspace."""
    script = Path(sys.executable).with_name("polydit")
    listed = subprocess.run([script, "list"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    names = {line.split()[0] for line in listed.stdout.strip().splitlines()[1:]}
    assert {"image", "video", "molecule", "policy"} <= names
    # one real domain end to end (every domain's demo() has its own test in tests/<domain>/)
    done = subprocess.run(
        [script, "demo", "--out", tmp_path, "--domains", "image"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "index.html").is_file() and any((tmp_path / "image").iterdir())
    done = subprocess.run([script, "demo", "--device", "tpu"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: Invalid value for '--device': 'tpu' is not a device; expected cpu, cuda or cuda:N "
        "(see 'polydit demo --help')"
    ]


def test_wide_pictures_span_the_row(tmp_path: Path) -> None:
    import struct
    import zlib

    from polydit.umbrella.gallery import image_width

    def png(width: int) -> bytes:
        header = struct.pack(">IIBBBBB", width, 1, 8, 0, 0, 0, 0)
        body = b"IHDR" + header
        return (
            b"\x89PNG\r\n\x1a\n"
            + struct.pack(">I", 13)
            + body
            + struct.pack(">I", zlib.crc32(body))
        )

    (tmp_path / "wide.png").write_bytes(png(1200))
    (tmp_path / "gif.gif").write_bytes(b"GIF89a" + (300).to_bytes(2, "little") + b"\x01\x00")
    assert image_width(tmp_path / "wide.png") == 1200 and image_width(tmp_path / "gif.gif") == 300
    assert image_width(tmp_path / "missing.png") == 0
