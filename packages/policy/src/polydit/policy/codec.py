"""Action chunks ↔ tokens, observation histories → context tokens.

Generated tokens: an action chunk of horizon H, one token per step, features = the action
min-max normalised to [-1, 1] (Diffusion Policy's LinearNormalizer), position = step index (1-D
RoPE). Context tokens (MM-DiT joint attention): one token per observation of the history
(n_obs steps, oldest first), features = the normalised state concatenated with a one-hot of its
slot in the history (the context stream has no RoPE, so the slot carries the time order).

Goal, ``goal="task"``: the task enters as a label (``Cond.labels``, the task's index in
``tasks``) through adaLN. ``goal="language"`` (MDT-style): a sentence embedding (goal_dim wide)
of the task's instruction is one more context token; every context token is then
``[state | slot one-hot | is-goal flag | embedding]`` with the unused parts zero, and no label.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from polydit.core.config import JsonConfig
from polydit.core.errors import ConfigError
from polydit.core.tokens import Cond, Tokens

GOALS = ("task", "language")
OBS_CLIP = 3.0  # normalised observations are clipped to ±OBS_CLIP (out-of-range states at eval)


@dataclass(frozen=True)
class CodecConfig(JsonConfig):
    """Everything needed to turn data into tokens and back; stored with the model.

    horizon: actions per chunk (H); n_obs: observations in the history; n_action_steps: actions
    of each chunk executed before re-planning (k ≤ H). obs_/act_ min/max: normalisation stats.
    demo_seed_max: the largest environment seed of the training demonstrations (evaluation
    refuses seeds ≤ it).
    """

    tasks: tuple[str, ...]
    obs_dim: int
    action_dim: int
    obs_min: tuple[float, ...]
    obs_max: tuple[float, ...]
    act_min: tuple[float, ...]
    act_max: tuple[float, ...]
    horizon: int = 16
    n_obs: int = 2
    n_action_steps: int = 8
    demo_seed_max: int = -1
    goal: str = "task"
    goal_dim: int = 0
    instructions: tuple[str, ...] = ()
    image_size: int = 0
    patch: int = 8

    def __post_init__(self) -> None:
        if self.image_size and (
            self.image_size % self.patch or self.obs_dim <= 3 * self.image_size**2
        ):
            raise ConfigError(
                f"CodecConfig: image_size {self.image_size} must be a multiple of patch "
                f"{self.patch} and observations must hold a state before the "
                f"{3 * self.image_size**2} pixel values (obs_dim is {self.obs_dim})"
            )
        if self.goal not in GOALS:
            raise ConfigError(f"CodecConfig.goal={self.goal!r}: expected one of {', '.join(GOALS)}")
        if self.goal == "language" and (
            self.goal_dim < 1 or len(self.instructions) != len(self.tasks)
        ):
            raise ConfigError(
                "CodecConfig: goal='language' needs goal_dim ≥ 1 and one instruction per task"
            )
        if not 1 <= self.n_action_steps <= self.horizon:
            raise ConfigError(
                f"CodecConfig.n_action_steps={self.n_action_steps}: expected 1..horizon "
                f"({self.horizon})"
            )
        for name, dim in (
            ("obs_min", self.obs_dim),
            ("obs_max", self.obs_dim),
            ("act_min", self.action_dim),
            ("act_max", self.action_dim),
        ):
            if len(getattr(self, name)) != dim:
                raise ConfigError(f"CodecConfig.{name}: expected {dim} values")

    @property
    def state_dim(self) -> int:
        """Width of the state part of an observation (all of it without images)."""
        return self.obs_dim - 3 * self.image_size**2

    @property
    def num_patches(self) -> int:
        """Image patch tokens per observation (0 without images)."""
        return (self.image_size // self.patch) ** 2

    def segments(self) -> dict[str, int]:
        """The parts of a context token, in order, and their widths."""
        parts = {"state": self.state_dim, "slot": self.n_obs}
        if self.image_size:
            parts.update(pixels=3 * self.patch**2, patch=self.num_patches)
        if self.goal == "language":
            parts.update(flag=1, goal=self.goal_dim)
        return parts

    @property
    def context_dim(self) -> int:
        """Width of a context token."""
        return sum(self.segments().values())

    @property
    def num_context(self) -> int:
        """Context tokens per sample: the history's states (+ patches) (+ the goal token)."""
        return self.n_obs * (1 + self.num_patches) + (1 if self.goal == "language" else 0)

    def instruction(self, task: str) -> str:
        """The language goal of `task` (goal='language')."""
        return self.instructions[self.tasks.index(task)]


def fit_codec(
    observations: np.ndarray,
    actions: np.ndarray,
    tasks: tuple[str, ...],
    **settings: Any,
) -> CodecConfig:
    """A codec whose stats are the min/max of observations (N, D) and actions (N, A)."""
    return CodecConfig(
        tasks=tuple(tasks),
        obs_dim=int(observations.shape[-1]),
        action_dim=int(actions.shape[-1]),
        obs_min=tuple(float(v) for v in observations.min(0)),
        obs_max=tuple(float(v) for v in observations.max(0)),
        act_min=tuple(float(v) for v in actions.min(0)),
        act_max=tuple(float(v) for v in actions.max(0)),
        **settings,
    )


