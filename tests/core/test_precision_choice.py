"""--dtype auto: bf16 only where the CPU computes it natively."""

from __future__ import annotations

from pathlib import Path

from polydit.core.precision_choice import cpu_flags, resolve_dtype


def test_auto_picks_bf16_only_with_native_bf16_flags() -> None:
    assert resolve_dtype("auto", "cpu", frozenset({"avx2", "avx512f", "avx512_bf16"})) == "bf16"
    assert resolve_dtype("auto", "cpu", frozenset({"amx_bf16"})) == "bf16"
    assert resolve_dtype("auto", "cpu", frozenset({"avx2", "avx512f"})) == "fp32"
    assert resolve_dtype("fp32", "cpu", frozenset({"avx512_bf16"})) == "fp32"
    assert resolve_dtype("bf16", "cpu", frozenset()) == "bf16"


def test_cpu_flags_read_proc_cpuinfo_and_survive_its_absence(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n")
    assert cpu_flags.__wrapped__(info) == frozenset({"fpu", "avx2", "avx512_bf16"})
    assert cpu_flags.__wrapped__(tmp_path / "missing") == frozenset()
