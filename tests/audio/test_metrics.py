import math

import pytest
import torch

from polydit.audio.classifier import (
    EMBEDDING_DIM,
    ClassifierTraining,
    WordClassifier,
    augment,
    train_classifier,
)
from polydit.audio.data import load_builtin
from polydit.audio.metrics import (
    accuracy,
    classifier_outputs,
    frechet_distance,
    frequency_to_midi,
    inception_score,
    kl_divergence,
    yin_pitch,
)
from polydit.core.errors import ConfigError


def test_classifier_shapes_and_outputs():
    model = WordClassifier(10)
    posteriors, embeddings = classifier_outputs(model, 0.1 * torch.randn(5, 16384), batch=2)
    assert posteriors.shape == (5, 10) and embeddings.shape == (5, EMBEDDING_DIM)
    assert torch.allclose(posteriors.sum(1), torch.ones(5))
    assert bool((embeddings >= 0).all())


def test_augment_keeps_shape_and_range_and_is_seeded():
    waves = 0.9 * torch.sin(torch.arange(16384.0))[None].repeat(3, 1)
    config = ClassifierTraining()
    a = augment(waves, 16000, config, torch.Generator().manual_seed(1))
    b = augment(waves, 16000, config, torch.Generator().manual_seed(1))
    assert a.shape == waves.shape and torch.equal(a, b) and bool((a.abs() <= 1).all())
    assert not torch.equal(a, waves)


def test_kl_and_inception_score_on_known_posteriors():
    one_hot = torch.eye(4)
    assert kl_divergence(one_hot, one_hot) == pytest.approx(0.0, abs=1e-6)
    p, q = torch.tensor([[0.5, 0.5]]), torch.tensor([[0.9, 0.1]])
    assert kl_divergence(p, q) == pytest.approx(0.5 * math.log(0.5 / 0.9) + 0.5 * math.log(5))
    assert inception_score(one_hot) == pytest.approx(4.0, rel=1e-6)
    assert inception_score(torch.full((6, 4), 0.25)) == pytest.approx(1.0)
    assert accuracy(one_hot, torch.tensor([0, 1, 2, 0])) == 0.75
    with pytest.raises(ConfigError, match="sum to 1"):
        inception_score(torch.ones(2, 3))
    with pytest.raises(ConfigError, match="differ in shape"):
        kl_divergence(one_hot, torch.eye(3))


def test_frechet_distance_of_embeddings():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(2000, 8, generator=g)
    b = torch.randn(2000, 8, generator=g)
    assert frechet_distance(a, b) < 0.05
    assert frechet_distance(a, b + 1.0) == pytest.approx(8.0, rel=0.03)


@pytest.mark.parametrize("frequency", [65.0, 220.0, 261.63, 1046.5])
def test_yin_finds_the_pitch_of_tones_with_harmonics(frequency):
    t = torch.arange(16384) / 16000
    tone = sum(torch.sin(2 * math.pi * k * frequency * t) / k for k in range(1, 6))
    tone = tone * torch.exp(-2 * t) * (t > 0.1)
    f0 = yin_pitch(torch.stack([tone, torch.zeros(16384)]), 16000)
    assert f0[0] == pytest.approx(frequency, rel=0.005) and f0[1] == 0
    assert frequency_to_midi(f0).tolist()[1] == -1


@pytest.mark.slow
def test_the_classifier_is_far_above_chance_on_unheard_voices():
    """Trains on the default spoken-digits train split (80 voices), tests on the 24 others.
    Measured: 400 steps in 99 s on one loaded CPU thread, 98.9 % on the test voices."""
    torch.set_num_threads(1)
    train, test = load_builtin("spoken-digits", "train"), load_builtin("spoken-digits", "test")
    model = train_classifier(train.waves, train.labels, 10, 16000, ClassifierTraining(steps=400))
    posteriors, _ = classifier_outputs(model, test.waves)
    assert accuracy(posteriors, test.labels) >= 0.95
