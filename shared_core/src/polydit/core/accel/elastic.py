"""Elastic DiT (E-DiT): learned, sample-dependent block skipping and MLP width.

Each block gets a small router that reads the block's conditioning (time + labels, c (B, D)) and
the mean of its input tokens (B, D) and decides per sample and per evaluation whether the block
runs and, if it runs, how much of its MLP hidden width it uses: the first k hidden units (rows of
fc1, columns of fc2, sliced from the weights, never copied). The routers train briefly on top of
a frozen model (:func:`train_routers`); sampling follows their decisions through
:class:`ElasticCache` (``--cache elastic --cache-opts routers=PATH``), where a skipped block
either drops its residual (``skip=identity``) or reuses its attention/MLP features from the last
evaluation where it ran in the same CFG branch (``skip=cache``: E-DiT's router-driven block
cache). Training simulates the same choice (``ElasticConfig.skip``); for "cache" the reused
features are the full model's at a slightly earlier time of the same sample.

Training objective: distillation, the mean squared error between the routed network's output and
the frozen full network's output on the same input (weighted to uniform time, as a sampler's grid
visits it), plus ``penalty · (expected compute − budget)²``. Distillation rather than the model's
own diffusion loss because (1) the routers' job is to keep what the frozen model does, and the
full model is the best attainable output (zero loss at full compute), while the diffusion target
(e.g. noise − data) carries irreducible variance that drowns the small differences between
routing choices; (2) it needs only the model's inputs, so it is the same for every domain,
whatever its loss: a domain's own training loss only serves to draw those inputs (noised data at
sampled times with its conditioning), see :func:`train_routers`.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as Fn
from torch import Tensor, nn

from polydit.core.accel import features as F
from polydit.core.accel.base import CacheMethod
from polydit.core.atomic import atomic_write
from polydit.core.config import JsonConfig
from polydit.core.dit import DiT
from polydit.core.errors import CheckpointError, ConfigError, DataError, TrainingDiverged
from polydit.core.nn.blocks import BlockInputs, DiTBlock, modulate
from polydit.core.nn.mlp import MLP
from polydit.core.process.base import hold_given, masked_mse, token_weight
from polydit.core.tokens import Cond, Tokens

ROUTERS_FORMAT = "polydit-elastic-routers/1"
#: the initial run logit (σ(4) ≈ 0.98) and full-width logit: fresh routers start at the full model
RUN_BIAS, FULL_WIDTH_BIAS = 4.0, 2.0
SKIP_MODES = ("identity", "cache")


@dataclass(frozen=True)
class ElasticConfig(JsonConfig):
    """The routers and their training.

    budget: target expected compute, a fraction of the full network's block multiply-adds.
    widths: MLP width ratios a running block chooses from, ascending, the last 1.0.
    hidden: router hidden size. threshold: at sampling a block runs where its router's run
    probability is ≥ threshold. penalty: λ of λ·(expected compute − budget)².
    temperature: of the Gumbel noise of the training's straight-through decisions.
    skip: what a skipped block does in training, and by default at sampling: "identity" (drops
    its residual) or "cache" (reuses its features from an earlier evaluation: in training, the
    full model's at a time up to `reuse_gap` nearer the noise, on the model's own deterministic
    path through the sample, x_t' = α(t')·x̂0 + σ(t')·ε̂).
    lr: AdamW learning rate of the routers. batch_size: training batch (the CLI's).
    """

    budget: float = 0.6
    widths: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)
    hidden: int = 64
    threshold: float = 0.5
    penalty: float = 10.0
    temperature: float = 1.0
    skip: str = "cache"
    reuse_gap: float = 0.2
    lr: float = 3e-3
    batch_size: int = 64

    def __post_init__(self) -> None:
        if self.skip not in SKIP_MODES:
            raise ConfigError(
                f"ElasticConfig.skip={self.skip!r}: expected one of {', '.join(SKIP_MODES)}"
            )
        if not 0 <= self.reuse_gap <= 1:
            raise ConfigError(f"ElasticConfig.reuse_gap={self.reuse_gap}: expected one in [0, 1]")
        if not 0 < self.budget <= 1:
            raise ConfigError(f"ElasticConfig.budget={self.budget}: expected a fraction in (0, 1]")
        ws = self.widths
        if not ws or ws[0] <= 0 or ws[-1] != 1.0 or any(a >= b for a, b in itertools.pairwise(ws)):
            raise ConfigError(
                f"ElasticConfig.widths={list(ws)}: expected ascending ratios in (0, 1] ending at 1.0"
            )
        if not 0 < self.threshold < 1:
            raise ConfigError(f"ElasticConfig.threshold={self.threshold}: expected one in (0, 1)")
        for name in ("hidden", "penalty", "temperature", "lr", "batch_size"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"ElasticConfig.{name}={getattr(self, name)}: expected > 0")


# --- one block at a reduced MLP width ---------------------------------------------------------
def narrowable(block: nn.Module) -> bool:
    """Whether `block`'s MLP width can be reduced: a DiT block with a plain (ungated) MLP."""
    return isinstance(block, DiTBlock) and isinstance(block.mlp, MLP)


def width_units(block: nn.Module, widths: tuple[float, ...]) -> list[int | None]:
    """Hidden units kept at each width ratio: the first k of the MLP; None = the whole block
    (ratio 1.0, and every ratio of a block whose width cannot be reduced)."""
    if not narrowable(block):
        return [None] * len(widths)
    full = block.mlp.fc1.out_features
    units = [max(1, round(r * full)) for r in widths]
    return [None if k == full else k for k in units]


def width_fractions(block: nn.Module, widths: tuple[float, ...], tokens: int) -> Tensor:
    """(W,) compute of the block at each width ratio over `tokens` tokens, as a fraction of the
    whole block: multiply-adds per token, attention 4D² + 2·tokens·D (projections and scores),
    MLP 2·D·k for k hidden units; 1 at every ratio for a block whose width cannot be reduced."""
    if not narrowable(block):
        return torch.ones(len(widths))
    dim, full = block.mlp.fc1.in_features, block.mlp.fc1.out_features
    attn, mlp = 4 * dim * dim + 2 * tokens * dim, 2 * dim * full
    units = [full if k is None else k for k in width_units(block, widths)]
    return torch.tensor([(attn + mlp * k / full) / (attn + mlp) for k in units])


def narrow_mlp(mlp: MLP, x: Tensor, units: int) -> Tensor:
    """`mlp` on x (B, L, D) with only its first `units` hidden units (views of the weights)."""
    hidden = Fn.linear(x, mlp.fc1.weight[:units], mlp.fc1.bias[:units])  # (B, L, units)
    return Fn.linear(Fn.gelu(hidden, approximate="tanh"), mlp.fc2.weight[:, :units], mlp.fc2.bias)


def compute(
    block: nn.Module, h: Tensor, inputs: BlockInputs, units: int | None
) -> tuple[Tensor, F.Features]:
    """`block` on h (B, L, D) with its MLP cut to its first `units` hidden units (None: the
    block's own forward, exactly), and the features a cache keeps (see :mod:`.features`)."""
    if units is None:
        return F.compute(block, h, inputs)
    shift1, scale1, gate1, shift2, scale2, gate2 = block.modulation(inputs)
    attn = block.attn_branch(h, shift1, scale1, inputs)
    x = h + gate1 * attn
    mlp = narrow_mlp(block.mlp, modulate(block.norm2(x), shift2, scale2), units)
    return x + gate2 * mlp, (attn, mlp)


def _masked_block(block: DiTBlock, h: Tensor, inputs: BlockInputs, keep: Tensor) -> Tensor:
    """`block` on h (B, L, D) with its MLP hidden units scaled by keep (B, 1, H): a 0/1 prefix
    mask (with straight-through gradients) in training, so one pass serves every width."""
    shift1, scale1, gate1, shift2, scale2, gate2 = block.modulation(inputs)
    x = h + gate1 * block.attn_branch(h, shift1, scale1, inputs)
    mlp = block.mlp
    hidden = Fn.gelu(mlp.fc1(modulate(block.norm2(x), shift2, scale2)), approximate="tanh")
    return x + gate2 * mlp.fc2(hidden * keep)


# --- the routers ------------------------------------------------------------------------------
class Router(nn.Module):
    """One block's router: [LN(c); LN(mean of h)] (B, 2D) → run logit (B,), width logits (B, W).
    Its output layer starts at zero weights, so a fresh router runs the full block."""

    def __init__(self, dim: int, hidden: int, widths: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2 * dim, hidden), nn.SiLU(), nn.Linear(hidden, 1 + widths)
        )
        out = self.net[2]
        nn.init.zeros_(out.weight)
        with torch.no_grad():
            out.bias.zero_()
            out.bias[0], out.bias[-1] = RUN_BIAS, FULL_WIDTH_BIAS

    def forward(self, c: Tensor, summary: Tensor) -> tuple[Tensor, Tensor]:
        x = torch.cat(
            [Fn.layer_norm(c, c.shape[-1:]), Fn.layer_norm(summary, summary.shape[-1:])], -1
        )
        out = self.net(x)  # (B, 1 + W)
        return out[:, 0], out[:, 1:]


def token_summary(h: Tensor, inputs: BlockInputs) -> Tensor:
    """(B, D) mean of the generated stream's real tokens of h (B, L, D)."""
    x = h[:, inputs.num_context :]
    if inputs.mask is None:
        return x.mean(1)
    real = inputs.mask[:, inputs.num_context :, None].to(x.dtype)  # (B, N, 1)
    return (x * real).sum(1) / real.sum(1).clamp_min(1)


class ElasticRouters(nn.Module):
    """A :class:`Router` per block of a DiT of width `dim` and `depth` blocks."""

    def __init__(self, config: ElasticConfig, dim: int, depth: int):
        super().__init__()
        self.config, self.dim, self.depth = config, dim, depth
        self.routers = nn.ModuleList(
            Router(dim, config.hidden, len(config.widths)) for _ in range(depth)
        )

    @classmethod
    def for_model(cls, model: DiT, config: ElasticConfig) -> ElasticRouters:
        return cls(config, model.config.hidden, len(model.blocks))

    def logits(self, index: int, h: Tensor, inputs: BlockInputs) -> tuple[Tensor, Tensor]:
        """Block `index`'s run logit (B,) and width logits (B, W) for its input h (B, L, D)."""
        return self.routers[index](inputs.c[:, 0], token_summary(h, inputs))

    def decide(
        self, index: int, h: Tensor, inputs: BlockInputs, threshold: float
    ) -> tuple[Tensor, Tensor]:
        """Block `index`'s decisions for h (B, L, D): run (B,) bool where the run probability is
        ≥ `threshold`, and width (B,) long, the index of the most likely width ratio."""
        run, width = self.logits(index, h, inputs)
        return torch.sigmoid(run.float()) >= threshold, width.argmax(-1)

    def check(self, blocks: nn.ModuleList, where: str) -> None:
        """A ConfigError naming `where` unless these routers were made for `blocks`."""
        dim = getattr(getattr(blocks[0], "norm1", None), "normalized_shape", (None,))[0]
        if len(blocks) != self.depth or dim not in (None, self.dim):
            raise ConfigError(
                f"{where}: routers for {self.depth} blocks of width {self.dim}; this model has "
                f"{len(blocks)} blocks of width {dim}"
            )

    def save(self, path: str | Path) -> Path:
        """Write the routers as one safetensors file, the config in its metadata, atomically."""
        from safetensors.torch import save

        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        meta = {
            "format": ROUTERS_FORMAT,
            "config": json.dumps(self.config.to_dict()),
            "dim": str(self.dim),
            "depth": str(self.depth),
        }
        return atomic_write(path, lambda f: f.write(save(state, metadata=meta)))

    @classmethod
    def load(cls, path: str | Path) -> ElasticRouters:
        """Routers written by :meth:`save`; a CheckpointError naming the file otherwise."""
        from safetensors import safe_open

        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"--cache-opts routers={path}: no such file")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
        except Exception as e:  # safetensors raises its own error types
            raise CheckpointError(f"{path}: not a readable safetensors file ({e})") from None
        if meta.get("format") != ROUTERS_FORMAT:
            raise CheckpointError(f"{path}: not a router file (format {meta.get('format')!r})")
        config = ElasticConfig.from_dict(json.loads(meta["config"]), where=f"{path}: config")
        routers = cls(config, int(meta["dim"]), int(meta["depth"]))
        try:
            routers.load_state_dict(state)
        except RuntimeError as e:
            raise CheckpointError(f"{path}: weights do not fit its config ({e})") from None
        return routers.eval()


