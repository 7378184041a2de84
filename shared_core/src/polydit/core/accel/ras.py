"""RAS: between full evaluations, recompute only the tokens that changed most."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from polydit.core.accel.base import CacheMethod, _positive
from polydit.core.errors import ConfigError
from polydit.core.nn.attention import attend
from polydit.core.nn.blocks import BlockInputs, DiTBlock, modulate


@dataclass
class RegionAdaptive(CacheMethod):
    """RAS (Liu et al. 2025): between full evaluations (every `interval`), recompute only the
    `ratio` fraction of tokens whose output changed most between the last two evaluations; the
    others keep their last output. Recomputed tokens attend to every token, using the keys and
    values cached for the rest. DiT blocks only (MM-DiT joint blocks run in full)."""

    ratio: float = 0.5
    interval: int = 4

    def __post_init__(self) -> None:
        _positive("interval", self.interval)
        if not 0 < self.ratio <= 1:
            raise ConfigError(f"--cache-opts ratio={self.ratio}: expected a fraction in (0, 1]")

    def run(self, blocks, h, inputs, ctx, state, usage):
        store, n = state.store, h.shape[1]
        partial = (
            state.calls % self.interval != 0
            and "change" in store
            and inputs.num_context == 0
            and all(isinstance(b, DiTBlock) for b in blocks)
        )
        usage.total += len(blocks)
        if not partial:
            kv, out = [], h
            for block in blocks:
                if isinstance(block, DiTBlock):
                    out, keys_values = _block_with_kv(block, out, inputs)
                else:  # joint blocks always run in full
                    out, keys_values = block(out, inputs), None
                kv.append(keys_values)
            usage.computed += len(blocks)
        else:
            k = max(1, round(self.ratio * n))
            index = store["change"].topk(k, dim=1).indices  # (B, k)
            x = _take(h, index)
            kv = store["kv"]
            for i, block in enumerate(blocks):
                x, kv[i] = _block_on_tokens(block, x, inputs, index, kv[i])
            out = store["out"].scatter(1, index[..., None].expand_as(x), x)
            usage.computed += len(blocks) * k / n
        if "out" in store:
            store["change"] = (out - store["out"]).norm(dim=-1)  # (B, N)
        store["out"], store["kv"] = out, kv
        return out


def _take(x: Tensor, index: Tensor, dim: int = 1) -> Tensor:
    """x gathered at token indices (B, k) along `dim` (all later dims kept)."""
    shape = [1] * x.dim()
    shape[0], shape[dim] = index.shape
    expand = list(x.shape)
    expand[dim] = index.shape[1]
    return x.gather(dim, index.view(shape).expand(expand))


def _block_with_kv(
    block: DiTBlock, h: Tensor, inputs: BlockInputs
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """`block(h, inputs)` exactly, also returning its attention keys and values (B, H, N, Dh)."""
    shift1, scale1, gate1, shift2, scale2, gate2 = block.modulation(inputs)
    q, k, v = block.attn.project(modulate(block.norm1(h), shift1, scale1), inputs.rope)
    x = h + gate1 * block.attn.proj(attend(q, k, v, mask=inputs.mask, bias=inputs.bias))
    return x + gate2 * block.mlp_branch(x, shift2, scale2, inputs), (k, v)


def _block_on_tokens(
    block: DiTBlock, x: Tensor, inputs: BlockInputs, index: Tensor, kv: tuple[Tensor, Tensor]
) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """Run `block` for the tokens at `index` (B, k) only; x (B, k, D). The keys/values of the
    other tokens come from `kv`; the recomputed ones are written back into it."""
    mods = [m if m.shape[1] == 1 else _take(m, index) for m in block.modulation(inputs)]
    shift1, scale1, gate1, shift2, scale2, gate2 = mods
    rope = None if inputs.rope is None else tuple(_take(r, index, dim=2) for r in inputs.rope)
    q, k_new, v_new = block.attn.project(modulate(block.norm1(x), shift1, scale1), rope)
    where = index[:, None, :, None].expand_as(k_new)
    keys, values = kv[0].scatter(2, where, k_new), kv[1].scatter(2, where, v_new)
    bias = None if inputs.bias is None else _take(inputs.bias, index, dim=2)
    x = x + gate1 * block.attn.proj(attend(q, keys, values, mask=inputs.mask, bias=bias))
    sub = BlockInputs(c=inputs.c, slot=None if inputs.slot is None else _take(inputs.slot, index))
    return x + gate2 * block.mlp_branch(x, shift2, scale2, sub), (keys, values)
