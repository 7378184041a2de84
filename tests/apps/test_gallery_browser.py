"""The gallery in a real browser: headless Chromium loads index.html from disk and every image,
sound and video on it loads (no broken links); a screenshot is kept as a CI artefact.

`.ci/run` installs Debian's `chromium`; without it these tests skip. The screenshot goes to
``$POLYDIT_ARTEFACTS`` (default ``runs/artefacts/`` of the checkout, gitignored).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from polydit.core.cli import Domain, GalleryItem
from polydit.umbrella import cli, plugins

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray((np.arange(64 * 64) % 251).reshape(64, 64).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as f:
        f.setnchannels(1), f.setsampwidth(2), f.setframerate(16000)
        tone = (3000 * np.sin(np.arange(1600) * 0.2)).astype("<i2")
        f.writeframes(tone.tobytes())
    return buffer.getvalue()


class MediaDomain(Domain):
    """Writes a real PNG, a real WAV and, when asked, a link to a file it did not write."""

    package, default_model = "polydit-media", "m"

    def __init__(self, name: str, root: Path, broken: bool = False) -> None:
        self.name, self.pretrained_root, self.broken = name, root, broken
        (root / "m").mkdir(parents=True, exist_ok=True)
        (root / "m" / "config.json").write_text("{}")

    def load(self, model_dir: Path, *, device: str, dtype: str) -> Any:
        return None

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        (out / "grid.png").write_bytes(png())
        (out / "word.wav").write_bytes(wav())
        items = [GalleryItem(Path(n), n, "cmd") for n in ("grid.png", "word.wav")]
        return items + ([GalleryItem(Path("gone.png"), "gone", "cmd")] if self.broken else [])

    def sample(self, *args: Any) -> Any:
        raise NotImplementedError

    evaluate = train = data_show = info = sample


def render(page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
               "--virtual-time-budget=5000", *extra, page.as_uri()]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def loaded(dom: str) -> dict[str, str]:
    """src → data-loaded of every img/audio/video element of a dumped DOM."""
    found = {}
    for tag in re.findall(r"<(?:img|audio|video)\b[^>]*>", dom):
        src = re.search(r'src="([^"]*)"', tag)
        state = re.search(r'data-loaded="(\w+)"', tag)
        found[src.group(1) if src else "?"] = state.group(1) if state else "unknown"
    return found


def demo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, broken: bool) -> Path:
    domains = [plugins.Installed(MediaDomain("media", tmp_path / "models", broken), "0.1.0")]
    monkeypatch.setattr(plugins, "discover", lambda: (domains, []))
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli.app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "index.html"


def test_every_image_and_sound_of_the_gallery_loads_in_chromium(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    page = demo(monkeypatch, tmp_path, broken=False)
    done = render(page, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    assert loaded(done.stdout) == {"media/grid.png": "yes", "media/word.wav": "yes"}
    artefacts = Path(os.environ.get("POLYDIT_ARTEFACTS", ROOT / "runs" / "artefacts"))
    artefacts.mkdir(parents=True, exist_ok=True)
    shot = artefacts / "gallery-test.png"
    done = render(page, f"--screenshot={shot}", "--window-size=1200,900")
    assert done.returncode == 0 and Image.open(shot).size == (1200, 900), done.stderr[-2000:]


def test_a_missing_file_is_caught_by_the_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    done = render(demo(monkeypatch, tmp_path, broken=True), "--dump-dom")
    assert loaded(done.stdout)["media/gone.png"] == "no"
    assert "missing: media/gone.png" in done.stdout


@pytest.mark.slow
def test_the_real_demo_of_every_domain_loads_in_chromium(tmp_path: Path) -> None:
    """`polydit demo` of every installed domain from its shipped model, then the browser: every
    picture, sound and video loads, the audio domain contributes players, and a screenshot of
    the whole page is kept."""
    discovered, problems = plugins.discover()
    assert not problems, problems
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli.app, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    done = render(out / "index.html", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    states = loaded(done.stdout)
    assert states and all(state == "yes" for state in states.values()), states
    names = {d.domain.name for d in discovered}
    for name in names:  # every domain shows something
        assert any(src.startswith(f"{name}/") for src in states), (name, sorted(states))
    if "audio" in names:
        assert re.search(r"<audio\b[^>]*audio/[^\"]*\.wav", done.stdout), "no audio players"
    artefacts = Path(os.environ.get("POLYDIT_ARTEFACTS", ROOT / "runs" / "artefacts"))
    artefacts.mkdir(parents=True, exist_ok=True)
    shot = artefacts / "gallery-demo.png"
    done = render(out / "index.html", f"--screenshot={shot}", "--window-size=1400,4000")
    assert done.returncode == 0 and Image.open(shot).size == (1400, 4000), done.stderr[-2000:]
