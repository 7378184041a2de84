"""`VoxelDiT`: DiT-3D on the core DiT — voxelize the noisy points, patch tokens, 3D window
attention in chosen blocks, devoxelize the output back onto the points.

``forward(Tokens(x (B, N, 3)), t, cond) -> (B, N, 3)``: the input points are voxelized by the
:class:`~polydit.pointcloud.codec.VoxelCodec` (``(R/p)³`` tokens of ``p³·3`` channels with 3D
positions), run through the core DiT (sin-cos or RoPE positions over 3 axes, label embedding
with a null class for guidance), and the ``p³·3`` outputs per token are unpatchified to an R³
grid and read at every point by trilinear interpolation: one prediction (ε, velocity, ...) per
point, as DiT-3D's ``trilinear_devoxelize``.

With ``point_features`` F > 0 the output layer is point-voxel (PVD style,
:class:`~polydit.pointcloud.point_branch.PointBranch`): the DiT outputs ``p³·F`` features per
token, devoxelized to ``(B, N, F)`` at the points, and a small MLP shared by all points maps them,
with Fourier features of each point's own noisy coordinates and FiLM from the DiT's conditioning
vector (time + label), to the ``(B, N, 3)`` prediction. F = 0 (the default, and what a config
without the field loads as) is the plain devoxelized ``p³·3`` output.

The blocks listed in ``window_blocks`` restrict attention to non-overlapping windows of
``window³`` tokens (:class:`polydit.core.nn.window.WindowDiTBlock`), the others attend
globally (DiT-3D: windows in alternate blocks). Unlike DiT-3D's released code, which reshapes
its windows back before a global attention, these windows really restrict attention.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor, nn

from polydit.core.dit import DiT, DiTConfig
from polydit.core.errors import ConfigError
from polydit.core.nn.window import WindowDiTBlock, check_windows
from polydit.core.tokens import Cond, Tokens
from polydit.pointcloud.codec import VoxelCodec
from polydit.pointcloud.point_branch import PointBranch

PRESETS: dict[str, dict[str, int]] = {
    "micro": {"hidden": 48, "depth": 2, "heads": 2},  # tests
    "small": {"hidden": 192, "depth": 6, "heads": 6},  # the anchors' CPU-scale DiT-3D
    "S": {"hidden": 384, "depth": 12, "heads": 6},  # DiT-3D-S
}


@dataclass(frozen=True)
class VoxelDiTConfig(DiTConfig):
    """A DiTConfig with 3D window attention: blocks ``window_blocks`` attend within windows of
    ``window`` tokens per axis (0 or no blocks: global attention everywhere).

    point_features F > 0: the point branch (module docstring) on F devoxelized channels, an
    MLP of ``point_width`` and ``point_frequencies`` K Fourier octaves of the coordinates;
    F = 0: no branch (out_dim = p³·3)."""

    window: int = 0
    window_blocks: tuple[int, ...] = ()
    point_features: int = 0
    point_width: int = 128
    point_frequencies: int = 6

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.context_dim:
            raise ConfigError("VoxelDiTConfig: a point-cloud model takes no context tokens")
        if self.pos_embed != "none" and self.pos_axes != 3:
            raise ConfigError(
                f"VoxelDiTConfig: positions have 3 axes, got pos_axes={self.pos_axes}"
            )
        bad = [i for i in self.window_blocks if not 0 <= i < self.depth]
        if bad:
            raise ConfigError(
                f"VoxelDiTConfig.window_blocks {bad} are not blocks of depth {self.depth}"
            )
        if self.window_blocks and self.window < 1:
            raise ConfigError("VoxelDiTConfig: window_blocks need a window ≥ 1")
        for name in ("point_features", "point_width", "point_frequencies"):
            if getattr(self, name) < 0:
                raise ConfigError(f"VoxelDiTConfig.{name} must be ≥ 0, got {getattr(self, name)}")
        if self.point_features and self.point_width < 1:
            raise ConfigError("VoxelDiTConfig: a point branch needs point_width ≥ 1")


def alternate_blocks(depth: int) -> tuple[int, ...]:
    """Blocks 0, 2, 4, ...: window attention in alternate blocks."""
    return tuple(range(0, depth, 2))


def voxel_dit_config(
    codec: VoxelCodec,
    size: dict[str, int],
    num_classes: int,
    *,
    window: int = 0,
    pos_embed: str = "sincos",
    point_features: int = 0,
    point_width: int = 128,
) -> VoxelDiTConfig:
    """The VoxelDiT over `codec`'s tokens at `size` (a :data:`PRESETS` entry); `window` > 0 puts
    window attention in alternate blocks; `point_features` > 0 adds the point branch."""
    return VoxelDiTConfig(
        in_dim=codec.token_dim(),
        out_dim=codec.token_dim(point_features) if point_features else None,
        point_features=point_features,
        point_width=point_width,
        pos_embed=pos_embed,
        pos_axes=3,
        num_classes=num_classes,
        window=window,
        window_blocks=alternate_blocks(size["depth"]) if window else (),
        **size,
    )


class VoxelDiT(DiT):
    """The DiT between a :class:`VoxelCodec`'s patchify and unpatchify (module docstring)."""

    config: VoxelDiTConfig

    def __init__(self, config: VoxelDiTConfig, codec: VoxelCodec):
        out_dim = codec.token_dim(config.point_features or 3)
        if config.in_dim != codec.token_dim() or (config.out_dim or config.in_dim) != out_dim:
            raise ConfigError(
                f"VoxelDiT: in_dim/out_dim must be p³·3 = {codec.token_dim()} / p³·"
                f"{config.point_features or 3} = {out_dim} for the codec's patch {codec.patch}, "
                f"got {config.in_dim}/{config.out_dim}"
            )
        if config.window_blocks:
            check_windows(codec.grid, (config.window,) * 3)
        self.codec = codec  # a plain dataclass: make_block reads it during DiT.__init__
        self.blocks_made = 0
        super().__init__(config)

    def add_heads(self) -> None:
        cfg = self.config
        self.point_branch = (
            PointBranch(cfg.point_features, cfg.point_width, cfg.point_frequencies, cfg.hidden)
            if cfg.point_features
            else None
        )

    def make_block(self) -> nn.Module:
        cfg, index = self.config, self.blocks_made
        self.blocks_made += 1
        if index not in cfg.window_blocks:
            return super().make_block()
        window = (cfg.window,) * 3
        options: dict[str, Any] = {"mlp_ratio": cfg.mlp_ratio, "qk_norm": cfg.qk_norm}
        return WindowDiTBlock(
            cfg.hidden, cfg.heads, self.codec.grid, window, moe=cfg.moe, eps=cfg.norm_eps, **options
        )

    def forward(self, tokens: Tokens, t: Tensor, cond: Cond | None = None) -> Tensor:  # type: ignore[override]
        """tokens.x (B, N, 3) points, t (B,) → (B, N, 3) per-point prediction."""
        voxels, coords = self.codec.patchify(tokens.x)  # (B, T, p³·3), (B, N, 3)
        h, inputs = self.prepare(voxels, t, cond)  # (B, T, D)
        for block in self.blocks:
            h = block(h, inputs)
        out = self.codec.unpatchify(self.head(h, inputs), coords)  # (B, N, F or 3)
        if self.point_branch is None:
            return out
        return self.point_branch(out, tokens.x, inputs.c[:, 0])  # (B, N, 3)
