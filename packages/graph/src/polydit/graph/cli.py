"""`polydit-graph`: the core CLI factory plus the graph flags.

``sample`` writes DIR/graph_000.graphml … (one GraphML per graph), DIR/grid.png and
samples.json; ``eval --json`` prints every MMD² (both kernel families, and as ratios over
train-vs-test) and validity / uniqueness / novelty / V.U.N.; ``train --data
planar|sbm|community-small|tree|grid|PATH --mode oneshot|pard``; ``data show``. This module
imports no torch at module level: ``--help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from polydit.core.cli import CATEGORICAL_FLAGS, Domain, Flag, GalleryItem, make_cli, run_cli

if TYPE_CHECKING:
    from polydit.core.cli import DataOptions, EvalOptions, SampleOptions, TrainOptions

#: graphs per evaluation: the issue's ≥ 128 (DiGress's final planar evaluation draws 40)
EVAL_NUM = 128
DEMO_NUM = 16
SKIP_BAD = Flag("skip-bad", bool, False, "Skip malformed graph files and report them.")


class GraphDomain(Domain):
    name = "graph"
    default_model = "community-small"
    generator = "polydit.graph.pipeline:GraphGenerator"
    recipes = {"oneshot": "polydit.graph.train:ONESHOT", "pard": "polydit.graph.train:PARD"}
    train_options = (
        Flag(
            "mode",
            str,
            "oneshot",
            "oneshot (DiGress-style) or pard (block-wise).",
            choices=("oneshot", "pard"),
        ),
        SKIP_BAD,
        Flag("node-attr", str, None, "Node attribute holding node categories (users' files)."),
        Flag("edge-attr", str, None, "Edge attribute holding edge categories (users' files)."),
    )
    sample_options = CATEGORICAL_FLAGS
    caches = False
    reports = True
    eval_options = CATEGORICAL_FLAGS
    data_options = (
        Flag("split", str, "train", "Which split.", choices=("train", "val", "test", "all")),
        SKIP_BAD,
    )

    def recipe_for(self, opts: TrainOptions) -> str:
        return opts.extra.get("mode") or "oneshot"

    def _generate(self, generator: Any, opts: SampleOptions | EvalOptions, num: int) -> list[Any]:
        from polydit.core.errors import ConfigError

        settings = opts.generation()
        for key, flag, off in (("cfg_scale", "--cfg", 1.0), ("cfg_rescale", "--cfg-rescale", 0.0)):
            if settings.pop(key, None) not in (None, off):
                raise ConfigError(f"{flag}: graph models are unconditional (no guidance)")
        return generator.sample(num, opts.seed, **settings)

    def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
        from polydit.graph.draw import draw_grid
        from polydit.graph.io import write_graphml

        graphs = self._generate(generator, opts, opts.num)
        records = []
        for i, graph in enumerate(graphs):
            name = f"graph_{opts.first + i:03d}.graphml"
            write_graphml(out / name, graph)
            facts = {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}
            records.append({"file": name, "seed": opts.seed + i, "conditioning": {}, **facts})
        if opts.first == 0:
            draw_grid(out / "grid.png", graphs)
        return records

    def evaluate(self, generator: Any, opts: EvalOptions) -> dict[str, float]:
        from polydit.graph.evaluate import score_graphs

        graphs = self._generate(generator, opts, opts.num or EVAL_NUM)
        codec = generator.codec
        load = {
            k: v for k, v in (("node_attr", codec.node_attr), ("edge_attr", codec.edge_attr)) if v
        }
        metrics = score_graphs(graphs, codec.dataset, **load)
        if opts.report is not None:
            from polydit.graph.data import load_dataset
            from polydit.graph.report import write_report

            write_report(opts.report, graphs, load_dataset(codec.dataset, "test", **load)[0].graphs)
        return metrics

    def data_show(self, opts: DataOptions) -> None:
        from polydit.graph.data import dataset_statistics, load_dataset
        from polydit.graph.draw import draw_grid
        from polydit.graph.io import write_graphml

        split = opts.extra.get("split", "train")
        graphs, skipped = load_dataset(
            opts.data or "planar", split, opts.extra.get("skip_bad", False)
        )
        for key, value in dataset_statistics(graphs.graphs).items():
            typer.echo(f"{key}: {value:g}")
        if skipped:
            typer.echo(f"skipped {len(skipped)} bad graphs: " + "; ".join(skipped[:5]))
        if opts.out is not None:
            shown = list(graphs.graphs[: opts.num])
            opts.out.mkdir(parents=True, exist_ok=True)
            write_graphml(opts.out / "graphs.graphml", shown)
            draw_grid(opts.out / "grid.png", shown)
            typer.echo(f"wrote {len(shown)} graphs to {opts.out}/graphs.graphml and grid.png")

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        from polydit.graph.draw import draw_grid
        from polydit.graph.pipeline import GraphGenerator

        items = []
        for name in self.shipped_models():
            model = (
                generator if name == self.default_model else GraphGenerator.from_pretrained(name)
            )
            graphs = model.sample(DEMO_NUM, seed)
            draw_grid(out / f"{name}.png", graphs)
            command = f"polydit-graph sample --model {name} --num {DEMO_NUM} --seed {seed} --dtype fp32 --out DIR"
            caption = (
                f"{DEMO_NUM} graphs generated by the shipped {name} model "
                f"({model.process.mode}, {model.sampling.steps} steps)"
            )
            items.append(GalleryItem(Path(f"{name}.png"), caption, command))
        return items


DOMAIN = GraphDomain()
app = make_cli(DOMAIN)


def main() -> None:
    run_cli(app)
