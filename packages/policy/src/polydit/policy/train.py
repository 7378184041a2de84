"""Training the policy DiT on collected demonstrations (the core Trainer + flow matching)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from polydit.core.config import JsonConfig, to_dict
from polydit.core.dit import DiT
from polydit.core.errors import ConfigError, DataError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import ProcessConfig, build_process
from polydit.core.tokens import Tokens
from polydit.core.train import TrainConfig, Trainer, warm_start
from polydit.policy.codec import ActionCodec, CodecConfig, fit_codec
from polydit.policy.data import clip_labels, make_windows
from polydit.policy.env import ACTION_LIMIT, INSTRUCTIONS
from polydit.policy.io import Episode, load_episodes
from polydit.policy.model import policy_dit_config
from polydit.policy.pipeline import PolicyGenerator


@dataclass(frozen=True)
class PolicyTrainConfig(JsonConfig):
    """Settings of `train` (``--config`` JSON keys): chunking, model size, optimisation.

    goal: "task" (task id through adaLN) or "language" (the task's instruction embedded by the
    offline sentence encoder, one context token; needs the ``text`` extra).
    image_size, patch: data collected with ``collect --image-size S`` (state + S×S frame per
    observation): the frames become (S/patch)² patch tokens per observation of the history.
    action_clip: expert labels are clipped to [-action_clip, action_clip] before fitting the
    normalisation (None: raw labels, as the first shipped model was trained; see
    :func:`~polydit.policy.data.clip_labels`).
    """

    horizon: int = 16
    n_obs: int = 2
    n_action_steps: int = 8
    hidden: int = 128
    depth: int = 4
    heads: int = 4
    moe: bool = False
    num_experts: int = 4
    top_k: int = 2
    sampling_steps: int = 10
    goal: str = "task"
    image_size: int = 0
    patch: int = 8
    action_clip: float | None = ACTION_LIMIT  # clip expert labels to the env's action box
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=20000,
            batch_size=256,
            lr=3e-4,
            weight_decay=1e-3,
            warmup_steps=500,
            ema_decay=0.999,
            checkpoint_every=500,
            log_every=50,
        )
    )


class WindowDataset:
    """Normalised training windows as tensors: context (W, n_obs, C), actions (W, H, A), task.

    goals: (num_tasks, goal_dim) instruction embeddings of a language-goal codec; the goal
    token of each window is appended per batch.
    """

    def __init__(self, episodes: list[Episode], codec: ActionCodec, goals: Tensor | None = None):
        cfg = codec.config
        if (goals is None) != (cfg.goal != "language"):
            raise ConfigError("WindowDataset: goal embeddings go with a language-goal codec")
        win = make_windows(episodes, cfg.tasks, cfg.n_obs, cfg.horizon)
        self.codec, self.goals = codec, goals
        self.obs = torch.from_numpy(win.obs)
        self.context = codec.context(self.obs) if goals is None else None
        self.actions = codec.normalize_actions(torch.from_numpy(win.actions))
        self.task = torch.from_numpy(win.task)
        self.positions = codec.positions(1)[0]

    def __len__(self) -> int:
        return self.task.shape[0]

    def __getitem__(self, i: int) -> dict[str, Tensor]:
        return self.batch(torch.tensor([i]))

    def batch(self, idx: Tensor) -> dict[str, Tensor]:
        if self.goals is None:
            context = self.context[idx]
        else:
            context = self.codec.context(self.obs[idx], self.goals[self.task[idx]])
        return {"context": context, "actions": self.actions[idx], "task": self.task[idx]}


def training_episodes(data: str | Path, settings: PolicyTrainConfig) -> list[Episode]:
    """The successful episodes under `data`, labels clipped as `settings.action_clip` says."""
    episodes = [ep for ep in load_episodes(data) if ep.success]
    if not episodes:
        raise DataError(f"{data}: holds no successful episode to train on")
    return clip_labels(episodes, settings.action_clip)


def fit_codec_on(episodes: list[Episode], settings: PolicyTrainConfig) -> CodecConfig:
    """Codec stats and task list of a set of episodes."""
    tasks = tuple(sorted({ep.task for ep in episodes}))
    obs = np.concatenate([ep.observations for ep in episodes])
    act = np.concatenate([ep.actions for ep in episodes])
    return fit_codec(
        obs,
        act,
        tasks,
        horizon=settings.horizon,
        n_obs=settings.n_obs,
        n_action_steps=settings.n_action_steps,
        demo_seed_max=max(ep.seed for ep in episodes),
        image_size=settings.image_size,
        patch=settings.patch,
        **_goal_settings(tasks, settings.goal),
    )


def _goal_settings(tasks: tuple[str, ...], goal: str) -> dict[str, Any]:
    if goal != "language":
        return {"goal": goal}
    from polydit.policy.language import GOAL_DIM

    missing = [t for t in tasks if t not in INSTRUCTIONS]
    if missing:
        raise ConfigError(f"goal 'language': no instruction for task(s) {', '.join(missing)}")
    return {
        "goal": "language",
        "goal_dim": GOAL_DIM,
        "instructions": tuple(INSTRUCTIONS[t] for t in tasks),
    }


def goal_table(codec: CodecConfig) -> Tensor | None:
    """(num_tasks, goal_dim) embeddings of the codec's instructions (None for task ids)."""
    if codec.goal != "language":
        return None
    from polydit.policy.language import encode_goals

    return encode_goals(codec.instructions)


