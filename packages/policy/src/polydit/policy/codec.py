"""Action chunks ↔ tokens, observation histories → context tokens: the policy's core Codec.

Generated tokens: an action chunk of horizon H, one token per step, features = the action
min-max normalised to [-1, 1] (Diffusion Policy's LinearNormalizer), position = step index (1-D
RoPE). Context tokens (MM-DiT joint attention): one token per observation of the history
(n_obs steps, oldest first), features = the normalised state concatenated with a one-hot of its
slot in the history (the context stream has no RoPE, so the slot carries the time order).

Goal, ``goal="task"``: the task enters as a label (``Cond.labels``, the task's index in
``tasks``) through adaLN. ``goal="language"`` (MDT-style): a sentence embedding (goal_dim wide)
of the task's instruction is one more context token; every context token is then
``[state | slot one-hot | is-goal flag | embedding]`` with the unused parts zero, and no label.

A batch is a dict of raw windows: ``obs`` (B, n_obs, D) observation histories in env units,
``actions`` (B, H, A) action chunks in env units, ``task`` (B,) task indices, and optionally
``goal`` (B, goal_dim) goal embeddings (a language-goal codec embeds its own instructions of
the batch's tasks when it is absent).
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
class ActionCodec(JsonConfig):
    """Normalises and tokenises (see the module docstring); stored with the model.

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
                f"ActionCodec: image_size {self.image_size} must be a multiple of patch "
                f"{self.patch} and observations must hold a state before the "
                f"{3 * self.image_size**2} pixel values (obs_dim is {self.obs_dim})"
            )
        if self.goal not in GOALS:
            raise ConfigError(f"ActionCodec.goal={self.goal!r}: expected one of {', '.join(GOALS)}")
        if self.goal == "language" and (
            self.goal_dim < 1 or len(self.instructions) != len(self.tasks)
        ):
            raise ConfigError(
                "ActionCodec: goal='language' needs goal_dim ≥ 1 and one instruction per task"
            )
        if not 1 <= self.n_action_steps <= self.horizon:
            raise ConfigError(
                f"ActionCodec.n_action_steps={self.n_action_steps}: expected 1..horizon "
                f"({self.horizon})"
            )
        for name, dim in (
            ("obs_min", self.obs_dim),
            ("obs_max", self.obs_dim),
            ("act_min", self.action_dim),
            ("act_max", self.action_dim),
        ):
            if len(getattr(self, name)) != dim:
                raise ConfigError(f"ActionCodec.{name}: expected {dim} values")

    # --- layout ------------------------------------------------------------------------------
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

    def task_id(self, task: str) -> int:
        """Index of `task` in the codec's tasks (a ConfigError lists the known ones)."""
        if task not in self.tasks:
            raise ConfigError(
                f"task {task!r} is not one this model was trained on: {', '.join(self.tasks)}"
            )
        return self.tasks.index(task)

    # --- normalisation -----------------------------------------------------------------------
    def normalize_obs(self, obs: Tensor) -> Tensor:
        scale, offset = _scale_offset(self.obs_min, self.obs_max, obs.device)
        return (obs * scale + offset).clamp(-OBS_CLIP, OBS_CLIP)

    def normalize_actions(self, actions: Tensor) -> Tensor:
        scale, offset = _scale_offset(self.act_min, self.act_max, actions.device)
        return actions * scale + offset

    def denormalize_actions(self, x: Tensor) -> Tensor:
        scale, offset = _scale_offset(self.act_min, self.act_max, x.device)
        return (x - offset) / scale

    # --- the Codec protocol ------------------------------------------------------------------
    def encode(self, batch: dict[str, Tensor]) -> Tokens:
        """batch["actions"] (B, H, A) in env units → Tokens x (B, H, A) normalised, pos (B, H, 1)."""
        actions = batch["actions"]
        return Tokens(
            self.normalize_actions(actions), self.positions(actions.shape[0], actions.device)
        )

    def decode(self, x: Tensor, template: Tokens | None = None) -> Tensor:
        """Token features (B, H, A) → actions (B, H, A) in env units."""
        return self.denormalize_actions(x)

    def template(self, num: int) -> Tokens:
        """Tokens of the chunk shape (for sampling: only the shape and positions matter)."""
        return Tokens(torch.zeros(num, self.horizon, self.action_dim), self.positions(num))

    def positions(self, batch: int, device: torch.device | str = "cpu") -> Tensor:
        """(B, H, 1) step indices of a chunk."""
        steps = torch.arange(self.horizon, dtype=torch.float32, device=device)
        return steps.view(1, -1, 1).expand(batch, -1, -1)

    # --- conditioning ------------------------------------------------------------------------
    def condition(self, batch: dict[str, Tensor]) -> Cond:
        """The conditioning of a batch: context tokens of batch["obs"], and the labels
        batch["task"] (goal='task') or the goal token of batch["goal"], by default the
        embeddings of the codec's instructions of batch["task"] (goal='language')."""
        obs = batch["obs"]
        if self.goal != "language":
            return Cond(labels=batch["task"].long(), context=self.context(obs))
        goal = batch.get("goal")
        if goal is None:
            from polydit.policy.language import encode_goals

            goal = encode_goals([self.instructions[int(i)] for i in batch["task"]])
        return Cond(context=self.context(obs, goal.to(obs.device)))

    def context(self, obs_history: Tensor, goal: Tensor | None = None) -> Tensor:
        """obs_history (B, n_obs, D) raw (+ goal embeddings (B, goal_dim)) → context tokens
        (B, num_context, context_dim): n_obs state tokens, then n_obs × num_patches image patch
        tokens (pixels mapped to [-1, 1], with the patch index one-hot), then the goal token.
        Each token fills its own segments (see :meth:`segments`); the rest is zero."""
        b, n, _ = obs_history.shape
        if n != self.n_obs:
            raise ConfigError(f"expected {self.n_obs} observations of history, got {n}")
        like = {"dtype": obs_history.dtype, "device": obs_history.device}
        offsets, start = {}, 0
        for name, width in self.segments().items():
            offsets[name] = slice(start, start + width)
            start += width
        slot = torch.eye(n, **like)
        state = torch.zeros(b, n, start, **like)
        state[..., offsets["state"]] = self.normalize_obs(obs_history)[..., : self.state_dim]
        state[..., offsets["slot"]] = slot
        tokens = [state]
        if self.image_size:
            p, k = self.patch, self.image_size // self.patch
            img = obs_history[..., self.state_dim :].reshape(b, n, k, p, k, p, 3)
            img = img.permute(0, 1, 2, 4, 3, 5, 6).reshape(b, n, k * k, 3 * p * p)
            patches = torch.zeros(b, n, k * k, start, **like)
            patches[..., offsets["pixels"]] = img * 2.0 - 1.0
            patches[..., offsets["patch"]] = torch.eye(k * k, **like)
            patches[..., offsets["slot"]] = slot[:, None, :]
            tokens.append(patches.reshape(b, n * k * k, start))
        if self.goal == "language" and goal is not None:
            if goal.shape != (b, self.goal_dim):
                raise ConfigError(
                    f"goal embeddings: expected ({b}, {self.goal_dim}), got {tuple(goal.shape)}"
                )
            token = torch.zeros(b, 1, start, **like)
            token[..., offsets["flag"]] = 1.0
            token[..., offsets["goal"]] = goal.to(obs_history.dtype)[:, None]
            tokens.append(token)
        return torch.cat(tokens, dim=1)


