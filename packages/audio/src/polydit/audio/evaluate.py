"""The evaluation protocol of ``polydit-audio eval``: conditioned samples against the test split
of the model's built-in set, under the shipped classifier (:mod:`polydit.audio.metrics`).

Sample i is generated for the label of test clip ``i mod T`` (T test clips, unheard voices), so
the labels follow the test set's balance and every sample has a real partner for the paired KL.
Samples are quantised to 16-bit levels, exactly as the WAV files store them. Reported:

* ``accuracy``: classifier argmax = the label asked for; ``real_accuracy``: the same on the
  real test clips (the ceiling);
* ``fd``: Fréchet distance of the classifier embeddings, samples vs test clips; ``fd_floor``:
  the real-vs-real floor, train clips vs test clips; ``fd_ratio`` = fd / fd_floor (the issue's
  bar: ≤ 3);
* ``kl``: mean KL(p(real partner) ‖ p(sample)); ``inception_score`` of the samples and
  ``real_inception_score`` of the test clips;
* notes models: ``pitch_accuracy`` (YIN f0 rounded to MIDI = the pitch asked for);
* ``num``, ``steps``, ``clip_seconds``, ``real_time_factor``: seconds of audio generated per second of wall time
  of :meth:`~polydit.audio.pipeline.AudioGenerator.sample` (sampling and Griffin-Lim).

Inpainting (``eval --inpaint``, :func:`evaluate_inpainting`): seconds [0.3, 0.6) of the first
`num` test clips are regenerated (unconditionally) and scored by the multi-resolution STFT
distance (:func:`~polydit.audio.spectral.stft_distance`) of the filled span to the real one,
beside two baselines: ``silence`` (the span zeroed) and ``crossfade`` (:func:`crossfade_fill`).
"""

from __future__ import annotations

import time
from typing import Any

import torch

from polydit.audio.classifier import load_classifier
from polydit.audio.data import BUILTINS, default_config, load_builtin
from polydit.audio.metrics import (
    accuracy,
    classifier_outputs,
    frechet_distance,
    inception_score,
    kl_divergence,
    pitch_accuracy,
)
from polydit.audio.spectral import STFTDistanceConfig, stft_distance
from polydit.audio.waveform import quantise_pcm16
from polydit.core.errors import ConfigError

EVAL_NUM = 1000
INPAINT_NUM = 200
INPAINT_SPAN = (0.3, 0.6)  # seconds
SPAN_STFT = STFTDistanceConfig(fft_sizes=(1024, 512, 256, 128, 64))  # fits a 0.3 s span


def builtin_name(generator: Any) -> str:
    """The built-in set a model was trained on (its codec's ``data``, e.g. "spoken-digits/train")."""
    name = generator.codec.data.split("/")[0]
    if name not in BUILTINS:
        raise ConfigError(
            f"eval: the metrics are defined on the built-in sets ({', '.join(BUILTINS)}); "
            f"this model was trained on {generator.codec.data or 'an unnamed set'!r}"
        )
    return name


def evaluate(
    generator: Any, num: int = EVAL_NUM, seed: int = 0, dtype: str = "fp32", **overrides: Any
) -> dict[str, float]:
    """The protocol of the module docstring for `num` samples; overrides: sampling settings and
    ``cache``/``cache_opts``, passed to ``generator.sample``."""
    name = builtin_name(generator)
    codec = generator.codec
    config = default_config(name).replace(
        sample_rate=codec.sample_rate, num_samples=codec.num_samples
    )
    test, train = load_builtin(name, "test", config), load_builtin(name, "train", config)
    classifier = load_classifier(name)
    partner = torch.arange(num) % len(test)
    started = time.perf_counter()
    samples = generator.sample(num, test.labels[partner], seed=seed, dtype=dtype, **overrides)
    seconds = time.perf_counter() - started
    waves = quantise_pcm16(samples.waveforms)
    p_gen, e_gen = classifier_outputs(classifier, waves)
    p_test, e_test = classifier_outputs(classifier, test.waves)
    _, e_train = classifier_outputs(classifier, train.waves)
    fd, floor = frechet_distance(e_gen, e_test), frechet_distance(e_train, e_test)
    metrics = {
        "accuracy": accuracy(p_gen, samples.labels),
        "real_accuracy": accuracy(p_test, test.labels),
        "fd": fd,
        "fd_floor": floor,
        "fd_ratio": fd / floor,
        "kl": kl_divergence(p_test[partner], p_gen),
        "inception_score": inception_score(p_gen),
        "real_inception_score": inception_score(p_test),
        "num": float(num),
        "steps": float(overrides.get("steps") or generator.sampling.steps),
        "real_time_factor": num * codec.num_samples / codec.sample_rate / seconds,
        "clip_seconds": codec.num_samples / codec.sample_rate,
    }
    if name == "notes":
        midi = torch.as_tensor(test.info["pitch"][partner.numpy()])
        metrics["pitch_accuracy"] = pitch_accuracy(waves, midi, codec.sample_rate)
    return metrics


def crossfade_fill(waves: torch.Tensor, start: int, end: int) -> torch.Tensor:
    """(B, L) with samples [start, end) replaced by a linear crossfade from the span-long audio
    just before the span (weight 1 → 0) to the span-long audio just after it (0 → 1), each
    zero where it would leave the clip."""
    size, length = end - start, waves.shape[1]
    padded = torch.nn.functional.pad(waves, (size, size))  # sample j of waves at j + size
    before = padded[:, start : start + size]  # waves[start - size : start]
    after = padded[:, end + size : end + 2 * size]  # waves[end : end + size]
    w = torch.linspace(0.0, 1.0, size, dtype=waves.dtype)
    out = waves.clone()
    out[:, start:end] = (1 - w) * before + w * after
    return out[:, :length]


def evaluate_inpainting(
    generator: Any, num: int = INPAINT_NUM, seed: int = 0, dtype: str = "fp32", **overrides: Any
) -> dict[str, float]:
    """Mean STFT distance on the span of the model's fills and of the two baselines (module
    docstring), over the first `num` test clips."""
    name = builtin_name(generator)
    codec = generator.codec
    config = default_config(name).replace(
        sample_rate=codec.sample_rate, num_samples=codec.num_samples
    )
    real = load_builtin(name, "test", config).waves[:num]
    start, end = (round(s * codec.sample_rate) for s in INPAINT_SPAN)
    mask = torch.zeros_like(real, dtype=torch.bool)
    mask[:, start:end] = True
    filled = generator.inpaint(real, mask, seed=seed, dtype=dtype, **overrides).waveforms
    fills = {
        "inpaint_stft": quantise_pcm16(filled),
        "inpaint_stft_silence": real.masked_fill(mask, 0.0),
        "inpaint_stft_crossfade": crossfade_fill(real, start, end),
    }
    span = real[:, start:end]
    return {
        key: float(stft_distance(wave[:, start:end], span, SPAN_STFT).mean())
        for key, wave in fills.items()
    } | {"num": float(len(real))}
