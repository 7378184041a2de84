"""Environments behind one small gymnasium-style interface.

Anything that follows :class:`PolicyEnv` can be rolled out by :mod:`polydit.policy.rollout`:
``reset(seed=s) -> (obs, info)`` where the seed fixes the initial configuration (object and goal
positions), and ``step(action) -> (obs, reward, terminated, truncated, info)`` with
``info["success"]`` set to whether the task is solved. Observations are flat float state
vectors of ``observation_dim``; actions are in ``[-1, 1]^action_dim``. Any ``gymnasium.Env``
with a flat Box observation and an ``info["success"]`` flag already fits (wrap it to add
``task``/``max_episode_steps`` attributes).

:class:`MetaWorldEnv` wraps one MetaWorld v3 task (goal observable, 39-d state, 4-d action:
end-effector xyz delta + gripper effort) with gymnasium ``observation_space`` / ``action_space``.
MetaWorld is imported lazily.

Rendering (offscreen OpenGL for MuJoCo): the user's ``MUJOCO_GL`` if set, else EGL, else OSMesa,
each tried once per process in a subprocess (:func:`select_gl_backend`); neither → a one-line
:class:`RenderingUnavailable` naming the Debian packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from polydit.core.errors import ConfigError, PolyditError

MT10: tuple[str, ...] = (
    "reach-v3",
    "push-v3",
    "pick-place-v3",
    "door-open-v3",
    "drawer-open-v3",
    "drawer-close-v3",
    "button-press-topdown-v3",
    "peg-insert-side-v3",
    "window-open-v3",
    "window-close-v3",
)
TASK_SETS: dict[str, tuple[str, ...]] = {"MT10": MT10}

# Language goals (one instruction per MT10 task) for the language-conditioned variant.
INSTRUCTIONS: dict[str, str] = {
    "reach-v3": "reach the goal position with the gripper",
    "push-v3": "push the puck to the goal",
    "pick-place-v3": "pick up the puck and place it at the goal",
    "door-open-v3": "open the door by pulling its handle",
    "drawer-open-v3": "open the drawer",
    "drawer-close-v3": "close the drawer",
    "button-press-topdown-v3": "press the button from the top",
    "peg-insert-side-v3": "insert the peg into the hole from the side",
    "window-open-v3": "slide the window open",
    "window-close-v3": "slide the window closed",
}

MAX_EPISODE_STEPS = 500  # MetaWorld's max_path_length
ACTION_LIMIT = 1.0  # MetaWorld's action box is [-1, 1]^4; step() clips to it
CONTROL_HZ = 80  # one step = MuJoCo timestep 2.5 ms x frame_skip 5 = 12.5 ms

GL_BACKENDS: tuple[str, ...] = ("egl", "osmesa")  # MUJOCO_GL values, in the order tried
GL_DEBIAN = "apt-get install libosmesa6 for OSMesa, or libegl1 libgl1-mesa-dri for EGL"


@runtime_checkable
class PolicyEnv(Protocol):
    """The interface the rollout harness needs (a subset of ``gymnasium.Env``)."""

    task: str
    observation_dim: int
    action_dim: int
    max_episode_steps: int

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]: ...

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]: ...


def metaworld_tasks() -> tuple[str, ...]:
    """Every MetaWorld v3 task that ships a scripted expert, sorted."""
    from metaworld.policies import ENV_POLICY_MAP

    return tuple(sorted(ENV_POLICY_MAP))


def check_task(name: str) -> str:
    """`name` if it is a MetaWorld task with an expert, else a ConfigError listing valid ones."""
    valid = metaworld_tasks()
    if name not in valid:
        raise ConfigError(
            f"unknown task {name!r}; valid tasks: {', '.join(valid)} (or a set: "
            f"{', '.join(TASK_SETS)})"
        )
    return name


def resolve_tasks(spec: str) -> tuple[str, ...]:
    """A task set name ("MT10"), one task, or a comma-separated list of tasks."""
    if spec in TASK_SETS:
        return TASK_SETS[spec]
    names = tuple(n.strip() for n in spec.split(",") if n.strip())
    if not names:
        raise ConfigError("--task: expected a task name, a comma-separated list or MT10")
    return tuple(check_task(n) for n in names)


class RenderingUnavailable(PolyditError):
    """MuJoCo offscreen rendering cannot start (no OpenGL library for MUJOCO_GL)."""


def gl_backend_works(name: str) -> bool:
    """Whether MuJoCo makes an offscreen OpenGL context with ``MUJOCO_GL=name``, tried in a
    subprocess (a process cannot switch backends once OpenGL is loaded)."""
    probe = "import mujoco; c = mujoco.GLContext(8, 8); c.make_current(); c.free()"
    env = {**os.environ, "MUJOCO_GL": name, "PYOPENGL_PLATFORM": name}
    try:
        run = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return run.returncode == 0


def select_gl_backend(works: Callable[[str], bool] = gl_backend_works) -> str:
    """The MUJOCO_GL backend to render with: the user's ``MUJOCO_GL`` if set (not probed), else
    the first of :data:`GL_BACKENDS` that `works`; RenderingUnavailable if none does."""
    chosen = os.environ.get("MUJOCO_GL")
    if chosen:
        return chosen
    for name in GL_BACKENDS:
        if works(name):
            return name
    raise RenderingUnavailable(
        f"no offscreen OpenGL for MuJoCo: tried MUJOCO_GL={', '.join(GL_BACKENDS)}; install "
        f"one (Debian: {GL_DEBIAN}) or set MUJOCO_GL"
    )


def configure_rendering(works: Callable[[str], bool] = gl_backend_works) -> None:
    """Set MUJOCO_GL (and PYOPENGL_PLATFORM) to :func:`select_gl_backend`'s choice, once per
    process (later calls find it set); call before MuJoCo creates a renderer. Also filters
    the tracebacks of gymnasium's viewer teardown (:class:`ViewerTeardownFilter`)."""
    os.environ["MUJOCO_GL"] = select_gl_backend(works)
    os.environ.setdefault("PYOPENGL_PLATFORM", os.environ["MUJOCO_GL"])
    if not isinstance(sys.unraisablehook, ViewerTeardownFilter):
        sys.unraisablehook = ViewerTeardownFilter(sys.unraisablehook)