# --- sampling ---------------------------------------------------------------------------------
@dataclass
class ElasticCache(CacheMethod):
    """E-DiT at sampling: per evaluation and sample, each block's router decides whether the
    block runs and at which MLP width. Rows that make the same choice run together; a skipped
    row drops the block's residual (skip = "identity") or reuses the block's features from the
    last evaluation where it ran (skip = "cache"; a block runs until it has some).
    routers: a router file (:meth:`ElasticRouters.save`) or the routers themselves;
    threshold: the run-probability threshold, < 0 (default) for the one stored with them;
    skip: "" (default) for the routers' training mode (``ElasticConfig.skip``);
    max_age: with skip = "cache", a row whose block features are this many evaluations old runs
    the block (0: no limit) — the routers were trained on features at most one reuse_gap old.
    Usage counts a block run at a reduced width as its fraction of the block's compute.
    """

    routers: str | ElasticRouters = ""
    threshold: float = -1.0
    skip: str = ""
    max_age: int = 2
    model: ElasticRouters = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.skip not in ("", *SKIP_MODES):
            raise ConfigError(
                f"--cache-opts skip={self.skip!r}: expected one of {', '.join(SKIP_MODES)}"
            )
        if self.max_age < 0:
            raise ConfigError(f"--cache-opts max_age={self.max_age}: expected ≥ 0")
        if self.threshold >= 1:
            raise ConfigError(f"--cache-opts threshold={self.threshold}: expected one below 1")
        if isinstance(self.routers, ElasticRouters):
            self.model = self.routers
        elif not self.routers:
            raise ConfigError("--cache-opts routers=PATH: --cache elastic needs a router file")
        else:
            self.model = ElasticRouters.load(self.routers)
        if self.threshold < 0:
            self.threshold = self.model.config.threshold
        self.skip = self.skip or self.model.config.skip

    def run(self, blocks, h, inputs, ctx, state, usage):
        routers, widths = self.model, self.model.config.widths
        if "units" not in state.store:
            routers.check(blocks, "--cache-opts routers")
            routers.to(h.device)
            state.store["units"] = [width_units(b, widths) for b in blocks]
            state.store["fractions"] = [width_fractions(b, widths, h.shape[1]) for b in blocks]
            state.store["feats"] = [None] * len(blocks)
            state.store["age"] = [None] * len(blocks)  # (B,) evaluations since each row ran
        feats, age = state.store["feats"], state.store["age"]
        usage.total += len(blocks)
        for i, block in enumerate(blocks):
            with torch.no_grad():
                run, width = routers.decide(i, h, inputs, self.threshold)
            if self.skip == "cache":
                if feats[i] is None:
                    run = torch.ones_like(run)
                elif self.max_age:
                    run = run | (age[i] >= self.max_age)
                age[i] = torch.where(run, 0, 1 if age[i] is None else age[i] + 1)
            fraction = state.store["fractions"][i][width.cpu()]
            usage.computed += float((run.cpu() * fraction).mean())
            keep = self.skip == "cache"
            units = state.store["units"][i]
            h, kept = _routed_block(block, h, inputs, run, width, units, feats[i], keep)
            if self.skip == "cache":
                feats[i] = kept
        return h


