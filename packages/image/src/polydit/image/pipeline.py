"""`ImageGenerator`: patch codec + DiT + process, class- (and text-) conditional sampling.

Images are (B, C, H, W) float in [-1, 1]. Class labels go through the DiT's label table; the
null class (label dropout in training) is the unconditional branch of classifier-free guidance.
Text models add token features of the prompt as MM-DiT context (see :mod:`polydit.image.text`).
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
from polydit.core.names import name_index
from polydit.core.pipeline import Pipeline, seeded_labels
from polydit.core.tokens import Cond
from polydit.image.codec import PatchCodec

SAMPLE_CHUNK = 250  # images per sampler call; sample i's noise depends only on seed + i


@dataclass(frozen=True)
class ImageSamples:
    """images (B, C, H, W) in [-1, 1]; labels (B,) long (-1 where none); prompts per sample."""

    images: Tensor
    labels: Tensor
    prompts: tuple[str, ...] | None = None

    def pil(self) -> list[Any]:
        """The images as PIL images (mode L or RGB), [-1, 1] mapped to 0…255 as PNGs store them."""
        from PIL import Image

        from polydit.image.io import to_uint8

        return [Image.fromarray(to_uint8(image)) for image in self.images]


class ImageGenerator(Pipeline):
    """An image DiT with its :class:`PatchCodec` (patches, class names, text encoder)."""

    package = "polydit-image"
    shipped_root = Path(__file__).resolve().parent / "pretrained"
    codec_type = PatchCodec
    codec: PatchCodec

    # --- conditioning ---------------------------------------------------------------------
    @property
    def is_text(self) -> bool:
        return self.model.config.context_dim > 0

    def label_index(self, label: str | int) -> int:
        """A class id from a class name or an integer id (checked against the class names)."""
        return name_index(label, self.codec.class_names, argument="label")

    def draw_labels(self, num: int, seed: int) -> Tensor:
        """(num,) labels uniform over the classes, label i from seed + i (what an omitted
        --label means)."""
        return seeded_labels(num, len(self.codec.class_names), seed)

    def _cond(self, labels: Tensor | None, prompts: Sequence[str] | None) -> Cond:
        if self.is_text:
            from polydit.image.text import encode_prompts

            if not prompts:
                raise ConfigError("this is a text-conditional model: give --prompt")
            context, mask = encode_prompts(list(prompts), self.codec.text_encoder)
            return Cond(context=context, context_mask=mask)
        if prompts:
            raise ConfigError("--prompt needs a text-conditional model; this one takes --label")
        return Cond(labels=labels)

    # --- sampling -------------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        num: int,
        labels: Tensor | Sequence[int] | int | None = None,
        *,
        prompts: Sequence[str] | str | None = None,
        seed: int = 0,
        dtype: str = "fp32",
        height: int | None = None,
        width: int | None = None,
        positions: str = "extrapolate",
        **overrides: Any,
    ) -> ImageSamples:
        """`num` images; labels: one id, (num,) ids, or None (uniform, seeded by `seed`).

        height/width: a grid larger than trained (FiTv2-style, see :class:`PatchCodec`).
        overrides: steps, sampler, cfg_scale, shift. Sample i depends only on seed + i.
        """
        num = arguments.count(num)
        if isinstance(prompts, str):
            prompts = [prompts] * num
        if prompts is not None and len(prompts) != num:
            raise ConfigError(f"got {len(prompts)} prompts for {num} samples")
        label_tensor = self._labels(num, labels, seed, text=prompts is not None)
        chunks = []
        for start in range(0, num, SAMPLE_CHUNK):
            stop = min(num, start + SAMPLE_CHUNK)
            part = None if label_tensor is None else label_tensor[start:stop]
            cond = self._cond(part, None if prompts is None else prompts[start:stop])
            template = self.codec.template(stop - start, height, width, positions)
            x = self.generate(template, cond, seed=seed + start, dtype=dtype, **overrides)
            images = self.codec.decode(x, template, height, width)
            chunks.append(images.clamp(-1, 1).cpu())
        out_labels = label_tensor if label_tensor is not None else torch.full((num,), -1)
        return ImageSamples(
            torch.cat(chunks), out_labels, None if prompts is None else tuple(prompts)
        )

    def _labels(
        self, num: int, labels: Tensor | Sequence[int] | int | None, seed: int, text: bool
    ) -> Tensor | None:
        if labels is None:
            return None if text else self.draw_labels(num, seed)
        if isinstance(labels, int):
            return torch.full((num,), self.label_index(labels), dtype=torch.long)
        tensor = torch.as_tensor(labels, dtype=torch.long)
        if tensor.shape != (num,):
            raise ConfigError(f"labels must have shape ({num},), got {tuple(tensor.shape)}")
        return tensor
