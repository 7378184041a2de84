"""The evaluation protocol of ``polydit-pointcloud eval``: per class, as many generated clouds as
the class has test shapes (or `num`), against that class's test split, in original units.

For each class ``c`` of the model it reports ``c/MMD-CD``, ``c/COV-CD``, ``c/1-NNA-CD`` (and the
same with EMD), ``c/JSD`` (:func:`~polydit.pointcloud.metrics.evaluate`), the copy check
``c/copy_ratio`` with its two medians (:func:`~polydit.pointcloud.metrics.copy_check`, against
the class's training split), and ``c/num_generated`` / ``c/num_reference``. The references
come from `data`, by default the model's training set (``shapes`` or the folder it names). CD
uses all points; the exact EMD and the copy check use the same fixed `emd_points` /
`copy_points` of every cloud.
"""

from __future__ import annotations

from typing import Any

import torch

from polydit.pointcloud.data import BUILTIN, PointCloudSet, load_dataset, load_shapes
from polydit.pointcloud.metrics import DISTANCES, copy_check, evaluate


def reference_sets(
    data: str,
    classes: tuple[str, ...],
    num_points: int,
    split: str = "test",
    skip_bad: bool = False,
) -> tuple[PointCloudSet, PointCloudSet]:
    """(`split`, train split) of `data` at `num_points` points per cloud (of the built-in set,
    only the categories `classes` are built)."""
    if data == BUILTIN:
        return load_shapes(split, classes, num_points), load_shapes("train", classes, num_points)
    reference, _ = load_dataset(data, split, num_points, skip_bad=skip_bad)
    train, _ = load_dataset(data, "train", num_points, skip_bad=skip_bad)
    return reference, train


def evaluate_generator(
    generator: Any,
    *,
    data: str | None = None,
    label: str | int | None = None,
    num: int | None = None,
    seed: int = 0,
    emd: bool = True,
    emd_points: int = 512,
    copy_points: int = 512,
    batch_size: int | None = None,
    split: str = "test",
    skip_bad: bool = False,
    **settings: Any,
) -> dict[str, float]:
    """The metrics of a PointCloudGenerator per class (module docstring) against `split` ("val"
    to choose sampling settings without looking at the test split); `settings`: sampler
    overrides (steps, sampler, cfg_scale, dtype)."""
    codec = generator.codec
    source = data or codec.data or BUILTIN
    names = codec.class_names
    classes = names if label is None else (names[generator.label_index(label)],)
    test, train = reference_sets(source, classes, codec.num_points, split, skip_bad)
    distances = DISTANCES if emd else ("cd",)
    out: dict[str, float] = {}
    for name in classes:
        reference = test.of_label(name).denormalised()
        count = num or len(reference)
        clouds = torch.from_numpy(generator.sample(count, label=name, seed=seed, **settings).points)
        scores = evaluate(
            clouds, reference, distances=distances, batch_size=batch_size, emd_points=emd_points
        )
        copied = copy_check(clouds, reference, train.of_label(name).denormalised(), copy_points)
        scores |= {
            "copy_ratio": copied.ratio,
            "copy_generated_median": copied.generated_median,
            "copy_test_median": copied.test_median,
            "num_generated": float(count),
            "num_reference": float(len(reference)),
        }
        out |= {f"{name}/{key}": value for key, value in scores.items()}
    return out
