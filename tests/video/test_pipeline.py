"""VideoGenerator: given frames/regions come back unchanged; factorized attention; save/load."""

from pathlib import Path

import numpy as np
import pytest
import torch

from polydit.core.errors import ConfigError
from polydit.video.data import MovingDigitsConfig, eval_set, read_clip
from polydit.video.io import to_uint8
from polydit.video.pipeline import VideoGenerator, VideoSamples

from .conftest import tiny_generator


def clips(n: int = 2) -> torch.Tensor:
    return torch.from_numpy(np.stack([c.video for c in eval_set(MovingDigitsConfig(), n)]))


def test_the_tasks_return_typed_clips_equal_to_the_tensor_path(
    generator: VideoGenerator, tmp_path: Path
) -> None:
    """sample/predict/interpolate/complete return VideoSamples whose clips (B, T, C, H, W) in
    [0, 1] are exactly what `fill` (the tensor every task returned before) gives for the seed."""
    c, video = generator.codec, clips()
    nothing = torch.zeros(3, c.frames, c.size, c.size, dtype=torch.bool)
    samples = generator.sample(3, seed=5)
    assert isinstance(samples, VideoSamples) and samples.clips.dtype == torch.float32
    assert samples.clips.shape == (3, c.frames, c.channels, c.size, c.size)
    assert samples.clips.min() >= 0 and samples.clips.max() <= 1 and samples.clips.std() > 0
    assert torch.equal(samples.clips, generator.fill(None, nothing, seed=5))
    assert samples.labels.dtype == torch.long and samples.labels.tolist() == [-1, -1, -1]
    assert torch.equal(generator(3, seed=5).clips, samples.clips)
    predicted = generator.predict(video, 4, seed=2)
    first4 = torch.zeros(2, c.frames, c.size, c.size, dtype=torch.bool)
    first4[:, :4] = True
    assert torch.equal(predicted.clips, generator.fill(video, first4, seed=2))
    ends = torch.zeros_like(first4)
    ends[:, [0, -1]] = True
    between = generator.interpolate(video[:, 0], video[:, -1], seed=2).clips
    assert torch.equal(between, generator.fill(video * ends[:, :, None, :, :], ends, seed=2))
    box = torch.zeros_like(first4)
    box[:, :, 0:16, 8:24] = True
    completed = generator.complete(video, (0, 8, 16, 16), seed=2).clips
    assert torch.equal(completed, generator.fill(video, box, seed=2))

    frames = samples.frames(1, scale=2)
    assert len(frames) == c.frames and frames[0].size == (2 * c.size, 2 * c.size)
    assert frames[0].mode == "RGB"
    assert np.array_equal(np.stack([np.asarray(f) for f in frames]), to_uint8(samples.clips[1], 2))
    written = samples.save_gif(2, tmp_path / "clip.gif")
    assert np.array_equal(read_clip(written), to_uint8(samples.clips[2]))


def test_prediction_keeps_the_given_frames_and_changes_the_rest(generator: VideoGenerator) -> None:
    video = clips()
    out = generator.predict(video, 4, seed=1).clips
    assert out.shape == video.shape
    assert torch.equal(out[:, :4], video[:, :4])
    assert not torch.allclose(out[:, 4:], video[:, 4:], atol=1e-3)


def test_given_guidance_keeps_the_given_frames_and_moves_the_rest(
    generator: VideoGenerator,
) -> None:
    video = clips()
    guided = generator.predict(video, 4, seed=1, given_scale=3.0).clips
    assert torch.equal(guided[:, :4], video[:, :4])
    plain = generator.predict(video, 4, seed=1).clips
    assert not torch.allclose(guided[:, 4:], plain[:, 4:], atol=1e-3)