class ViewerTeardownFilter:
    """A ``sys.unraisablehook`` that drops what gymnasium's ``OffScreenViewer.__del__`` raises
    (a viewer whose OpenGL context never started, or is freed at interpreter exit), which
    Python would print as an "Exception ignored in" traceback; everything else goes on to
    the `previous` hook. The renderer itself is freed by :meth:`MetaWorldEnv.close`."""

    def __init__(self, previous: Callable[[Any], object]):
        self.previous = previous

    def __call__(self, unraisable: Any) -> None:
        if getattr(unraisable.object, "__qualname__", "") == "OffScreenViewer.__del__":
            return
        self.previous(unraisable)


class MetaWorldEnv:
    """One MetaWorld v3 task, goal observable; ``reset(seed=s)`` draws the object and goal
    placement from `s` alone, so the same seed gives the same episode start.

    render_size: (height, width) of ``render()`` frames, or None for no rendering.
    image_size: S for image observations: every observation is then the 39-d state followed by
    the S×S RGB frame of the "corner" camera, flattened (S·S·3, values 0..1); rendering runs
    at S×S. ``state_dim`` is always the state's width. With either, RenderingUnavailable is
    raised here when no offscreen OpenGL backend works, or by the first frame if it fails.

    observation_space: ``Box`` (observation_dim,) float32 with MetaWorld's bounds (hand and
    goal boxes, gripper [-1, 1], unbounded object poses; pixels [0, 1]); action_space: ``Box``
    [-1, 1]^4 float32 (``step`` clips to it).
    """

    action_dim = 4

    def __init__(
        self,
        task: str,
        render_size: tuple[int, int] | None = None,
        image_size: int | None = None,
    ):
        self.task = check_task(task)
        if image_size is not None:
            if image_size < 4:
                raise ConfigError(f"image_size: expected ≥ 4 pixels, got {image_size}")
            render_size = (image_size, image_size)
        self.image_size = image_size
        if render_size is not None:
            configure_rendering()
        from metaworld.env_dict import ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE

        cls = ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[f"{task}-goal-observable"]
        kwargs: dict[str, Any] = {}
        if render_size is not None:
            kwargs = {
                "render_mode": "rgb_array",
            }
        self._env = cls(seed=0, **kwargs)
        if render_size is not None:
            self._env.height, self._env.width = render_size
            self._env.mujoco_renderer.height, self._env.mujoco_renderer.width = render_size
            self._env.mujoco_renderer.camera_name = "corner"
            self._env.mujoco_renderer.camera_id = None
        self._env.max_path_length = MAX_EPISODE_STEPS
        self.max_episode_steps = MAX_EPISODE_STEPS
        self.state_dim = int(self._env.observation_space.shape[0])
        pixels = 3 * image_size * image_size if image_size is not None else 0
        self.observation_dim = self.state_dim + pixels
        self.observation_space, self.action_space = self._spaces(pixels)

    def _spaces(self, pixels: int) -> tuple[Any, Any]:
        """(observation Box, action Box); the state bounds are MetaWorld's for a goal-observable
        task (the env's own observation_space was built before the goal was made observable and
        bounds the goal to 0)."""
        from gymnasium.spaces import Box

        state = self._env.sawyer_observation_space
        low = np.concatenate([state.low, np.zeros(pixels)]).astype(np.float32)
        high = np.concatenate([state.high, np.ones(pixels)]).astype(np.float32)
        limit = np.full(self.action_dim, ACTION_LIMIT, np.float32)
        return Box(low, high, dtype=np.float32), Box(-limit, limit, dtype=np.float32)

    def _observe(self, state: np.ndarray) -> np.ndarray:
        state = np.asarray(state, dtype=np.float32)
        if self.image_size is None:
            return state
        pixels = self.render().astype(np.float32).reshape(-1) / 255.0
        return np.concatenate([state, pixels])

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode; `seed` fixes the object/goal placement (None: the next draw)."""
        env = self._env
        if seed is not None:
            env.seed(int(seed))
        env._freeze_rand_vec = False
        env.seeded_rand_vec = True
        obs, info = env.reset()
        env._freeze_rand_vec = True
        return self._observe(obs), dict(info)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply a 4-d action clipped to [-1, 1]; terminated is True once the task succeeds."""
        action = np.clip(np.asarray(action, dtype=np.float64), -ACTION_LIMIT, ACTION_LIMIT)
        obs, reward, _, truncated, info = self._env.step(action)
        success = bool(info.get("success", 0.0))
        info = {**info, "success": success}
        return self._observe(obs), float(reward), success, bool(truncated), info

    def render(self) -> np.ndarray:
        """The current frame (H, W, 3) uint8 from the "corner" camera."""
        try:
            frame = self._env.render()
        except Exception as e:  # GL backends raise assorted errors when the library is missing
            raise RenderingUnavailable(
                f"MuJoCo offscreen rendering failed with MUJOCO_GL={os.environ.get('MUJOCO_GL')} "
                f"({type(e).__name__}: {' '.join(str(e).split())[:200]}); install OpenGL for "
                f"it (Debian: {GL_DEBIAN}) or set MUJOCO_GL to one installed"
            ) from None
        return np.ascontiguousarray(np.asarray(frame)[::-1])  # MetaWorld renders upside down

    def close(self) -> None:
        """Free the renderer's OpenGL contexts now rather than in a ``__del__`` at exit."""
        renderer = self._env.mujoco_renderer
        self._env.close()
        if renderer is not None:  # drop the closed viewers now, not at interpreter exit
            renderer._viewers.clear()
            renderer.viewer = None


def make_env(
    task: str, render_size: tuple[int, int] | None = None, image_size: int | None = None
) -> MetaWorldEnv:
    """The MetaWorld environment of `task` (see :class:`MetaWorldEnv`)."""
    return MetaWorldEnv(task, render_size, image_size)


class ScriptedExpert:
    """MetaWorld's scripted expert for `task`: ``expert(obs (D,)) -> action (4,)``."""

    def __init__(self, task: str):
        from metaworld.policies import ENV_POLICY_MAP

        self.task = check_task(task)
        self._policy = ENV_POLICY_MAP[task]()

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "Constant(s) may be too high"
            return np.asarray(self._policy.get_action(np.asarray(obs, np.float64)), np.float32)
