"""polydit-graph's CLI: train (both modes, users' files), sample, eval, data show, bad input."""

import json
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from polydit.graph.cli import app
from polydit.graph.io import write_graphml

TINY = json.dumps(
    {
        "hidden": 32,
        "depth": 1,
        "heads": 2,
        "edge_hidden": 8,
        "walk_steps": 4,
        "train": {"batch_size": 8, "checkpoint_every": 2},
    }
)


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "tiny.json"
    path.write_text(TINY)
    return path


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def pard_model(tmp_path_factory, tiny_config: Path) -> Path:
    run = tmp_path_factory.mktemp("pard") / "run"
    result = invoke(
        "train",
        "--data",
        "community-small",
        "--mode",
        "pard",
        "--config",
        tiny_config,
        "--steps",
        "2",
        "--out",
        run,
    )
    assert result.exit_code == 0, result.output
    record = json.loads((run / "run.json").read_text())
    assert record["recipe"] == "pard" and record["pipeline"]["process"]["mode"] == "pard"
    return run / "model"


def test_sample_writes_graphml_grid_and_records(pard_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("sample", "--model", pard_model, "--num", "3", "--steps", "2", "--out", out)
    assert result.exit_code == 0, result.output
    records = json.loads((out / "samples.json").read_text())
    files = [r["file"] for r in records]
    assert [r["seed"] for r in records] == [0, 1, 2]
    assert len(files) == 3 and (out / "grid.png").stat().st_size > 0
    graph = nx.read_graphml(out / files[0])
    assert graph.number_of_nodes() >= 1


def test_eval_json_prints_every_metric(pard_model: Path) -> None:
    result = invoke("eval", "--model", pard_model, "--num", "4", "--steps", "2", "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    for stat in ("degree", "clustering", "orbit", "spectral"):
        for family in ("tv", "emd"):
            assert f"{stat}_{family}" in metrics and f"{stat}_{family}_ratio" in metrics
    assert 0 <= metrics["unique"] <= 1 and metrics["num_generated"] == 4


def test_train_on_users_files_and_a_bad_file_names_it(tmp_path: Path, tiny_config: Path) -> None:
    folder = tmp_path / "graphs"
    folder.mkdir()
    for i in range(6):
        write_graphml(folder / f"g{i}.graphml", nx.cycle_graph(5 + i))
    (folder / "broken.graphml").write_text("<graphml><graph>")
    bad = invoke(
        "train", "--data", folder, "--config", tiny_config, "--steps", "1", "--out", tmp_path / "r"
    )
    assert bad.exit_code != 0 and "broken.graphml" in bad.output
    assert not (tmp_path / "r" / "model").exists()
    ok = invoke(
        "train",
        "--data",
        folder,
        "--skip-bad",
        "--config",
        tiny_config,
        "--steps",
        "1",
        "--out",
        tmp_path / "r2",
    )
    assert ok.exit_code == 0, ok.output
    assert "broken.graphml" in ok.output


def test_data_show_prints_statistics_and_writes_previews(tmp_path: Path) -> None:
    result = invoke("data", "show", "--data", "planar", "--num", "4", "--out", tmp_path / "d")
    assert result.exit_code == 0, result.output
    assert "nodes_mean: 64" in result.output
    assert len(nx.read_graphml(tmp_path / "d" / "graphs.graphml")) > 0
    assert (tmp_path / "d" / "grid.png").exists()


def test_cache_and_guidance_flags_are_refused(pard_model: Path, tmp_path: Path) -> None:
    result = invoke(
        "sample", "--model", pard_model, "--num", "1", "--cache", "fora", "--out", tmp_path / "x"
    )
    assert result.exit_code != 0 and "cache" in result.output


def test_defog_sampling_flags_reach_the_sampler(pard_model: Path, tmp_path: Path) -> None:
    """--sampler dfm with --eta/--omega/--grid changes the graphs (same seeds); a bad grid or
    guidance on the ancestral sampler is refused by name."""

    def edges(out: Path, *flags: object) -> list[int]:
        result = invoke(
            "sample", "--model", pard_model, "--num", "4", "--steps", "3", "--out", out, *flags
        )
        assert result.exit_code == 0, result.output
        return [r["edges"] for r in json.loads((out / "samples.json").read_text())]

    plain = edges(tmp_path / "a", "--sampler", "dfm")
    assert plain == edges(tmp_path / "b", "--sampler", "dfm", "--grid", "uniform", "--omega", "0")
    guided = edges(
        tmp_path / "c", "--sampler", "dfm", "--eta", "5", "--omega", "2", "--grid", "polydec"
    )
    assert guided != plain
    bad = invoke(
        "sample", "--model", pard_model, "--num", "1", "--grid", "log", "--out", tmp_path / "d"
    )
    assert bad.exit_code != 0 and "grid" in bad.output and not (tmp_path / "d").exists()
    bad = invoke(
        "sample", "--model", pard_model, "--num", "1", "--omega", "0.1", "--out", tmp_path / "e"
    )
    assert bad.exit_code != 0 and "omega" in bad.output
