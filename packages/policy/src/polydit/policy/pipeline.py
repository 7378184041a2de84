"""`PolicyGenerator`: the policy DiT + its codec; predicts action chunks from observation history.

Receding horizon (Diffusion Policy): predict H actions from the last n_obs observations,
execute the first k (``n_action_steps``), observe, re-plan. :meth:`PolicyGenerator.controller`
returns that loop as a :class:`~polydit.policy.rollout.ChunkController` for the rollout harness.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from polydit.core.accel import ExpertCache
from polydit.core.dit import DiT
from polydit.core.errors import ConfigError
from polydit.core.hub import CONFIG_FILE, resolve_pretrained
from polydit.core.pipeline import Pipeline, SamplingConfig
from polydit.core.tokens import Cond
from polydit.policy import PACKAGE, PRETRAINED
from polydit.policy.codec import ActionCodec
from polydit.policy.rollout import ChunkController, SingleEnvPolicy


class PolicyGenerator(SingleEnvPolicy, Pipeline):
    """``predict(obs_history (B, n_obs, D), task) -> actions (B, H, A)`` in env units; one
    environment: ``reset(task)`` then ``act(obs (D,)) -> action (A,)`` each step."""

    package = PACKAGE
    shipped_root = PRETRAINED
    codec_type = ActionCodec
    codec: ActionCodec

    default_sampling = SamplingConfig(steps=10, sampler="euler")
    #: one network call per batch: a chunk's latency is measured at batch 1 and rollouts batch
    #: 25 environments, where micro-batches of 16 cost 1.4× and 1.7× (a prediction is
    #: reproducible for a fixed batch; the CLI records one episode at a time)
    sample_rows = None
    progress_unit = None  # rollouts count episodes, not action chunks

    def configure(self) -> None:
        self.use_expert_cache = True
        self._experts: tuple[DiT, ExpertCache] | None = None

    @classmethod
    def from_pretrained(
        cls,
        name_or_dir: str | Path,
        device: torch.device | str = "cpu",
        shipped: Path | None = None,
    ) -> PolicyGenerator:
        """The policy DiT of a shipped model name (``"mt10-dit"``, from the installed package)
        or of a pretrained directory. An unknown name is a ConfigError listing the shipped
        models; an MLP-BC baseline's directory one naming :func:`polydit.policy.load_pretrained`,
        which loads either kind."""
        directory = resolve_pretrained(name_or_dir, shipped or PRETRAINED, "name_or_dir")
        if _kind(directory) == "mlp_bc":
            raise ConfigError(
                f"name_or_dir {name_or_dir}: an MLP-BC baseline, not a policy DiT; load it with "
                "polydit.policy.load_pretrained"
            )
        return super().from_pretrained(directory, device)

    @property
    def expert_cache(self) -> ExpertCache:
        """MoDE's expert cache of the current network (experts fixed per (step, task))."""
        if self._experts is None or self._experts[0] is not self.model:
            self._experts = (self.model, ExpertCache(self.model))
        return self._experts[1]

    def __call__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        """``policy(obs_history, task, ...)`` is :meth:`predict` (a policy predicts, it does
        not sample unconditionally)."""
        return self.predict(*args, **kwargs)

    @torch.no_grad()
    def predict(
        self,
        obs_history: np.ndarray | torch.Tensor,
        task: str | list[str],
        *,
        instruction: str | list[str] | None = None,
        seed: int = 0,
        dtype: str = "fp32",
        **overrides: Any,
    ) -> np.ndarray:
        """Action chunks (B, H, A) for observation histories (B, n_obs, D), oldest first.

        task: one task name for the whole batch or one per sample. instruction: a language-goal
        model's sentence(s) instead of the tasks' own instructions. Sample i draws its noise
        from seed + i. overrides: steps, sampler, cache, cache_opts (see Pipeline.generate).
        """
        obs = torch.as_tensor(np.asarray(obs_history), dtype=torch.float32)
        b = obs.shape[0]
        names = [task] * b if isinstance(task, str) else list(task)
        cond = self._cond(obs, names, instruction)
        cache = self.expert_cache if self.use_expert_cache else contextlib.nullcontext()
        template = self.codec.template(b)
        with cache:
            x = self.generate(template, cond, seed=seed, dtype=dtype, **overrides)
        return self.codec.decode(x, template).numpy()

    def _cond(self, obs: torch.Tensor, tasks: list[str], instruction: Any) -> Cond:
        """Conditioning of a batch: the tasks' labels or own instructions, or the embeddings of
        the given instruction(s) for a language-goal model."""
        if instruction is None:
            ids = torch.tensor([self.codec.task_id(n) for n in tasks])
            return self.codec.condition({"obs": obs, "task": ids})
        if self.codec.goal != "language":
            raise ConfigError("instruction: this policy is conditioned on task ids only")
        from polydit.policy.language import encode_goals

        sentences = [instruction] * len(tasks) if isinstance(instruction, str) else instruction
        return self.codec.condition({"obs": obs, "goal": encode_goals(sentences)})

    def controller(
        self,
        task: str,
        *,
        seed: int = 0,
        instruction: str | None = None,
        action_steps: int | None = None,
        **overrides: Any,
    ) -> ChunkController:
        """The receding-horizon controller of `task`: execute k of every H predicted actions
        (k = `action_steps`, default the codec's n_action_steps)."""
        if instruction is None:
            self.codec.task_id(task)

        def predict(obs_history: np.ndarray, call: int) -> np.ndarray:
            return self.predict(
                obs_history, task, instruction=instruction, seed=seed + 1000 * call, **overrides
            )

        k = self.codec.n_action_steps if action_steps is None else action_steps
        if not 1 <= k <= self.codec.horizon:
            raise ConfigError(f"action_steps={k}: expected 1..{self.codec.horizon} (the horizon)")
        return ChunkController(predict, n_obs=self.codec.n_obs, n_action_steps=k)


def _kind(directory: Path) -> str | None:
    """The "kind" of a pretrained directory's config (None: a DiT, or unreadable, which loading
    then reports)."""
    try:
        config = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config.get("kind") if isinstance(config, dict) else None