def _scale_offset(lo: tuple[float, ...], hi: tuple[float, ...]) -> tuple[Tensor, Tensor]:
    """x_n = x * scale + offset maps [lo, hi] to [-1, 1]; constant dims map to 0."""
    lo_t, hi_t = torch.tensor(lo), torch.tensor(hi)
    span = hi_t - lo_t
    const = span < 1e-6
    scale = torch.where(const, torch.ones_like(span), 2.0 / span.clamp_min(1e-6))
    offset = torch.where(const, -lo_t, -1.0 - lo_t * scale)
    return scale, offset


class ActionCodec:
    """Normalises and tokenises; see the module docstring for the token layout."""

    def __init__(self, config: CodecConfig):
        self.config = config
        self._obs = _scale_offset(config.obs_min, config.obs_max)
        self._act = _scale_offset(config.act_min, config.act_max)

    # --- normalisation -----------------------------------------------------------------------
    def normalize_obs(self, obs: Tensor) -> Tensor:
        scale, offset = self._obs
        return (obs * scale + offset).clamp(-OBS_CLIP, OBS_CLIP)

    def normalize_actions(self, actions: Tensor) -> Tensor:
        scale, offset = self._act
        return actions * scale + offset

    def denormalize_actions(self, x: Tensor) -> Tensor:
        scale, offset = self._act
        return (x - offset) / scale

    # --- tokens ------------------------------------------------------------------------------
    def positions(self, batch: int) -> Tensor:
        """(B, H, 1) step indices of a chunk."""
        steps = torch.arange(self.config.horizon, dtype=torch.float32)
        return steps.view(1, -1, 1).expand(batch, -1, -1)

    def encode_actions(self, actions: Tensor) -> Tokens:
        """actions (B, H, A) in env units → Tokens x (B, H, A) normalised, pos (B, H, 1)."""
        return Tokens(self.normalize_actions(actions), self.positions(actions.shape[0]))

    def template(self, batch: int) -> Tokens:
        """Tokens of the chunk shape (for sampling: only the shape and positions matter)."""
        cfg = self.config
        return Tokens(torch.zeros(batch, cfg.horizon, cfg.action_dim), self.positions(batch))

    def decode_actions(self, x: Tensor) -> Tensor:
        """Token features (B, H, A) → actions (B, H, A) in env units."""
        return self.denormalize_actions(x)

    def context(self, obs_history: Tensor, goal: Tensor | None = None) -> Tensor:
        """obs_history (B, n_obs, D) raw (+ goal embeddings (B, goal_dim)) → context tokens
        (B, num_context, context_dim): n_obs state tokens, then n_obs × num_patches image patch
        tokens (pixels mapped to [-1, 1], with the patch index one-hot), then the goal token.
        Each token fills its own segments (see CodecConfig.segments); the rest is zero."""
        cfg = self.config
        b, n, _ = obs_history.shape
        if n != cfg.n_obs:
            raise ConfigError(f"expected {cfg.n_obs} observations of history, got {n}")
        offsets, start = {}, 0
        for name, width in cfg.segments().items():
            offsets[name] = slice(start, start + width)
            start += width
        slot = torch.eye(n, dtype=obs_history.dtype)
        state = torch.zeros(b, n, start, dtype=obs_history.dtype)
        state[..., offsets["state"]] = self.normalize_obs(obs_history)[..., : cfg.state_dim]
        state[..., offsets["slot"]] = slot
        tokens = [state]
        if cfg.image_size:
            p, k = cfg.patch, cfg.image_size // cfg.patch
            img = obs_history[..., cfg.state_dim :].reshape(b, n, k, p, k, p, 3)
            img = img.permute(0, 1, 2, 4, 3, 5, 6).reshape(b, n, k * k, 3 * p * p)
            patches = torch.zeros(b, n, k * k, start, dtype=obs_history.dtype)
            patches[..., offsets["pixels"]] = img * 2.0 - 1.0
            patches[..., offsets["patch"]] = torch.eye(k * k, dtype=obs_history.dtype)
            patches[..., offsets["slot"]] = slot[:, None, :]
            tokens.append(patches.reshape(b, n * k * k, start))
        if cfg.goal == "language" and goal is not None:
            if goal.shape != (b, cfg.goal_dim):
                raise ConfigError(
                    f"goal embeddings: expected ({b}, {cfg.goal_dim}), got {tuple(goal.shape)}"
                )
            token = torch.zeros(b, 1, start, dtype=obs_history.dtype)
            token[..., offsets["flag"]] = 1.0
            token[..., offsets["goal"]] = goal.to(obs_history.dtype)[:, None]
            tokens.append(token)
        return torch.cat(tokens, dim=1)

    def encode_cond(
        self, obs_history: Tensor, task_ids: Tensor, goal: Tensor | None = None
    ) -> Cond:
        """The conditioning of a batch: context tokens of the history (+ the goal embedding
        token for goal='language'), and the task labels (B,) for goal='task'."""
        if self.config.goal == "language":
            if goal is None:
                raise ConfigError("a language-goal policy needs goal embeddings")
            return Cond(context=self.context(obs_history, goal))
        return Cond(labels=task_ids.long(), context=self.context(obs_history))

    def task_id(self, task: str) -> int:
        """Index of `task` in the codec's tasks (a ConfigError lists the known ones)."""
        if task not in self.config.tasks:
            raise ConfigError(
                f"task {task!r} is not one this model was trained on: "
                f"{', '.join(self.config.tasks)}"
            )
        return self.config.tasks.index(task)
