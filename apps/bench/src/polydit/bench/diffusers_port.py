"""Port diffusers' ``DiTTransformer2DModel`` into our core :class:`~polydit.core.dit.DiT`.

The port is exact (same function, fp32 differences at rounding level) because our DiT was built
with diffusers' conventions where they matter:

* timestep features: [cos | sin] with frequencies ``10000 ** (-i / (half - 1))``; our t ∈ [0, 1]
  is diffusers' integer timestep / 1000 and ``DiTConfig.time_scale = 1000`` maps it back;
* class labels: one table with the null (CFG) class at index ``num_classes``;
* positions: fixed 2-D sin-cos added after the patch embedding. diffusers' grid puts the
  *column* (w) coordinate into the first half of the channels and the row (h) into the second,
  so our ``Tokens.pos`` is ``(column, row)`` per patch;
* patches: a token holds one p×p patch laid out as ``(p q c)`` (row in patch, column in patch,
  channel) — the layout diffusers' output projection unpatchifies — and the stride-p conv of
  the patch embedding becomes our input Linear by permuting its kernel to the same layout.

One structural difference: every diffusers ``BasicTransformerBlock`` owns its own timestep/label
embedder (``norm1.emb``); the final layer reuses block 0's. Original DiT (and every checkpoint
converted from it) shares one embedder, which is what our DiT has. :func:`port_weights` therefore
requires the per-block embedders to be identical, and :func:`build_diffusers_dit` ties them.

Run ``uv run --group bench python -m polydit.bench.diffusers_port`` to check DiT-S/2.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import torch
from einops import rearrange
from torch import Tensor, nn

from polydit.core.dit import DiT, DiTConfig
from polydit.core.tokens import Cond, Tokens

try:  # diffusers is a bench-only dependency group
    from diffusers import DiTTransformer2DModel
except ImportError:  # pragma: no cover - exercised only without the bench group
    DiTTransformer2DModel = None  # type: ignore[assignment,misc]


@dataclass(frozen=True)
class PortConfig:
    """A DiT architecture in diffusers' terms (defaults: DiT-S/2 on 32×32×4 latents)."""

    sample_size: int = 32
    in_channels: int = 4
    patch_size: int = 2
    depth: int = 12
    heads: int = 6
    head_dim: int = 64
    num_classes: int = 1000
    learn_sigma: bool = True  # DiT predicts (eps, sigma): out_channels = 2 * in_channels
    norm_eps: float = 1e-6  # original DiT's LayerNorm eps (diffusers' default is 1e-5)

    @property
    def hidden(self) -> int:
        return self.heads * self.head_dim

    @property
    def out_channels(self) -> int:
        return 2 * self.in_channels if self.learn_sigma else self.in_channels

    @property
    def grid(self) -> int:
        return self.sample_size // self.patch_size


DIT_S2 = PortConfig()
TINY = PortConfig(sample_size=8, depth=2, heads=2, head_dim=32, num_classes=10)


def _require_diffusers() -> None:
    if DiTTransformer2DModel is None:
        raise ImportError("diffusers is not installed; run with `uv run --group bench ...`")


def build_diffusers_dit(cfg: PortConfig = DIT_S2, seed: int = 0) -> nn.Module:
    """A randomly initialised diffusers DiT, in eval mode.

    Every parameter — including the adaLN modulation and output projections that DiT
    zero-initialises — is drawn from ``N(0, 1/fan_in)`` (biases, vectors: ``N(0, 0.02²)``) with a
    seeded generator, so the comparison exercises every weight. The per-block timestep/label
    embedders are then tied to block 0's, as in every checkpoint converted from original DiT.
    """
    _require_diffusers()
    model = DiTTransformer2DModel(
        num_attention_heads=cfg.heads,
        attention_head_dim=cfg.head_dim,
        in_channels=cfg.in_channels,
        out_channels=cfg.out_channels,
        num_layers=cfg.depth,
        sample_size=cfg.sample_size,
        patch_size=cfg.patch_size,
        num_embeds_ada_norm=cfg.num_classes,
        norm_eps=cfg.norm_eps,
    )
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            std = 1.0 / math.sqrt(p[0].numel()) if p.dim() >= 2 else 0.02
            p.copy_(torch.randn(p.shape, generator=gen) * std)
        first = model.transformer_blocks[0].norm1.emb
        for block in model.transformer_blocks[1:]:
            block.norm1.emb.load_state_dict(first.state_dict())
    return model.eval()


