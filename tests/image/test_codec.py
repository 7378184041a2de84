import pytest
import torch

from polydit.core.errors import ConfigError
from polydit.image.codec import PatchCodec


@pytest.mark.parametrize(("channels", "size", "patch"), [(1, 8, 1), (1, 8, 2), (3, 24, 4)])
def test_round_trip_is_exact(channels: int, size: int, patch: int) -> None:
    codec = PatchCodec(channels, size, size, patch)
    images = torch.rand(3, channels, size, size, generator=torch.Generator().manual_seed(0))
    tokens = codec.encode(images)
    n = (size // patch) ** 2
    assert tokens.x.shape == (3, n, patch * patch * channels)
    assert tokens.pos.shape == (3, n, 2)
    assert torch.equal(codec.decode(tokens.x, tokens), images)


def test_tokens_are_patches_in_row_major_order_with_grid_positions() -> None:
    codec = PatchCodec(1, 4, 4, 2)
    image = torch.arange(16.0).view(1, 1, 4, 4)
    tokens = codec.encode(image)
    assert tokens.x[0, 1].tolist() == [2.0, 3.0, 6.0, 7.0]  # the top-right patch
    assert tokens.pos[0].tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]


def test_larger_grid_extrapolates_or_interpolates_positions() -> None:
    codec = PatchCodec(1, 8, 8, 2)
    far = codec.template(2, 16, 16, "extrapolate")
    assert far.x.shape == (2, 64, 4) and far.pos.max() == 7
    near = codec.template(2, 16, 16, "interpolate")
    assert near.pos.max() == pytest.approx(3.0) and near.pos.min() == 0
    assert codec.decode(far.x, far, 16, 16).shape == (2, 1, 16, 16)


def test_sizes_must_be_multiples_of_the_patch() -> None:
    with pytest.raises(ConfigError, match="multiple"):
        PatchCodec(1, 9, 8, 2)
    with pytest.raises(ConfigError, match="multiple"):
        PatchCodec(1, 8, 8, 2).template(1, 9, 9)


def test_json_round_trip_and_equality_is_the_token_layout() -> None:
    codec = PatchCodec(1, 8, 8, 2, class_names=("a", "b"), text_encoder=None, data="mine")
    again = PatchCodec.from_dict(codec.to_dict())
    assert again == codec and again.class_names == ("a", "b") and again.data == "mine"
    assert codec == PatchCodec(1, 8, 8, 2, class_names=("x",), data="other")  # a fine-tune
    assert codec != PatchCodec(1, 8, 8, 4)


def test_a_malformed_codec_config_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"PatchCodec\.patch: expected an integer, got \{"):
        PatchCodec.from_dict({"patch": {"channels": 1, "height": 8, "width": 8, "patch": 2}})
