"""`VideoGenerator`: one model for generation, prediction, interpolation and completion.

Every task is the same call — sample the tokens that are not `given`, holding the given ones at
the values of a conditioning clip (VDT mask modeling; LTX per-token t = 0 conditioning) — with
a different given mask. Clips are (B, T, C, H, W) float in [0, 1]; the task methods return them
as :class:`VideoSamples`, :meth:`VideoGenerator.fill` as the bare tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from polydit.core import arguments
from polydit.core.errors import ConfigError
from polydit.core.pipeline import Pipeline
from polydit.core.text_encoder import FEATURE_DIM
from polydit.core.tokens import Cond
from polydit.video.codec import VideoCodec
from polydit.video.io import to_uint8, write_gif
from polydit.video.tasks import box_pixels, interpolate_frames, predict_frames


@dataclass(frozen=True)
class VideoSamples:
    """clips (B, T, C, H, W) float32 in [0, 1] (C = 1 grey or 3 RGB); labels (B,) long digit
    classes of a class-conditional draw (-1: none given); prompts: the caption of each clip of a
    text model's draw (None: none given)."""

    clips: Tensor
    labels: Tensor
    prompts: tuple[str, ...] | None = None

    def frames(self, i: int, scale: int = 1) -> list[Any]:
        """Clip i as T PIL RGB images, [0, 1] mapped to 0…255 as GIFs store them, each enlarged
        `scale`× (nearest)."""
        from PIL import Image

        return [Image.fromarray(frame) for frame in to_uint8(self.clips[i], scale)]

    def save_gif(self, i: int, path: str | Path, scale: int = 1) -> Path:
        """Write clip i as a looping GIF (:func:`~polydit.video.io.write_gif`); returns the
        path."""
        return write_gif(path, self.clips[i], scale=scale)


