"""Training the policy DiT on collected demonstrations: the spec, the flow-matching loss and
the warm start (data: :func:`~polydit.policy.data.demonstrations`); core `fit` does the rest."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from polydit.core.dit import DiT
from polydit.core.errors import ConfigError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import ProcessConfig, build_process
from polydit.core.train import LossFn, Recipe, TrainConfig, TrainSpec, warm_start
from polydit.policy.data import WindowDataset, demonstrations
from polydit.policy.env import ACTION_LIMIT
from polydit.policy.model import policy_dit_config
from polydit.policy.pipeline import PolicyGenerator


@dataclass(frozen=True)
class PolicyTrainSpec(TrainSpec):
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
    train: TrainConfig = TrainConfig(
        steps=20000, batch_size=256, lr=3e-4, weight_decay=1e-3, warmup_steps=500
    )


def build(spec: PolicyTrainSpec, dataset: WindowDataset, seed: int) -> PolicyGenerator:
    """A fresh policy DiT on the data's codec under flow matching (uniform t), Euler sampling."""
    config = policy_dit_config(
        dataset.codec,
        hidden=spec.hidden,
        depth=spec.depth,
        heads=spec.heads,
        moe=spec.moe,
        num_experts=spec.num_experts,
        top_k=spec.top_k,
    )
    torch.manual_seed(seed)
    model = DiT(config)
    process = build_process(ProcessConfig(kind="flow_matching", t_sampling="uniform"))
    sampling = SamplingConfig(steps=spec.sampling_steps, sampler="euler")
    return PolicyGenerator(model, process, sampling, codec=dataset.codec)


def flow_loss(spec: PolicyTrainSpec, pipeline: PolicyGenerator) -> LossFn:
    """Flow matching on the codec's action tokens given its conditioning + the MoE balance loss."""

    def loss_fn(model: nn.Module, batch: dict[str, Tensor], generator: torch.Generator):
        codec = pipeline.codec
        fm = pipeline.process.training_loss(
            model, codec.encode(batch), codec.condition(batch), generator
        )
        aux = getattr(model, "module", model).aux_loss().to(fm.device)
        return {"loss": fm + aux, "flow": fm.detach()}

    return loss_fn


def adopt_donor(pipeline: PolicyGenerator, donor: PolicyGenerator, source: str) -> PolicyGenerator:
    """``--init-from``: the donor's weights and its normalisation stats (the weights expect
    them), with this run's k and the largest demo seed of both; tasks, dimensions, horizon and
    history must match."""
    mine, theirs = pipeline.codec, donor.codec
    for name in ("tasks", "obs_dim", "action_dim", "horizon", "n_obs"):
        if getattr(theirs, name) != getattr(mine, name):
            raise ConfigError(
                f"--init-from {source}: codec {name} {getattr(theirs, name)} differs from the "
                f"data/config's {getattr(mine, name)}"
            )
    warm_start(pipeline.model, donor.model, source)
    pipeline.codec = theirs.replace(
        n_action_steps=mine.n_action_steps,
        demo_seed_max=max(theirs.demo_seed_max, mine.demo_seed_max),
    )
    return pipeline


RECIPE = Recipe(
    "policy", PolicyTrainSpec, PolicyGenerator, demonstrations, build, flow_loss, adopt_donor
)
