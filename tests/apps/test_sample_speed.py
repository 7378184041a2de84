"""The sampling-speed table's arithmetic: steady rates leave the first (compiling) chunk out."""

from polydit.bench.sample_speed import BENCHES, levers, markdown, steady_rate


def test_steady_rate_leaves_the_first_chunk_out():
    metrics = {
        "sampled_rows": 48,
        "sampling_seconds": 70.0,
        "first_chunk_rows": 16,
        "first_chunk_seconds": 60.0,
    }
    assert steady_rate("image", metrics) == 32 / 10.0
    one_chunk = {**metrics, "sampled_rows": 16, "sampling_seconds": 60.0}
    assert steady_rate("image", one_chunk) == 16 / 60.0
    assert steady_rate("policy", {"latency_ms_per_chunk": 40.0}) == 25.0


def test_levers_skip_what_a_domain_or_cpu_cannot_do():
    names = [lever.name for lever in levers("graph", {"bf16", "compiled", "cache"}, True)]
    assert names == ["fp32", "bf16", "compiled"]  # graph models take no cache
    names = [lever.name for lever in levers("policy", {"bf16", "cache"}, False)]
    assert names == ["fp32", "cache"]  # no native bf16: no bf16 row
    cache = levers("policy", {"cache"}, False)[1].flags
    assert cache[:4] == ["--cache", "fora", "--cache-opts", "interval=3"]


def test_markdown_puts_each_metric_beside_fp32():
    def run(rate_seconds: float, accuracy: float, lever: str) -> dict:
        metrics = {
            "sampled_rows": 20,
            "sampling_seconds": rate_seconds,
            "first_chunk_rows": 10,
            "first_chunk_seconds": rate_seconds / 2,
            "accuracy": accuracy,
            "fd_ratio": 1.5,
            "dtype": "fp32",
        }
        return {"lever": lever, "metrics": metrics}

    table = markdown(
        "image", BENCHES["image"], [run(10.0, 0.9, "fp32"), run(5.0, 0.88, "compiled")]
    )
    row = table.splitlines()[-1]
    assert row.startswith("| compiled | fp32 | 4.00 | 2.00× | 2 |")
    assert "88.00 (-2.00)" in row
