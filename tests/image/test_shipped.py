"""The shipped digits model: its codec, bf16 sampling close to fp32; (slow) it meets the bar."""

import pytest
import torch

from polydit.core.metrics import frechet_distance_from_features
from polydit.image import load_pretrained
from polydit.image.codec import PatchCodec
from polydit.image.metrics import classify, evaluate_digits, quantize
from polydit.image.pipeline import ImageGenerator

# FD(fp32 vs bf16 samples of the same seeds); measured ~0.003 (300 samples), the real-vs-real
# floor is ~7. bf16 autocast is ~5x slower than fp32 on this AVX2-only CPU, so few samples.
BF16_FD_BOUND = 0.05


@pytest.fixture(scope="module")
def shipped() -> ImageGenerator:
    return load_pretrained()


def test_shipped_codec_is_8x8_patches_of_2_over_the_ten_digits(shipped: ImageGenerator) -> None:
    assert shipped.codec == PatchCodec(channels=1, height=8, width=8, patch=2)
    assert shipped.codec.class_names == tuple(str(d) for d in range(10))
    assert shipped.codec.data == "digits/train" and shipped.codec.text_encoder is None


def test_bf16_sampling_runs_and_stays_close_to_fp32(shipped: ImageGenerator) -> None:
    labels = torch.arange(100) % 10
    images = [
        shipped.sample(100, labels, seed=0, dtype=d, steps=4).images for d in ("fp32", "bf16")
    ]
    assert (images[0] - images[1]).abs().mean() < 0.01
    feats = [classify(quantize(x))[1].double() for x in images]
    assert frechet_distance_from_features(*feats) <= BF16_FD_BOUND


@pytest.mark.slow
def test_shipped_model_meets_the_bar(shipped: ImageGenerator) -> None:
    metrics = evaluate_digits(shipped)  # 1,000 samples, default sampler/steps/CFG
    assert metrics["accuracy"] >= 0.95
    assert metrics["fd_ratio"] <= 2.0
