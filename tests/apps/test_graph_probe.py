"""The graph denoising probe (apps/bench): the shipped community-small model, given real test
graphs corrupted to t, predicts their edges better than copying its input does."""

from polydit.bench.graph.probe import probe
from polydit.graph.pipeline import GraphGenerator


def test_the_shipped_model_denoises_better_than_copying() -> None:
    generator = GraphGenerator.from_pretrained("community-small")
    records = probe(generator, [0.2, 0.4], seed=0)
    for record in records:
        assert record["edge_error"] < 0.85 * record["noisy_edge_error"], record
        assert 0 <= record["exact"] <= 1
    assert records[0]["edge_error"] < records[1]["edge_error"]  # less noise, fewer errors
