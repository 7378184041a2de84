"""Codec: 3-D patchify/unpatchify is exact; positions and given masks line up with frames."""

import pytest
import torch

from polydit.core.errors import ConfigError
from polydit.video.codec import VideoCodec


@pytest.mark.parametrize("patch", [(1, 8, 8), (1, 4, 4), (2, 4, 4), (2, 3, 6)])
def test_patchify_unpatchify_is_exact(patch: tuple[int, int, int]) -> None:
    codec = VideoCodec(frames=8, size=24, channels=3, patch=patch)
    video = torch.rand(2, 8, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    tokens = codec.encode(video)
    assert tokens.x.shape == (2, codec.num_tokens, codec.token_dim)
    assert tokens.x.min() >= -1 and tokens.x.max() <= 1
    assert torch.equal(codec.decode(tokens.x), (video * 2 - 1 + 1) / 2)
    assert torch.allclose(codec.decode(tokens.x), video, atol=1e-6)


def test_positions_are_time_major_patch_coordinates() -> None:
    codec = VideoCodec(frames=4, size=8, channels=1, patch=(2, 4, 4))
    pos = codec.positions(1)[0]
    assert pos.shape == (8, 3)
    assert pos[:4, 0].eq(0).all() and pos[4:, 0].eq(1).all()
    assert pos[:4, 1:].tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]


def test_token_of_a_frame_carries_that_frame() -> None:
    codec = VideoCodec(frames=8, size=24, channels=1, patch=(1, 8, 8))
    video = torch.zeros(1, 8, 1, 24, 24)
    video[0, 5, 0, 8:16, 16:24] = 1.0  # frame 5, patch row 1, column 2
    x = codec.encode(video).x[0]
    hot = (x > 0).any(-1).nonzero().flatten().tolist()
    assert hot == [5 * 9 + 1 * 3 + 2]


def test_frame_and_pixel_masks_map_to_tokens_and_back() -> None:
    codec = VideoCodec(frames=8, size=24, channels=1, patch=(2, 8, 8))
    frames = torch.tensor([[True, True, True, False, False, False, False, True]])
    tokens = codec.frames_to_tokens(frames)  # only temporal patch 0 is wholly given
    assert tokens.view(4, 9).all(-1).tolist() == [True, False, False, False]
    pixels = torch.zeros(1, 8, 24, 24, dtype=torch.bool)
    pixels[:, :, :8, :] = True
    given = codec.pixels_to_tokens(pixels)
    assert given.view(4, 3, 3)[:, 0].all() and not given.view(4, 3, 3)[:, 1:].any()
    assert torch.equal(codec.tokens_to_pixels(given), pixels)


def test_bad_shapes_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="patch"):
        VideoCodec(frames=8, size=24, patch=(3, 8, 8))
    with pytest.raises(ConfigError, match="expected clips"):
        VideoCodec().encode(torch.zeros(1, 7, 1, 24, 24))
