"""Audio-generation metrics under the in-package classifier, and note pitch accuracy.

* ``accuracy``: fraction of clips whose classifier argmax is the label they were asked for.
* ``fd``: Fréchet distance between Gaussians fitted to the classifier's 64-d embeddings of two
  sets of clips (FAD-style; :func:`polydit.core.metrics.frechet_distance_from_features`). FAD
  proper uses VGGish (or PANNs / CLAP) embeddings, whose weights are not available offline, so
  our numbers are not comparable with published FADs.
* ``kl``: ``mean_i Σ_k p_ref,i(k) log(p_ref,i(k) / p_gen,i(k))`` over paired clips — the
  AudioLDM / EzAudio KL with our classifier's posteriors in place of PaSST's (a pair is a real
  clip and the clip generated for it, e.g. for its label or caption).
* ``inception_score``: ``exp(mean_i KL(p(y|x_i) ‖ p(y)))`` with ``p(y)`` the mean posterior of
  the set (one split, not the 10-split average of the image IS).
* ``pitch_accuracy``: fraction of notes whose estimated f0 rounds to the MIDI pitch asked for;
  f0 by YIN (de Cheveigné & Kawahara 2002: cumulative-mean-normalised difference, absolute
  threshold 0.1, parabolic refinement) on the 64 ms window around the clip's loudest frame.

Reconstruction and inpainting use :func:`polydit.audio.spectral.stft_distance`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from polydit.audio.classifier import WordClassifier
from polydit.core.errors import ConfigError
from polydit.core.metrics import frechet_distance_from_features

YIN_THRESHOLD = 0.1
YIN_WINDOW_SECONDS = 0.064
SILENCE = 1e-4  # a window whose peak is below this has no pitch


@torch.no_grad()
def classifier_outputs(
    model: WordClassifier, waves: Tensor, batch: int = 256
) -> tuple[Tensor, Tensor]:
    """(posteriors (N, K), embeddings (N, 64)) of clips (N, L) under `model` (eval mode)."""
    model.eval()
    posteriors, embeddings = [], []
    for start in range(0, len(waves), batch):
        embedding = model.embed(waves[start : start + batch].float())
        posteriors.append(model.head(embedding).softmax(dim=1))
        embeddings.append(embedding)
    return torch.cat(posteriors), torch.cat(embeddings)


def accuracy(posteriors: Tensor, labels: Tensor) -> float:
    """Fraction of rows of `posteriors` (N, K) whose argmax is `labels` (N,)."""
    return float((posteriors.argmax(dim=1) == labels).float().mean())


def frechet_distance(embeddings_a: Tensor, embeddings_b: Tensor) -> float:
    """Fréchet distance between two embedding sets (N, D) and (M, D)."""
    return frechet_distance_from_features(embeddings_a.double(), embeddings_b.double())


def _check_posteriors(p: Tensor, name: str) -> Tensor:
    if p.dim() != 2 or p.shape[0] == 0:
        raise ConfigError(f"{name}: expected posteriors of shape (N, K), got {tuple(p.shape)}")
    if (p < 0).any() or not torch.allclose(
        p.sum(dim=1), torch.ones(len(p), dtype=p.dtype), atol=1e-4
    ):
        raise ConfigError(f"{name}: expected non-negative rows that sum to 1")
    return p.double()


def kl_divergence(p_ref: Tensor, p_gen: Tensor, eps: float = 1e-8) -> float:
    """Mean over pairs of KL(p_ref,i ‖ p_gen,i), posteriors (N, K) each; `eps` keeps the log of
    a zero probability finite."""
    ref, gen = _check_posteriors(p_ref, "p_ref"), _check_posteriors(p_gen, "p_gen")
    if ref.shape != gen.shape:
        raise ConfigError(
            f"kl: paired posteriors differ in shape: {tuple(ref.shape)} vs {tuple(gen.shape)}"
        )
    terms = ref * ((ref + eps).log() - (gen + eps).log())
    return float(terms.sum(dim=1).mean())


def inception_score(posteriors: Tensor, eps: float = 1e-8) -> float:
    """exp(mean_i KL(p_i ‖ mean_j p_j)) of posteriors (N, K): 1 … K."""
    p = _check_posteriors(posteriors, "posteriors")
    marginal = p.mean(dim=0, keepdim=True)
    kl = (p * ((p + eps).log() - (marginal + eps).log())).sum(dim=1)
    return float(kl.mean().exp())


def loudest_window(waves: Tensor, size: int) -> Tensor:
    """(N, L) → (N, size): the `size` samples centred on each clip's loudest `size`-frame
    (hop size // 4), clamped to the clip."""
    hop = max(size // 4, 1)
    energy = waves.unfold(1, size, hop).pow(2).sum(dim=2)  # (N, frames)
    starts = energy.argmax(dim=1) * hop
    index = starts[:, None] + torch.arange(size)[None, :]
    return waves.gather(1, index)


def yin_pitch(waves: Tensor, sample_rate: int, fmin: float = 50.0, fmax: float = 2000.0) -> Tensor:
    """f0 in Hz (N,) of clips (N, L) by YIN (see the module docstring); 0 where the window is
    silent or no period in [1/fmax, 1/fmin] is found."""
    window = int(YIN_WINDOW_SECONDS * sample_rate)
    tau_min, tau_max = int(sample_rate / fmax), int(sample_rate / fmin)
    if waves.shape[1] < window + tau_max:
        raise ConfigError(
            f"yin_pitch: clips need >= {window + tau_max} samples at {sample_rate} Hz"
        )
    segments = loudest_window(waves.double(), window + tau_max)
    f0 = torch.zeros(len(waves), dtype=torch.float64)
    for i, x in enumerate(segments):
        if float(x.abs().max()) < SILENCE:
            continue
        lagged = x.unfold(0, window, 1)[: tau_max + 1]  # (tau_max + 1, window)
        d = (lagged[:1] - lagged).pow(2).sum(dim=1).numpy()  # difference function d(τ)
        cmnd = np.ones_like(d)
        cumulative = np.cumsum(d[1:])
        cmnd[1:] = d[1:] * np.arange(1, len(d)) / np.maximum(cumulative, 1e-12)
        tau = _first_dip(cmnd, tau_min)
        if tau is not None:
            f0[i] = sample_rate / _parabolic(cmnd, tau)
    return f0


def _first_dip(cmnd: np.ndarray, tau_min: int) -> int | None:
    """The first lag ≥ tau_min below the threshold, walked down to its local minimum; else the
    global minimum when it is below 0.5 (a weakly periodic clip); else None."""
    below = np.nonzero(cmnd[tau_min:] < YIN_THRESHOLD)[0]
    if below.size:
        tau = tau_min + int(below[0])
        while tau + 1 < len(cmnd) and cmnd[tau + 1] < cmnd[tau]:
            tau += 1
        return tau
    tau = tau_min + int(np.argmin(cmnd[tau_min:]))
    return tau if cmnd[tau] < 0.5 else None


def _parabolic(values: np.ndarray, i: int) -> float:
    """The vertex of the parabola through values[i-1 : i+2] (i itself at an edge)."""
    if i <= 0 or i >= len(values) - 1:
        return float(i)
    a, b, c = values[i - 1], values[i], values[i + 1]
    curvature = a - 2 * b + c
    return float(i) if curvature <= 0 else i + 0.5 * (a - c) / curvature


def frequency_to_midi(f0: Tensor) -> Tensor:
    """Nearest MIDI pitch (N,) long of frequencies (N,) Hz; -1 where f0 <= 0."""
    midi = (69 + 12 * torch.log2(f0.clamp_min(1e-9) / 440.0)).round().long()
    return torch.where(f0 > 0, midi, torch.full_like(midi, -1))


def pitch_accuracy(waves: Tensor, midi: Tensor, sample_rate: int) -> float:
    """Fraction of notes (N, L) whose YIN f0 rounds to `midi` (N,)."""
    return float((frequency_to_midi(yin_pitch(waves, sample_rate)) == midi).float().mean())