def warm_start_policy(model: DiT, source: str | Path, codec: CodecConfig) -> CodecConfig:
    """Load the weights of the pretrained policy directory `source` into `model` (the same
    network, tasks, horizon and history) and return the codec to train with: the source's
    normalisation stats (the weights expect them) with the largest demo seed of both."""
    init = PolicyGenerator.from_pretrained(source)
    src = init.codec.config
    for name in ("tasks", "obs_dim", "action_dim", "horizon", "n_obs"):
        if getattr(src, name) != getattr(codec, name):
            raise ConfigError(
                f"--init-from {source}: codec {name} {getattr(src, name)} differs from the "
                f"data/config's {getattr(codec, name)}"
            )
    warm_start(model, init.model, source)
    return replace(
        src,
        n_action_steps=codec.n_action_steps,
        demo_seed_max=max(src.demo_seed_max, codec.demo_seed_max),
    )


def flow_loss(process):
    """loss_fn for the Trainer: flow matching on action chunks + the MoE balance loss."""
    from polydit.core.tokens import Cond

    def loss_fn(model: nn.Module, batch: dict[str, Tensor], generator: torch.Generator):
        b, h, _ = batch["actions"].shape
        pos = torch.arange(h, dtype=torch.float32).view(1, h, 1).expand(b, -1, -1)
        tokens = Tokens(batch["actions"], pos)
        labels = batch["task"] if getattr(model, "module", model).config.num_classes else None
        cond = Cond(labels=labels, context=batch["context"])
        fm = process.training_loss(model, tokens, cond, generator)
        aux = getattr(model, "module", model).aux_loss().to(fm.device)
        return {"loss": fm + aux, "flow": fm.detach()}

    return loss_fn


def train_policy(
    data: str | Path,
    out: str | Path,
    settings: PolicyTrainConfig,
    *,
    resume: bool = False,
    init_from: str | Path | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> tuple[PolicyGenerator, dict[str, Any]]:
    """Train the policy DiT on the episodes under `data`; save `out/model` (pretrained dir).

    init_from: a pretrained policy directory to start from (its weights and normalisation;
    fresh optimizer, LR schedule and EMA warm-up); with `resume`, the checkpoint wins.
    """
    out = Path(out)
    episodes = training_episodes(data, settings)
    codec_cfg = fit_codec_on(episodes, settings)
    model_cfg = policy_dit_config(
        codec_cfg,
        hidden=settings.hidden,
        depth=settings.depth,
        heads=settings.heads,
        moe=settings.moe,
        num_experts=settings.num_experts,
        top_k=settings.top_k,
    )
    torch.manual_seed(settings.train.seed)
    model = DiT(model_cfg)
    if init_from is not None:
        codec_cfg = warm_start_policy(model, init_from, codec_cfg)
    dataset = WindowDataset(episodes, ActionCodec(codec_cfg), goal_table(codec_cfg))
    process = build_process(ProcessConfig(kind="flow_matching", t_sampling="uniform"))
    trainer = Trainer(
        model, flow_loss(process), dataset, settings.train, out, device=device, progress=progress
    )
    result = trainer.fit(resume=resume)
    generator = PolicyGenerator(
        trainer.ema_model.float().cpu(),
        process,
        SamplingConfig(steps=settings.sampling_steps, sampler="euler"),
        codec_cfg,
    )
    info = {
        "episodes": len(episodes),
        "windows": len(dataset),
        "steps": result.step,
        "init_from": None if init_from is None else str(init_from),
        "final_loss": result.loss,
        "train_seconds_this_call": result.wall_time,
        "settings": to_dict(settings),
    }
    generator.save_pretrained(out / "model", metrics={"training": info})
    return generator, info