def _routed_block(
    block: nn.Module,
    h: Tensor,
    inputs: BlockInputs,
    run: Tensor,
    width: Tensor,
    units: list[int | None],
    cached: F.Features | None,
    keep: bool,
) -> tuple[Tensor, F.Features | None]:
    """One block for h (B, L, D) under per-row decisions run (B,) bool and width (B,) long: the
    block output and, with `keep`, its features — fresh for the rows that ran, `cached` for the
    others. A skipped row reuses `cached`, or passes h through where there is none."""
    if bool(run.all()) and bool((width == width[0]).all()):
        out, feats = compute(block, h, inputs, units[int(width[0])])
        return out, feats if keep else None
    out = h if cached is None else F.reuse(block, h, inputs, cached)
    kept = cached
    for j in width[run].unique().tolist():
        rows = (run & (width == j)).nonzero().squeeze(1)
        sub, fresh = compute(block, h[rows], _rows(inputs, rows, h.shape[0]), units[j])
        out = out.index_copy(0, rows, sub)
        if keep:
            if kept is None:  # only when every row runs: each row gets its own features
                kept = tuple(f.new_zeros((h.shape[0], *f.shape[1:])) for f in fresh)
            kept = tuple(f.index_copy(0, rows, s) for f, s in zip(kept, fresh, strict=True))
    return out, kept