def test_the_sampler_itself_holds_given_tokens(generator: VideoGenerator) -> None:
    """Not only the final paste-back: the raw sampled tokens equal the known ones exactly."""
    from polydit.core.tokens import Cond

    codec = generator.codec
    tokens = codec.encode(clips())
    given = codec.frames_to_tokens(torch.tensor([[True] * 3 + [False] * 5] * 2))
    x = generator.generate(tokens, Cond(given=given), known=tokens.x, seed=0)
    assert torch.equal(x[given], tokens.x[given])
    assert not torch.allclose(x[~given], tokens.x[~given], atol=1e-3)


def test_interpolation_and_completion_keep_what_is_given(generator: VideoGenerator) -> None:
    video = clips()
    out = generator.interpolate(video[:, 0], video[:, -1], seed=0).clips
    assert torch.equal(out[:, 0], video[:, 0]) and torch.equal(out[:, -1], video[:, -1])
    done = generator.complete(video, (0, 8, 16, 16), seed=0).clips
    assert torch.equal(done[:, :, :, 0:16, 8:24], video[:, :, :, 0:16, 8:24])
    assert not torch.allclose(done[:, :, :, 16:, :8], video[:, :, :, 16:, :8], atol=1e-3)


def test_factorized_attention_keeps_the_contract() -> None:
    gen = tiny_generator("factorized")
    video = clips()
    out = gen.predict(video, 4, seed=0).clips
    assert torch.equal(out[:, :4], video[:, :4])


def test_factorized_temporal_block_mixes_only_one_location() -> None:
    from polydit.video.factorized import FactorizedBlock

    gen = tiny_generator("factorized")
    temporal = gen.model.blocks[1]
    assert isinstance(temporal, FactorizedBlock) and temporal.axis == "temporal"
    tokens = gen.codec.encode(clips(1))
    h, inputs = gen.model.prepare(tokens, torch.tensor([0.5]))
    base = temporal(h, inputs)
    moved = h.clone()
    moved[:, 0] += torch.randn(h.shape[-1], generator=torch.Generator().manual_seed(0))
    diff = (temporal(moved, inputs) - base).abs().sum(-1)[0].view(8, 9)
    assert diff[:, 0].gt(1e-4).all() and diff[:, 1:].eq(0).all()  # token (t=0, s=0) moved


def test_save_and_load_round_trip(generator: VideoGenerator, tmp_path: Path) -> None:
    generator.save_pretrained(tmp_path / "m")
    loaded = VideoGenerator.from_pretrained(tmp_path / "m")
    assert loaded.codec == generator.codec and loaded.codec.data == MovingDigitsConfig()
    assert torch.equal(loaded.sample(1, seed=2).clips, generator.sample(1, seed=2).clips)
    gen = tiny_generator("factorized")
    gen.save_pretrained(tmp_path / "f")
    assert torch.equal(
        VideoGenerator.from_pretrained(tmp_path / "f").sample(1, seed=0).clips,
        gen.sample(1, seed=0).clips,
    )


def test_bad_task_arguments(generator: VideoGenerator) -> None:
    with pytest.raises(ConfigError, match="--given"):
        generator.predict(clips(1), 8)
    with pytest.raises(ConfigError, match="only 2 frames"):
        generator.predict(clips(1)[:, :2], 4)


def test_given_guidance_composes_with_a_cache(generator: VideoGenerator) -> None:
    """The cache serves both guidance branches: interval 1 is exact, interval 2 halves the work."""
    video, guided = clips(), {"steps": 4, "given_scale": 2.0}
    plain = generator.predict(video, 4, seed=0, **guided).clips
    exact = generator.predict(
        video, 4, seed=0, cache="fora", cache_opts={"interval": "1"}, **guided
    ).clips
    assert torch.equal(plain, exact)
    generator.predict(video, 4, seed=0, cache="fora", cache_opts={"interval": "2"}, **guided)
    usage = generator.last_usage
    assert usage is not None and 2 * usage.computed == usage.total


def test_python_api_errors_name_the_argument(generator) -> None:
    from polydit.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^num: expected a whole number ≥ 1, got 2\.0"):
        generator.sample(2.0)
