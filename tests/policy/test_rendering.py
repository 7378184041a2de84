"""Rendering: the offscreen backend choice (EGL, then OSMesa, then a one-line error) and a quiet
exit after rendering or after a failed render."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from polydit.policy.env import (
    GL_BACKENDS,
    RenderingUnavailable,
    gl_backend_works,
    select_gl_backend,
)


class FakeProbe:
    """A probe that reports the backends in `working` as usable and records what it tried."""

    def __init__(self, *working: str):
        self.working, self.tried = set(working), []

    def __call__(self, name: str) -> bool:
        self.tried.append(name)
        return name in self.working


def test_egl_first_then_osmesa_then_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MUJOCO_GL", raising=False)
    both = FakeProbe("egl", "osmesa")
    assert select_gl_backend(both) == "egl" and both.tried == ["egl"]
    osmesa = FakeProbe("osmesa")
    assert select_gl_backend(osmesa) == "osmesa" and osmesa.tried == ["egl", "osmesa"]
    none = FakeProbe()
    with pytest.raises(RenderingUnavailable) as error:
        select_gl_backend(none)
    assert none.tried == list(GL_BACKENDS)
    message = str(error.value)
    assert "\n" not in message and "libosmesa6" in message and "libegl1" in message


def test_the_users_choice_is_kept_without_probing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUJOCO_GL", "osmesa")
    probe = FakeProbe("egl")
    assert select_gl_backend(probe) == "osmesa" and probe.tried == []


def test_the_real_probe_rejects_a_backend_that_does_not_exist() -> None:
    assert not gl_backend_works("no-such-backend")


def _rollout(tmp_path: Path, *, break_renderers: bool) -> subprocess.CompletedProcess[str]:
    """`polydit-policy rollout --video` in a fresh interpreter (as a user runs it, whatever
    this process chose for MUJOCO_GL), optionally with every gymnasium OpenGL backend failing
    to start."""
    breaking = (
        "import gymnasium.envs.mujoco.mujoco_rendering as r\n"
        "def fail(width, height): raise ImportError('Unable to load OpenGL library')\n"
        "r._ALL_RENDERERS.update(egl=fail, osmesa=fail)\n"
        if break_renderers
        else ""
    )
    args = ["rollout", "--task", "reach-v3", "--seed", "1000", "--model", "mlp-bc-chunked"]
    args += ["--video", str(tmp_path / "reach.mp4")]
    script = f"{breaking}import sys\nsys.argv = ['polydit-policy', *{args!r}]\n"
    script += "from polydit.policy.cli import main\nmain()\n"
    env = {k: v for k, v in os.environ.items() if k not in ("MUJOCO_GL", "PYOPENGL_PLATFORM")}
    if break_renderers:  # the user's choice: not probed, so the broken renderer is reached
        env.update(MUJOCO_GL="osmesa", PYOPENGL_PLATFORM="osmesa")
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )


def test_a_failed_render_is_one_line_without_a_teardown_traceback(tmp_path: Path) -> None:
    run = _rollout(tmp_path, break_renderers=True)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "MuJoCo offscreen rendering failed with MUJOCO_GL=osmesa" in output
    assert "Traceback" not in output and "Exception ignored" not in output, output


def test_rollout_video_exits_quietly(tmp_path: Path) -> None:
    if not any(gl_backend_works(name) for name in GL_BACKENDS):
        pytest.skip("no offscreen OpenGL on this machine")
    run = _rollout(tmp_path, break_renderers=False)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert (tmp_path / "reach.mp4").stat().st_size > 0
    assert "Traceback" not in output and "Exception ignored" not in output, output