def fit_codec(
    observations: np.ndarray,
    actions: np.ndarray,
    tasks: tuple[str, ...],
    **settings: Any,
) -> ActionCodec:
    """A codec whose stats are the min/max of observations (N, D) and actions (N, A)."""
    return ActionCodec(
        tasks=tuple(tasks),
        obs_dim=int(observations.shape[-1]),
        action_dim=int(actions.shape[-1]),
        obs_min=tuple(float(v) for v in observations.min(0)),
        obs_max=tuple(float(v) for v in observations.max(0)),
        act_min=tuple(float(v) for v in actions.min(0)),
        act_max=tuple(float(v) for v in actions.max(0)),
        **settings,
    )


def _scale_offset(
    lo: tuple[float, ...], hi: tuple[float, ...], device: torch.device | str
) -> tuple[Tensor, Tensor]:
    """x_n = x * scale + offset maps [lo, hi] to [-1, 1]; constant dims map to 0."""
    lo_t, hi_t = torch.tensor(lo), torch.tensor(hi)
    span = hi_t - lo_t
    const = span < 1e-6
    scale = torch.where(const, torch.ones_like(span), 2.0 / span.clamp_min(1e-6))
    offset = torch.where(const, -lo_t, -1.0 - lo_t * scale)
    return scale.to(device), offset.to(device)