class VideoGenerator(Pipeline):
    """DiT + process + :class:`VideoCodec`, whose attention pattern the network takes on."""

    package = "polydit-video"
    shipped_root = Path(__file__).resolve().parent / "pretrained"
    codec_type = VideoCodec
    codec: VideoCodec

    def configure(self) -> None:
        """Factorized models attend within frames and along time in alternate blocks."""
        if self.codec.attention == "factorized":
            from polydit.video.factorized import factorize

            factorize(self.model, self.codec)

    # --- tasks ----------------------------------------------------------------------------
    def fill(
        self,
        clips: Tensor | None,
        given_pixels: Tensor,
        *,
        seed: int = 0,
        labels: Tensor | None = None,
        prompts: Sequence[str] | None = None,
        **overrides: Any,
    ) -> Tensor:
        """Sample everything of `clips` (B, T, C, H, W) outside `given_pixels` (B, T, H, W) bool.

        Given tokens (a token is given when all its pixels are) are returned exactly as in
        `clips`; the rest is generated. clips may be None when nothing is given. Clip i is drawn
        from noise seeded by seed + i. labels: (B,) digit classes for a class-conditional model
        (None: the null class); prompts: (B,) captions for a text model (None: the null
        context). overrides: steps, sampler, cfg_scale, shift, dtype, cache, cache_opts.
        Returns (B, T, C, H, W) clamped to [0, 1].
        """
        codec = self.codec
        b = given_pixels.shape[0]
        if clips is None:
            clips = torch.zeros(b, codec.frames, codec.channels, codec.size, codec.size)
        clips = clips.float().cpu()
        codec.check(clips)
        tokens = codec.encode(clips)
        given = codec.pixels_to_tokens(given_pixels.cpu())
        has_given = bool(given.any())
        cond = None
        text = self._context(prompts, b)
        if text and prompts is None:  # the null context is its own unconditional branch:
            overrides = {**overrides, "cfg_scale": 1.0}  # guidance would repeat it unchanged
        if has_given or labels is not None or text:
            cond = Cond(given=given if has_given else None, labels=self._labels(labels, b), **text)
        template = codec.template(b)
        known = tokens.x if has_given else None
        x = self.generate(template, cond, known=known, seed=seed, **overrides)
        out = codec.decode(x.cpu(), template).clamp(0, 1)
        keep = codec.tokens_to_pixels(given)[:, :, None]  # given pixels are returned unchanged
        return torch.where(keep, clips, out)

    def sample(
        self,
        num: int,
        *,
        seed: int = 0,
        labels: Tensor | None = None,
        prompts: Sequence[str] | str | None = None,
        **overrides: Any,
    ) -> VideoSamples:
        """`num` clips (num, T, C, H, W) from nothing given (of class `labels`, or following
        `prompts` — one caption for all or one per clip — when given)."""
        num, c = arguments.count(num), self.codec
        nothing = torch.zeros(num, c.frames, c.size, c.size, dtype=torch.bool)
        return self._samples(None, nothing, seed, labels, overrides, prompts)

    def predict(
        self,
        clips: Tensor,
        given: int,
        *,
        seed: int = 0,
        labels: Tensor | None = None,
        prompts: Sequence[str] | str | None = None,
        **overrides: Any,
    ) -> VideoSamples:
        """Continue clips (B, T', C, H, W) with T' >= `given` from their first `given` frames
        (following `prompts` on a text model)."""
        full = self._pad(clips, given)
        mask = predict_frames(full.shape[0], self.codec.frames, given)
        return self._samples(full, self._frames(mask), seed, labels, overrides, prompts)

    def interpolate(
        self,
        first: Tensor,
        last: Tensor,
        *,
        seed: int = 0,
        labels: Tensor | None = None,
        **overrides: Any,
    ) -> VideoSamples:
        """The T-frame clips from frames `first` to `last`, each (B, C, H, W)."""
        c = self.codec
        full = torch.zeros(first.shape[0], c.frames, c.channels, c.size, c.size)
        full[:, 0], full[:, -1] = first, last
        mask = interpolate_frames(first.shape[0], c.frames)
        return self._samples(full, self._frames(mask), seed, labels, overrides)

    def complete(
        self,
        clips: Tensor,
        box: tuple[int, int, int, int],
        *,
        seed: int = 0,
        labels: Tensor | None = None,
        **overrides: Any,
    ) -> VideoSamples:
        """Regenerate everything of `clips` outside the box (top, left, height, width) that is
        given in every frame (pixel units; snap it to the patch grid for an exact hold)."""
        c = self.codec
        mask = box_pixels(clips.shape[0], c.frames, c.size, *box)
        return self._samples(clips, mask, seed, labels, overrides)

    def _samples(
        self,
        clips: Tensor | None,
        given_pixels: Tensor,
        seed: int,
        labels: Tensor | None,
        overrides: dict[str, Any],
        prompts: Sequence[str] | str | None = None,
    ) -> VideoSamples:
        """:meth:`fill` as :class:`VideoSamples`."""
        b = given_pixels.shape[0]
        prompts = self._prompts(prompts, b)
        out = self.fill(clips, given_pixels, seed=seed, labels=labels, prompts=prompts, **overrides)
        drawn = self._labels(labels, b)
        drawn = torch.full((b,), -1) if drawn is None else drawn.clone()
        return VideoSamples(out, drawn, None if prompts is None else tuple(prompts))

    @property
    def is_text(self) -> bool:
        """Whether the model is text-conditional (MM-DiT context from MiniLM token states)."""
        return self.model.config.context_dim > 0

    def _prompts(self, prompts: Sequence[str] | str | None, batch: int) -> list[str] | None:
        """One caption per clip (a single string is repeated); checked against the model."""
        if prompts is None:
            return None
        if not self.is_text:
            raise ConfigError(
                "--prompt needs a text-conditional model (model.text); this one is not"
            )
        prompts = [prompts] * batch if isinstance(prompts, str) else list(prompts)
        if len(prompts) != batch:
            raise ConfigError(f"--prompt: got {len(prompts)} prompts for {batch} clips")
        return prompts

    def _context(self, prompts: Sequence[str] | None, batch: int) -> dict[str, Tensor]:
        """Cond fields of `prompts`; a text model without prompts gets the null context (the
        dropped conditioning of training), a model without text none."""
        if not self.is_text:
            self._prompts(prompts, batch)
            return {}
        if prompts is None:
            null = torch.zeros(batch, 1, FEATURE_DIM)
            return {"context": null, "dropped": torch.ones(batch, dtype=torch.bool)}
        from polydit.video.text import encode_prompts

        context, mask = encode_prompts(self._prompts(prompts, batch))
        return {"context": context, "context_mask": mask}

    def _labels(self, labels: Tensor | None, batch: int) -> Tensor | None:
        if labels is None:
            return None
        classes = self.model.config.num_classes
        if not classes:
            raise ConfigError("labels were given but this model is not class-conditional")
        labels = torch.as_tensor(labels, dtype=torch.long).reshape(-1).expand(batch)
        if bool(((labels < 0) | (labels >= classes)).any()):
            raise ConfigError(f"labels must be in [0, {classes - 1}], got {labels.tolist()}")
        return labels

    def _frames(self, frame_mask: Tensor) -> Tensor:
        c = self.codec
        return frame_mask[:, :, None, None].expand(-1, -1, c.size, c.size)

    def _pad(self, clips: Tensor, given: int) -> Tensor:
        c = self.codec
        if clips.shape[1] < given:
            raise ConfigError(f"--given {given}: the clip has only {clips.shape[1]} frames")
        full = torch.zeros(clips.shape[0], c.frames, c.channels, c.size, c.size)
        full[:, :given] = clips[:, :given]
        return full