def dit_config_for(theirs: nn.Module) -> DiTConfig:
    """Our DiTConfig equivalent to a diffusers DiTTransformer2DModel."""
    c = theirs.config
    if (
        c.norm_type != "ada_norm_zero"
        or c.activation_fn != "gelu-approximate"
        or not c.attention_bias
    ):
        raise ValueError(
            "only DiT-style diffusers models (ada_norm_zero, tanh-GELU, biased attention) port"
        )
    if c.norm_elementwise_affine:
        raise ValueError(
            "diffusers model has affine block norms; our DiT's LayerNorms are not affine"
        )
    p = c.patch_size
    return DiTConfig(
        in_dim=p * p * c.in_channels,
        out_dim=p * p * theirs.out_channels,
        hidden=c.num_attention_heads * c.attention_head_dim,
        depth=c.num_layers,
        heads=c.num_attention_heads,
        mlp_ratio=4.0,
        pos_embed="sincos",
        pos_axes=2,
        num_classes=c.num_embeds_ada_norm,
        time_scale=1000.0,
        norm_eps=c.norm_eps,
    )


def _copy(dst: nn.Linear | nn.Embedding, weight: Tensor, bias: Tensor | None = None) -> None:
    if dst.weight.shape != weight.shape:
        raise ValueError(
            f"shape mismatch: ours {tuple(dst.weight.shape)} vs theirs {tuple(weight.shape)}"
        )
    dst.weight.copy_(weight)
    if bias is not None:
        dst.bias.copy_(bias)


def _check_tied_embedders(theirs: nn.Module) -> None:
    ref = theirs.transformer_blocks[0].norm1.emb.state_dict()
    for i, block in enumerate(theirs.transformer_blocks[1:], start=1):
        for name, value in block.norm1.emb.state_dict().items():
            if not torch.equal(value, ref[name]):
                raise ValueError(
                    f"diffusers block {i} has its own timestep/label embedder ({name} differs from block 0);"
                    " our DiT shares one embedder across blocks (as original DiT does), so it cannot port"
                )


@torch.no_grad()
def port_weights(theirs: nn.Module, ours: DiT) -> DiT:
    """Copy every weight of a diffusers DiT into ``ours`` (built from :func:`dit_config_for`)."""
    _check_tied_embedders(theirs)
    emb = theirs.transformer_blocks[0].norm1.emb
    conv = theirs.pos_embed.proj
    _copy(ours.embed, rearrange(conv.weight, "d c p q -> d (p q c)"), conv.bias)
    _copy(
        ours.time.mlp[0], emb.timestep_embedder.linear_1.weight, emb.timestep_embedder.linear_1.bias
    )
    _copy(
        ours.time.mlp[2], emb.timestep_embedder.linear_2.weight, emb.timestep_embedder.linear_2.bias
    )
    if ours.labels is None:
        raise ValueError("our DiT has no label embedding; build it with num_classes > 0")
    _copy(ours.labels.table, emb.class_embedder.embedding_table.weight)
    for mine, block in zip(ours.blocks, theirs.transformer_blocks, strict=True):
        a = block.attn1
        _copy(mine.adaln[1], block.norm1.linear.weight, block.norm1.linear.bias)
        qkv_w = torch.cat([a.to_q.weight, a.to_k.weight, a.to_v.weight])
        qkv_b = torch.cat([a.to_q.bias, a.to_k.bias, a.to_v.bias])
        _copy(mine.attn.qkv, qkv_w, qkv_b)
        _copy(mine.attn.proj, a.to_out[0].weight, a.to_out[0].bias)
        _copy(mine.mlp.fc1, block.ff.net[0].proj.weight, block.ff.net[0].proj.bias)
        _copy(mine.mlp.fc2, block.ff.net[2].weight, block.ff.net[2].bias)
    _copy(ours.head.adaln[1], theirs.proj_out_1.weight, theirs.proj_out_1.bias)
    _copy(ours.head.linear, theirs.proj_out_2.weight, theirs.proj_out_2.bias)
    return ours