def _rows(inputs: BlockInputs, rows: Tensor, batch: int) -> BlockInputs:
    """The BlockInputs of the batch rows `rows` (per-sample tensors indexed, shared ones kept)."""

    def take(t: Tensor | None) -> Tensor | None:
        return t if t is None or t.shape[0] != batch else t[rows]

    rope = None if inputs.rope is None else (take(inputs.rope[0]), take(inputs.rope[1]))
    return BlockInputs(
        c=take(inputs.c),
        slot=take(inputs.slot),
        rope=rope,
        mask=take(inputs.mask),
        bias=take(inputs.bias),
        num_context=inputs.num_context,
    )


# --- training ---------------------------------------------------------------------------------
def _straight_through_gate(logit: Tensor, temperature: float, g: torch.Generator) -> Tensor:
    """(B,) 0/1 Gumbel-sigmoid draws of run decisions, with the soft draw's gradient."""
    u = torch.rand(logit.shape, generator=g).to(logit).clamp(1e-6, 1 - 1e-6)
    soft = torch.sigmoid((logit + u.log() - (-u).log1p()) / temperature)
    return (soft > 0.5).to(soft) + soft - soft.detach()


def _straight_through_choice(logits: Tensor, temperature: float, g: torch.Generator) -> Tensor:
    """(B, W) one-hot Gumbel-softmax draws of width choices, with the soft draw's gradient."""
    u = torch.rand(logits.shape, generator=g).to(logits).clamp(1e-6, 1 - 1e-6)
    soft = ((logits - (-u.log()).log()) / temperature).softmax(-1)
    hard = Fn.one_hot(soft.argmax(-1), logits.shape[-1]).to(soft)
    return hard + soft - soft.detach()


