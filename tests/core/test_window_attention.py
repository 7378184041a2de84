"""3D window attention: full attention when one window covers the grid, a block-diagonal mask
otherwise, no information across windows, clear errors."""

from __future__ import annotations

import pytest
import torch
from random_weights import randomised

from polydit.core.errors import ConfigError
from polydit.core.nn import AxialRoPE, BlockInputs, DiTBlock
from polydit.core.nn.attention import attend
from polydit.core.nn.window import WindowDiTBlock, window_attend

GRID = (4, 2, 6)  # 48 tokens, row-major over (x, y, z)


def qkv(b: int = 2, h: int = 3, n: int = 48, d: int = 8) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    return tuple(torch.randn(b, h, n, d, generator=g, dtype=torch.float64) for _ in range(3))


def grid_coordinates(grid: tuple[int, int, int]) -> torch.Tensor:
    """(N, 3) integer (i, j, k) of each row-major token."""
    axes = torch.meshgrid(*(torch.arange(g) for g in grid), indexing="ij")
    return torch.stack([a.flatten() for a in axes], dim=-1)


def test_a_window_covering_the_grid_is_full_attention() -> None:
    q, k, v = qkv()
    torch.testing.assert_close(window_attend(q, k, v, GRID, GRID), attend(q, k, v))


@pytest.mark.parametrize("window", [(2, 2, 3), (1, 1, 1), (4, 1, 2), (2, 2, 6)])
def test_windows_equal_full_attention_under_a_block_diagonal_mask(window) -> None:
    q, k, v = qkv()
    cells = grid_coordinates(GRID) // torch.tensor(window)  # window of each token
    same = (cells[:, None] == cells[None]).all(-1)  # (N, N)
    masked = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=same)
    expected = masked.transpose(1, 2).flatten(2)
    torch.testing.assert_close(window_attend(q, k, v, GRID, window), expected)


def test_block_with_a_covering_window_equals_the_dit_block_with_the_same_weights() -> None:
    full = randomised(DiTBlock(24, 4, qk_norm=True)).double()
    windowed = WindowDiTBlock(24, 4, GRID, GRID, qk_norm=True).double()
    windowed.load_state_dict(full.state_dict())
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 48, 24, generator=g, dtype=torch.float64)
    rope = AxialRoPE(6, 3).double()(grid_coordinates(GRID).double().expand(2, -1, -1))
    inputs = BlockInputs(c=torch.randn(2, 1, 24, generator=g, dtype=torch.float64), rope=rope)
    torch.testing.assert_close(windowed(x, inputs), full(x, inputs))


def test_a_token_sees_nothing_outside_its_window() -> None:
    block = randomised(WindowDiTBlock(16, 2, GRID, (2, 2, 3))).double()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 48, 16, generator=g, dtype=torch.float64)
    inputs = BlockInputs(c=torch.randn(1, 1, 16, generator=g, dtype=torch.float64))
    cells = grid_coordinates(GRID) // torch.tensor((2, 2, 3))
    changed = x.clone()
    changed[0, 0] += torch.randn(16, generator=g, dtype=torch.float64)  # token (0, 0, 0)
    delta = (block(changed, inputs) - block(x, inputs)).abs().amax(-1)[0]  # (N,)
    inside = (cells == cells[0]).all(-1)
    assert (delta[inside] > 1e-6).all()
    assert (delta[~inside] == 0).all()


def test_bad_windows_and_inputs_raise() -> None:
    with pytest.raises(ConfigError, match="does not tile"):
        WindowDiTBlock(16, 2, GRID, (3, 2, 3))
    q, k, v = qkv(n=40)
    with pytest.raises(ConfigError, match="40 tokens"):
        window_attend(q, k, v, GRID, (2, 2, 3))
    block = WindowDiTBlock(16, 2, GRID, (2, 2, 3))
    inputs = BlockInputs(c=torch.zeros(1, 1, 16), mask=torch.ones(1, 48, dtype=torch.bool))
    with pytest.raises(ConfigError, match="key mask"):
        block(torch.zeros(1, 48, 16), inputs)