def ported_dit(theirs: nn.Module) -> DiT:
    """A new DiT holding the weights of ``theirs``, in the same train/eval mode."""
    ours = DiT(dit_config_for(theirs))
    port_weights(theirs, ours)
    return ours.train(theirs.training)


def patch_positions(
    grid_h: int, grid_w: int, batch: int, device: torch.device | None = None
) -> Tensor:
    """(B, h*w, 2) float positions ``(column, row)`` of row-major patches (diffusers' axis order)."""
    rows, cols = torch.meshgrid(torch.arange(grid_h), torch.arange(grid_w), indexing="ij")
    pos = torch.stack([cols, rows], dim=-1).reshape(1, grid_h * grid_w, 2).float()
    return pos.expand(batch, -1, -1).to(device)


def patchify(latents: Tensor, patch: int) -> Tokens:
    """latents (B, C, H, W) → Tokens with x (B, (H/p)(W/p), p*p*C) in ``(p q c)`` layout + positions."""
    b, _, h, w = latents.shape
    x = rearrange(latents, "b c (h p) (w q) -> b (h w) (p q c)", p=patch, q=patch)
    return Tokens(x=x, pos=patch_positions(h // patch, w // patch, b, latents.device))


def unpatchify(x: Tensor, patch: int, height: int, width: int) -> Tensor:
    """Tokens x (B, N, p*p*C) in ``(p q c)`` layout → images (B, C, height, width)."""
    return rearrange(x, "b (h w) (p q c) -> b c (h p) (w q)", h=height // patch, p=patch, q=patch)


def our_forward(ours: DiT, latents: Tensor, timesteps: Tensor, labels: Tensor) -> Tensor:
    """Our DiT called the way diffusers' is: (B, C, H, W) latents, integer timesteps, labels."""
    p = round(math.sqrt(ours.config.in_dim // latents.shape[1]))
    tokens = patchify(latents, p)
    # our t ∈ [0, 1]; time_scale=1000 maps it back. float64 so that t * 1000 is the integer
    # again: in float32, 10 of the 1000 timesteps (e.g. 127, 251) come back 1 ulp off, which moves
    # the output by ~3e-5. The core casts to float32 only after scaling.
    t = timesteps.double() / 1000.0
    out = ours(tokens, t, Cond(labels=labels))
    return unpatchify(out, p, latents.shape[-2], latents.shape[-1])


def random_inputs(cfg: PortConfig, batch: int, seed: int = 1) -> tuple[Tensor, Tensor, Tensor]:
    """Latents (B, C, S, S), integer timesteps in [0, 1000) and class labels, from a seed."""
    gen = torch.Generator().manual_seed(seed)
    latents = torch.randn(batch, cfg.in_channels, cfg.sample_size, cfg.sample_size, generator=gen)
    timesteps = torch.randint(0, 1000, (batch,), generator=gen)
    labels = torch.randint(0, cfg.num_classes, (batch,), generator=gen)
    return latents, timesteps, labels


@torch.no_grad()
def max_abs_diff(cfg: PortConfig = DIT_S2, batch: int = 8, seed: int = 0) -> tuple[float, float]:
    """Build, port, run both in fp32: (max |ours - theirs|, max |theirs|)."""
    theirs = build_diffusers_dit(cfg, seed)
    ours = ported_dit(theirs)
    latents, timesteps, labels = random_inputs(cfg, batch, seed + 1)
    ref = theirs(latents, timestep=timesteps, class_labels=labels).sample
    out = our_forward(ours, latents, timesteps, labels)
    return (out - ref).abs().max().item(), ref.abs().max().item()


def main() -> None:
    """Check the DiT-S/2 port: max abs diff ≤ 1e-4 in fp32 on a batch of 8."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tol", type=float, default=1e-4)
    args = parser.parse_args()
    diff, scale = max_abs_diff(DIT_S2, args.batch, args.seed)
    print(
        f"DiT-S/2 port, batch {args.batch}, fp32: max abs diff {diff:.3e} (max |output| {scale:.3f})"
    )
    if diff > args.tol:
        raise SystemExit(f"port mismatch: {diff:.3e} > {args.tol:.0e}")


if __name__ == "__main__":
    main()