class RoutedDiT(nn.Module):
    """A frozen DiT whose blocks follow sampled router decisions, for :func:`train_routers`.

    ``forward(tokens, t, cond, bias)`` is the DiT's, computed with straight-through run/skip
    gates (skip = identity) and MLP widths; each call also records the distillation error
    against the full DiT on the same input and the expected compute (the routers' run
    probability × expected width fraction, mean over blocks and samples) in :attr:`terms`.
    """

    def __init__(
        self, model: DiT, routers: ElasticRouters, process: Any, generator: torch.Generator
    ):
        super().__init__()
        self.model, self.routers, self.process, self.generator = model, routers, process, generator
        self.terms: list[tuple[Tensor, Tensor]] = []

    def forward(
        self, tokens: Tokens, t: Tensor, cond: Cond | None = None, bias: Tensor | None = None
    ) -> Tensor:
        model, cfg = self.model, self.routers.config
        with torch.no_grad():
            full = model(tokens, t, cond, bias)  # the distillation target (B, N, C)
            earlier = None if cfg.skip == "identity" else self._earlier(tokens, t, cond, bias, full)
        h, inputs = model.prepare(tokens, t, cond, bias)
        expected = []
        for i, block in enumerate(model.blocks):
            run_logit, width_logits = self.routers.logits(i, h, inputs)
            gate = _straight_through_gate(run_logit, cfg.temperature, self.generator)
            fractions = width_fractions(block, cfg.widths, h.shape[1]).to(h)
            expected.append(torch.sigmoid(run_logit) * (width_logits.softmax(-1) @ fractions))
            if narrowable(block):
                choice = _straight_through_choice(width_logits, cfg.temperature, self.generator)
                full_units = block.mlp.fc1.out_features
                units = [full_units if k is None else k for k in width_units(block, cfg.widths)]
                prefix = torch.arange(full_units) < torch.tensor(units)[:, None]  # (W, H)
                out = _masked_block(block, h, inputs, (choice @ prefix.to(h))[:, None])
            else:
                out = block(h, inputs)
            skipped = h if earlier is None else F.reuse(block, h, inputs, earlier[i])
            h = skipped + gate[:, None, None] * (out - skipped)
        out = model.head(h[:, inputs.num_context :], inputs)
        weight = uniform_time_weight(self.process, t if t.dim() == 1 else t[:, 0])
        distill = masked_mse(out, full, token_weight(tokens, cond), weight)
        self.terms.append((distill, torch.stack(expected).mean()))
        return out

    def _earlier(
        self, tokens: Tokens, t: Tensor, cond: Cond | None, bias: Tensor | None, full: Tensor
    ) -> list[F.Features]:
        """Every block's features of the full model at an earlier evaluation of the same sample:
        at t' = t + U(0, reuse_gap) (≤ 1) on its deterministic path x_t' = α(t')·x̂0 + σ(t')·ε̂,
        (x̂0, ε̂) implied by the full output at (x_t, t)."""
        x = tokens.x
        x0, eps = self.process.to_x0_eps(x, t, full.to(x.dtype))
        gap = self.routers.config.reuse_gap * torch.rand(t.shape, generator=self.generator)
        t_earlier = (t + gap.to(t)).clamp(max=1.0)
        x_earlier = hold_given(self.process.corrupt(x0, t_earlier, eps)[0], x, cond)
        h, inputs = self.model.prepare(tokens.with_x(x_earlier), t_earlier, cond, bias)
        features = []
        for block in self.model.blocks:
            h, f = F.compute(block, h, inputs)
            features.append(f)
        return features


