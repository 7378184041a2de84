"""`AudioGenerator`: spectrogram-frame codec + a 1-D DiT + process; label- (and voice-)
conditional generation and inpainting.

Clips are (B, L) float in [-1, 1] at the codec's rate. The DiT runs over the codec's frame
tokens (:class:`~polydit.audio.codec.MelCodec`: for a 1.024 s clip at 16 kHz, N = 64 log-mel
frames, or 64 tokens of two 257-bin linear-STFT frames each); the class label goes through its label table, whose null class (label dropout in
training) is the unconditional branch of classifier-free guidance; a voice-conditioned model also
takes the one-hot voice as ``Cond.vector`` (all zeros: any voice). Guidance drops both together.

Inpainting (EzAudio's masked-latent conditioning) uses the core ``Cond.given`` mask: the frames
outside the span to fill are given clean, at time 0, and held at their values by the sampler;
the model was trained with such spans (:class:`~polydit.audio.train.AudioSpec.inpaint_prob`).

Decoding runs Griffin-Lim one clip at a time from phase seed `seed + i`, so sample i depends on
seed + i only (with the core's fixed sampling micro-batches), whatever `num` is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from polydit.audio import PRETRAINED
from polydit.audio.codec import MelCodec
from polydit.core.errors import ConfigError
from polydit.core.names import name_index
from polydit.core.pipeline import Pipeline, SamplingConfig, seeded_labels
from polydit.core.tokens import Cond

Labels = Tensor | Sequence[int | str] | int | str | None


@dataclass(frozen=True)
class AudioSamples:
    """waveforms (B, L) float32 in [-1, 1] at `sample_rate` Hz; labels (B,) long class ids
    (-1: unconditional); voices (B,) long voice ids (-1: any voice / not voice-conditioned)."""

    waveforms: Tensor
    sample_rate: int
    labels: Tensor
    voices: Tensor


class AudioGenerator(Pipeline):
    """An audio DiT with its :class:`MelCodec` (frames, standardisation, class and voice names)."""

    package = "polydit-audio"
    codec_type = MelCodec
    codec: MelCodec
    shipped_root = PRETRAINED
    default_sampling = SamplingConfig(steps=25, sampler="heun", cfg_scale=2.0)

    def configure(self) -> None:
        config, codec = self.model.config, self.codec
        if config.in_dim != codec.token_dim or config.num_classes != len(codec.class_names):
            raise ConfigError(
                f"the DiT (in_dim {config.in_dim}, {config.num_classes} classes) does not fit "
                f"the codec ({codec.token_dim} channels, {len(codec.class_names)} classes)"
            )
        if config.vector_dim != len(codec.voice_names):
            raise ConfigError(
                f"the DiT takes a {config.vector_dim}-d vector; the codec has "
                f"{len(codec.voice_names)} voices"
            )

    @property
    def sample_rate(self) -> int:
        return self.codec.sample_rate

    # --- conditioning ---------------------------------------------------------------------
    def label_index(self, label: int | str) -> int:
        """A class id from a class name or an integer id (checked against the class names)."""
        return name_index(label, self.codec.class_names, argument="label")

    def voice_index(self, voice: int | str) -> int:
        """A voice id from a voice name or an integer id (voice-conditioned models only)."""
        if not self.codec.voice_names:
            raise ConfigError("--voice: this model is not voice-conditioned")
        return name_index(voice, self.codec.voice_names, argument="voice", what="voices")

    def draw_labels(self, num: int, seed: int) -> Tensor:
        """(num,) labels uniform over the classes, label i from seed + i (what an omitted
        --label means; :func:`~polydit.core.pipeline.seeded_labels`)."""
        return seeded_labels(num, len(self.codec.class_names), seed)

    def _ids(self, values: Labels, num: int, index: Any) -> Tensor:
        """(num,) ids from one name/id for all, or `num` names/ids."""
        if isinstance(values, int | str):
            return torch.full((num,), index(values), dtype=torch.long)
        if isinstance(values, Tensor):
            values = values.tolist()
        ids = torch.tensor([index(v) for v in values], dtype=torch.long)
        if ids.shape != (num,):
            raise ConfigError(f"got {len(ids)} labels/voices for {num} samples")
        return ids

    def cond(self, labels: Tensor | None, voices: Tensor) -> Cond:
        """Cond of labels (B,) (None: the null class) and voices (B,) (-1: any voice)."""
        vector = None
        if self.codec.voice_names:
            k = len(self.codec.voice_names)
            vector = F.one_hot(voices.clamp_min(0), k).float() * (voices >= 0)[:, None]
        return Cond(labels=labels, vector=vector)

    def _conditioning(
        self, num: int, labels: Labels, voices: Labels, seed: int, draw: bool
    ) -> tuple[Tensor | None, Tensor]:
        if labels is None:
            label_ids = self.draw_labels(num, seed) if draw else None
        else:
            label_ids = self._ids(labels, num, self.label_index)
        if voices is None:
            voice_ids = torch.full((num,), -1, dtype=torch.long)
        else:
            voice_ids = self._ids(voices, num, self.voice_index)
        return label_ids, voice_ids

    # --- generation -----------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        num: int,
        labels: Labels = None,
        *,
        voices: Labels = None,
        seed: int = 0,
        dtype: str = "fp32",
        **overrides: Any,
    ) -> AudioSamples:
        """`num` clips. labels: one class name/id for all, `num` of them, or None (uniform,
        drawn from `seed`); voices likewise, None = any voice. overrides: steps, sampler,
        cfg_scale, shift, cache, cache_opts. Sample i depends only on seed + i."""
        label_ids, voice_ids = self._conditioning(num, labels, voices, seed, draw=True)
        template = self.codec.template(num)
        x = self.generate(
            template, self.cond(label_ids, voice_ids), seed=seed, dtype=dtype, **overrides
        )
        return AudioSamples(self._decode(x, seed), self.sample_rate, label_ids, voice_ids)

    @torch.no_grad()
    def inpaint(
        self,
        audio: Tensor,
        mask: Tensor,
        labels: Labels = None,
        *,
        voices: Labels = None,
        seed: int = 0,
        dtype: str = "fp32",
        **overrides: Any,
    ) -> AudioSamples:
        """Fill the samples where `mask` is True of clips `audio` (B, L) or (L,) (mask alike,
        bool); elsewhere the output is `audio` unchanged (bit for bit).

        The masked samples are zeroed before encoding (nothing of them leaks in); every frame
        whose STFT window touches them is generated, the others are given. The generated wave
        fades in over 2 hops inside each edge of the span. labels/voices: as in
        :meth:`sample`, but None = unconditional (the null class).
        """
        audio, mask = _batch(audio, "audio"), _batch(mask, "mask").bool()
        if audio.shape != mask.shape or audio.shape[1] != self.codec.num_samples:
            raise ConfigError(
                f"inpaint: audio {tuple(audio.shape)} and mask {tuple(mask.shape)} must both be "
                f"(B, {self.codec.num_samples}) at {self.sample_rate} Hz"
            )
        num = audio.shape[0]
        label_ids, voice_ids = self._conditioning(num, labels, voices, seed, draw=False)
        audio = audio.float()
        known = self.codec.encode(audio.masked_fill(mask, 0.0)).x
        cond = self.cond(label_ids, voice_ids)
        cond.given = ~self.codec.touched_tokens(mask)
        template = self.codec.template(num)
        x = self.generate(template, cond, known=known, seed=seed, dtype=dtype, **overrides)
        weight = _fade(mask, self.codec.mel.hop)
        waves = audio * (1 - weight) + self._decode(x, seed) * weight
        waves = torch.where(mask, waves, audio)  # exactly the input outside the span
        out_labels = torch.full((num,), -1) if label_ids is None else label_ids
        return AudioSamples(waves, self.sample_rate, out_labels, voice_ids)

    def _decode(self, x: Tensor, seed: int) -> Tensor:
        """Token features (B, N, C) → clips (B, L), clip i by Griffin-Lim from seed + i."""
        clips = [self.codec.decode(x[i : i + 1], seed=seed + i) for i in range(len(x))]
        return torch.cat(clips).clamp(-1.0, 1.0).cpu()


def _batch(t: Tensor, name: str) -> Tensor:
    t = torch.as_tensor(t)
    if t.dim() == 1:
        return t[None]
    if t.dim() != 2:
        raise ConfigError(f"inpaint: {name} must be (L,) or (B, L), got {tuple(t.shape)}")
    return t


def _fade(mask: Tensor, hop: int) -> Tensor:
    """(B, L) weights of the generated wave: 0 outside `mask`, rising linearly from 0 at each
    edge of a masked span to 1 at 2·hop inside it (erosion by hop, then a box filter)."""
    m = mask.float()[:, None]
    width = 2 * hop + 1
    eroded = -F.max_pool1d(-m, width, stride=1, padding=hop)
    ramp = F.avg_pool1d(eroded, width, stride=1, padding=hop, count_include_pad=False)
    return (ramp * m)[:, 0]
