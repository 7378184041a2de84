"""Training the joint molecule + crystal DiT (``polydit-molecule train --data qm9+crystals``).

Each batch mixes both kinds (:class:`JointSet`, crystals a fraction ``crystal_fraction`` of the
samples on average). The molecule rows get the molecule model's augmentation (a random rotation,
:func:`molecule_tokens`) and centred noise; the crystal rows the crystal model's (a random
wrapped translation, :func:`crystal_tokens`) and plain noise. Both are moved into the joint
layout, padded to one length and trained with one masked flow-matching MSE, conditioned on the
class label of their kind.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from polydit.core.atomic import atomic_write_text
from polydit.core.config import JsonConfig, to_dict
from polydit.core.errors import CheckpointError
from polydit.core.pipeline import SamplingConfig
from polydit.core.process import AffineProcess, ProcessConfig, build_process
from polydit.core.tokens import Cond, Tokens
from polydit.core.train import TrainConfig, Trainer
from polydit.core.train.checkpoint import list_checkpoints, load_checkpoint
from polydit.molecule.codec import AtomCodec, centre
from polydit.molecule.crystal_train import crystal_tokens
from polydit.molecule.joint_codec import KINDS, JointCodec, kind_label
from polydit.molecule.joint_data import JointSet
from polydit.molecule.joint_model import JointDiT, channel_masks, joint_dit_config
from polydit.molecule.joint_pipeline import JointGenerator
from polydit.molecule.train import molecule_tokens

SPEC_FILE = "spec.json"


@dataclass(frozen=True)
class JointTrainSpec(JsonConfig):
    """Everything ``train --data MOLECULES+CRYSTALS --config`` can set (unknown keys are an error).

    preset + hidden/depth/heads: the DiT size; pair_bias: the distance pair head on molecule
    rows; rotate / translate: each kind's augmentation; centre_noise: zero-centre-of-mass noise
    for molecules; crystal_fraction: share of crystals among the training samples;
    kind_channels: each row reads (and is noised on) only its kind's channels;
    own_channel_loss: a token's error is the mean over its kind's channels (not over all C, which
    weighs a molecule token 8/C and a crystal token about 9× more); max_atoms:
    the per-cell atom cap of the crystals; sampling: each kind's default sampler.
    """

    preset: str = "small"
    hidden: int | None = None
    depth: int | None = None
    heads: int | None = None
    pair_bias: bool = True
    rotate: bool = True
    translate: bool = True
    centre_noise: bool = True
    crystal_fraction: float = 0.25
    kind_channels: bool = True
    own_channel_loss: bool = False
    max_atoms: int = 20
    process: ProcessConfig = field(
        default_factory=lambda: ProcessConfig(kind="flow_matching", prediction="velocity")
    )
    molecule_sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(steps=100, sampler="ddpm")
    )
    crystal_sampling: SamplingConfig = field(
        default_factory=lambda: SamplingConfig(steps=100, sampler="euler")
    )
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            steps=6000,
            batch_size=64,
            lr=1e-3,
            warmup_steps=200,
            schedule="constant",
            ema_decay=0.999,
            checkpoint_every=250,
            keep_checkpoints=100,
            log_every=50,
        )
    )


def pad_cat(parts: list[Tokens]) -> Tokens:
    """Joint tokens of several batches (B_i, L_i, C) → one (ΣB_i, max L_i, C), padding masked."""
    length = max(p.x.shape[1] for p in parts)
    xs, masks, pos = [], [], []
    for p in parts:
        extra = length - p.x.shape[1]
        xs.append(torch.nn.functional.pad(p.x, (0, 0, 0, extra)))
        masks.append(torch.nn.functional.pad(p.mask, (0, extra), value=False))
        pos.append(torch.nn.functional.pad(p.pos, (0, 0, 0, extra), value=1.0))
    return Tokens(torch.cat(xs), torch.cat(pos), torch.cat(masks))


def make_joint_loss(
    codec: JointCodec,
    process: AffineProcess,
    *,
    rotate: bool = True,
    translate: bool = True,
    centre_noise: bool = True,
    kind_channels: bool = True,
    own_channel_loss: bool = False,
):
    """loss(model, batch, generator) for :meth:`JointSet.batch` batches (see module docstring);
    with `kind_channels` a row's noise is zero outside its kind's channels (target zero there);
    with `own_channel_loss` each token's error is averaged over its kind's channels only."""
    masks = channel_masks(codec, kind_channels)
    own_masks = channel_masks(codec, True)

    def loss(model: torch.nn.Module, batch: dict[str, Any], generator) -> torch.Tensor:
        parts, labels = [], []
        for kind in KINDS:
            if kind not in batch:
                continue
            if kind == "molecule":
                own = molecule_tokens(codec.molecule, batch[kind], generator, rotate)
            else:
                own = crystal_tokens(codec.crystal, batch[kind], generator, translate)
            parts.append(codec.to_joint(kind, own))
            labels.append(torch.full((own.x.shape[0],), kind_label(kind), dtype=torch.long))
        tokens = pad_cat(parts)
        label = torch.cat(labels).to(tokens.x.device)
        noise = torch.randn(tokens.x.shape, generator=generator).to(tokens.x)
        noise = noise * masks.to(noise)[label][:, None, :]
        if centre_noise:
            rows = label == kind_label("molecule")
            noise[rows] = centre(noise[rows], tokens.mask[rows])
        weights = own_masks.to(noise)[label] if own_channel_loss else None
        return process.training_loss(
            model, tokens, Cond(labels=label), generator, noise=noise, channel_weight=weights
        )

    return loss


def build_joint_generator(spec: JointTrainSpec, data: JointSet, seed: int = 0) -> JointGenerator:
    """A freshly initialised joint generator for `data` (seeded)."""
    molecule = AtomCodec(data.molecules.atom_types, data.crystals.codec.type_scale)
    codec = JointCodec(molecule, data.crystals.codec)
    torch.manual_seed(seed)
    config = joint_dit_config(
        codec, spec.preset, hidden=spec.hidden, depth=spec.depth, heads=spec.heads
    )
    return JointGenerator(
        JointDiT(config, channel_masks(codec, spec.kind_channels), pair_bias=spec.pair_bias),
        build_process(spec.process),
        codec=codec,
        size_histograms={
            "molecule": data.molecules.size_histogram(),
            "crystal": data.crystals.size_histogram(),
        },
        data={"molecule": data.molecules.name, "crystal": data.crystals.name},
        kind_sampling={"molecule": spec.molecule_sampling, "crystal": spec.crystal_sampling},
        centre_noise=spec.centre_noise,
    )


def train_joint(
    spec: JointTrainSpec,
    data: JointSet,
    out: Path,
    *,
    resume: bool = False,
    seed: int = 0,
    device: str = "cpu",
    progress: bool = True,
) -> tuple[JointGenerator, float]:
    """Train on `data`; write out/spec.json (+ the codec) and the EMA model to out/model."""
    generator = build_joint_generator(spec, data, seed)
    record = {
        "spec": to_dict(spec),
        "data": data.name,
        "seed": seed,
        "codec": generator.codec_config(),
    }
    atomic_write_text(Path(out) / SPEC_FILE, json.dumps(record, indent=2) + "\n")
    loss = make_joint_loss(
        generator.codec,
        generator.process,
        rotate=spec.rotate,
        translate=spec.translate,
        centre_noise=spec.centre_noise,
        kind_channels=spec.kind_channels,
        own_channel_loss=spec.own_channel_loss,
    )
    train_cfg = dataclasses.replace(spec.train, seed=seed)
    trainer = Trainer(generator.model, loss, data, train_cfg, out, device=device, progress=progress)
    result = trainer.fit(resume=resume)
    generator.model = trainer.ema_model.eval()
    generator.save_pretrained(Path(out) / "model")
    return generator, result.wall_time


def joint_generator_from_run(run: Path, step: int | None = None) -> JointGenerator:
    """The EMA weights of a run's checkpoint (newest, or `step`) as a joint generator."""
    saved = json.loads((Path(run) / SPEC_FILE).read_text())
    spec = JointTrainSpec.from_dict(saved["spec"], where=f"{run}/{SPEC_FILE}")
    found = dict(list_checkpoints(Path(run) / "checkpoints"))
    if not found:
        raise CheckpointError(f"{run}/checkpoints: no checkpoint")
    chosen = max(found) if step is None else step
    if chosen not in found:
        raise CheckpointError(f"{run}/checkpoints: no checkpoint at step {step}")
    codec = saved["codec"]
    config = joint_dit_config(
        JointCodec.from_dict(codec["joint"]),
        spec.preset,
        hidden=spec.hidden,
        depth=spec.depth,
        heads=spec.heads,
    )
    model = JointGenerator.build_model(config, codec)
    model.load_state_dict(load_checkpoint(found[chosen])["ema"])
    return JointGenerator.from_configs(
        model, build_process(spec.process), spec.molecule_sampling, codec
    )