#: the largest importance weight :func:`uniform_time_weight` gives (before normalising)
MAX_TIME_WEIGHT = 10.0


def uniform_time_weight(process: Any, t: Tensor) -> Tensor:
    """(B,) weights for training times t (B,) drawn from the process's logit-normal density q
    that make the distillation error an average over uniform t, as a sampler's time grid visits
    them: 1/q(t) clipped to ≤ MAX_TIME_WEIGHT and normalised to mean 1 (ones for uniform t).
    Without them the routers would rarely see the small t where cutting compute costs most."""
    cfg = getattr(process, "config", None)
    if getattr(cfg, "t_sampling", "uniform") != "logit_normal":
        return torch.ones_like(t)
    tc = t.clamp(1e-4, 1 - 1e-4)
    z = (torch.logit(tc) - cfg.logit_loc) / cfg.logit_scale
    density = torch.exp(-0.5 * z * z) / (math.sqrt(2 * math.pi) * cfg.logit_scale * tc * (1 - tc))
    weight = (1 / density).clamp(max=MAX_TIME_WEIGHT)
    return weight / weight.mean()


@dataclass(frozen=True)
class RouterRun:
    """What :func:`train_routers` returns: the trained routers and one record per step
    (``{"step", "loss", "distill", "compute"}``)."""

    routers: ElasticRouters
    history: list[dict[str, float]]


