"""MLP behaviour-cloning baselines on the same demonstrations and codec as the policy DiT.

``single``: observation history → the next action (chunk 1, re-plan every step).
``chunked``: observation history → H actions, execute the first k (as the DiT).
Both regress normalised actions with MSE; they are saved as pretrained directories
(``config.json`` with kind "mlp_bc" + ``model.safetensors``), loaded by
:func:`polydit.policy.load_pretrained`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from polydit.core.errors import ConfigError
from polydit.core.hub import package_version, save_pretrained
from polydit.core.train import TrainConfig, Trainer
from polydit.policy import PACKAGE
from polydit.policy.codec import ActionCodec
from polydit.policy.data import WindowDataset
from polydit.policy.model import MLPConfig, MLPPolicy
from polydit.policy.rollout import ChunkController, SingleEnvPolicy

KINDS = ("single", "chunked")


class MLPBaseline(SingleEnvPolicy):
    """A trained MLP-BC policy with its codec: ``predict(obs_history (B, n_obs, D), task)``;
    ``reset(task)`` / ``act(obs)`` for one environment."""

    def __init__(self, model: MLPPolicy, codec: ActionCodec, kind: str):
        if kind not in KINDS:
            raise ConfigError(f"MLP baseline kind {kind!r}: expected one of {', '.join(KINDS)}")
        self.model, self.codec, self.kind = model.eval(), codec, kind

    @torch.no_grad()
    def predict(self, obs_history: np.ndarray, task: str) -> np.ndarray:
        obs = torch.as_tensor(np.asarray(obs_history), dtype=torch.float32)
        ids = torch.full((obs.shape[0],), self.codec.task_id(task))
        out = self.model(self.codec.context(obs), ids)
        return self.codec.decode(out).numpy()

    def controller(self, task: str) -> ChunkController:
        self.codec.task_id(task)
        steps = 1 if self.kind == "single" else self.codec.n_action_steps
        return ChunkController(
            lambda hist, call: self.predict(hist, task),
            n_obs=self.codec.n_obs,
            n_action_steps=steps,
        )

    def save_pretrained(self, directory: str | Path, metrics: dict[str, Any] | None = None) -> Path:
        config = {
            "kind": "mlp_bc",
            "baseline": self.kind,
            "mlp": self.model.config.to_dict(),
            "codec": self.codec.to_dict(),
        }
        return save_pretrained(
            directory,
            package=PACKAGE,
            version=package_version(PACKAGE),
            config=config,
            state_dict=self.model.state_dict(),
            extra={"metrics.json": metrics} if metrics else None,
        )

    @classmethod
    def from_config(
        cls, config: dict[str, Any], state: dict[str, torch.Tensor], where: str = "config.json"
    ) -> MLPBaseline:
        """Rebuild from a config written by :meth:`save_pretrained` and its weights."""
        model = MLPPolicy(MLPConfig.from_dict(config["mlp"], where=f"{where}: mlp"))
        model.load_state_dict(state)
        return cls(
            model,
            ActionCodec.from_dict(config["codec"], where=f"{where}: codec"),
            config["baseline"],
        )


def train_mlp(
    dataset: WindowDataset,
    kind: str,
    out: str | Path,
    config: TrainConfig,
    *,
    hidden: int = 256,
    depth: int = 3,
    progress: bool = False,
) -> MLPBaseline:
    """Train an MLP-BC baseline on the windows and codec of `dataset`."""
    codec = dataset.codec
    if codec.goal != "task" or codec.image_size:
        raise ConfigError("MLP-BC baselines take state observations and task ids only")
    chunk = 1 if kind == "single" else codec.horizon
    mlp_cfg = MLPConfig(
        in_dim=codec.n_obs * codec.context_dim,
        num_tasks=len(codec.tasks),
        action_dim=codec.action_dim,
        chunk=chunk,
        hidden=hidden,
        depth=depth,
    )
    torch.manual_seed(config.seed)
    model = MLPPolicy(mlp_cfg)

    def loss_fn(net, batch, generator):
        pred = net(codec.condition(batch).context, batch["task"])
        return (pred - codec.encode(batch).x[:, :chunk]).pow(2).mean()

    trainer = Trainer(model, loss_fn, dataset, config, out, progress=progress)
    trainer.fit(resume=True)
    return MLPBaseline(trainer.ema_model.float(), codec, kind)
