"""``--dtype auto``: bf16 where the hardware computes it natively, fp32 elsewhere.

Native means a CUDA device that supports bf16, or a CPU whose flags include ``avx512_bf16`` or
``amx_bf16`` (there bf16 matrix products run several times faster than fp32; on AVX2-only CPUs
they run far slower, so auto keeps fp32). A domain whose sampling measured slower in bf16 even
on native hardware (``Domain.bf16_speeds_up = False``) keeps fp32 under auto.

auto is the default of the CLI's generation verbs (``sample``, ``eval`` and the domain verbs
built with ``with_generation``), which record the resolved precision in samples.json and in the
eval JSON; an explicit ``--dtype fp32`` / ``--dtype bf16`` is always obeyed. The Python API
(``Pipeline.generate(dtype="fp32")`` and the domain generators) keeps fp32 as its default and
knows no auto. Torch-free: the CLI resolves it before a model loads.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


@lru_cache(maxsize=1)
def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo cannot be read)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def resolve_dtype(
    dtype: str,
    device: str,
    flags: frozenset[str] | None = None,
    *,
    bf16_speeds_up: bool = True,
) -> str:
    """`dtype` itself unless "auto": then "bf16" on a bf16-capable CUDA device or a CPU with
    native bf16 (`flags`, default this machine's), else "fp32"; always "fp32" where
    `bf16_speeds_up` is False (a domain that measured slower in bf16)."""
    if dtype != "auto":
        return dtype
    if not bf16_speeds_up:
        return "fp32"
    if device.startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    flags = cpu_flags() if flags is None else flags
    return "bf16" if any(f in flags for f in NATIVE_BF16_FLAGS) else "fp32"