#: a domain's training loss ``loss_fn(model, batch, generator)``: only its calls of the model
#: matter here (they give the inputs the routers train on)
LossFn = Callable[[nn.Module, Any, torch.Generator], Any]


def default_loss(pipeline: Any) -> LossFn:
    """For batches of ``(Tokens, Cond | None)``: the pipeline process's training loss."""

    def loss_fn(model: nn.Module, batch: Any, generator: torch.Generator) -> Any:
        tokens, cond = batch
        return pipeline.process.training_loss(model, tokens, cond, generator)

    return loss_fn


def train_routers(
    pipeline: Any,
    batches: Iterable[Any],
    config: ElasticConfig,
    steps: int,
    *,
    loss_fn: LossFn | None = None,
    seed: int = 0,
    log: Callable[[dict[str, float]], None] | None = None,
) -> RouterRun:
    """Train fresh routers for ``pipeline.model`` (frozen: only router parameters change) for
    `steps` AdamW steps, one batch of `batches` each.

    loss_fn(model, batch, generator): the domain's training loss (its Recipe's), called with a
    :class:`RoutedDiT` in place of the DiT; its value is not used — it noises the batch at
    sampled times, conditions it and calls the model, and each call adds the distillation error
    of the routed network to the full one. Default: :func:`default_loss` for batches of
    ``(Tokens, Cond | None)``. The step loss is the mean distillation error over those calls
    plus ``config.penalty · (expected compute − config.budget)²``. `log` sees each record.
    """
    if steps < 1:
        raise ConfigError(f"steps={steps}: expected ≥ 1")
    model: DiT = pipeline.model
    torch.manual_seed(seed)
    routers = ElasticRouters.for_model(model, config).to(pipeline.device)
    generator = torch.Generator().manual_seed(seed)
    if config.skip == "cache" and not callable(getattr(pipeline.process, "to_x0_eps", None)):
        raise ConfigError(
            "ElasticConfig.skip='cache' trains on the process's deterministic path; this "
            "model's process has none (use skip='identity')"
        )
    routed = RoutedDiT(model, routers, pipeline.process, generator)
    loss_fn = loss_fn or default_loss(pipeline)
    optimizer = torch.optim.AdamW(routers.parameters(), lr=config.lr, weight_decay=0.0)
    trainable = [p.requires_grad for p in model.parameters()]
    history: list[dict[str, float]] = []
    model.requires_grad_(False)
    try:
        stream = iter(batches)
        for step in range(1, steps + 1):
            try:
                batch = next(stream)
            except StopIteration:
                raise DataError(f"the batches ran out after {step - 1} of {steps} steps") from None
            routed.terms.clear()
            loss_fn(routed, batch, generator)
            if not routed.terms:
                raise ConfigError("loss_fn never called the model it was given")
            distill = torch.stack([d for d, _ in routed.terms]).mean()
            compute_ = torch.stack([c for _, c in routed.terms]).mean()
            loss = distill + config.penalty * (compute_ - config.budget) ** 2
            if not math.isfinite(loss.item()):
                raise TrainingDiverged(
                    f"router training diverged at step {step} (loss {loss.item()})"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            record = {
                "step": step,
                "loss": loss.item(),
                "distill": distill.item(),
                "compute": compute_.item(),
            }
            history.append(record)
            if log is not None:
                log(record)
    finally:
        for p, flag in zip(model.parameters(), trainable, strict=True):
            p.requires_grad_(flag)
    if any(p.grad is not None for p in model.parameters()):
        raise RuntimeError("router training produced gradients for the frozen DiT")
    return RouterRun(routers.eval(), history)
