"""The `polydit-policy` CLI: the core verbs plus `collect` (scripted-expert demonstrations),
`rollout` (one rendered episode) and `data export` (episodes as a LeRobot dataset, optionally
with videos). A sample is one closed-loop episode per seed.

Light on purpose: torch, MuJoCo and MetaWorld are imported inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from polydit.core import progress
from polydit.core.cli import Domain, Flag, GalleryItem, make_cli, parse_cache_opts, run_cli
from polydit.core.cli.domain import DataOptions, EvalOptions, SampleOptions
from polydit.core.cli.options import Cache, CacheOpts, Json, Out, model_option
from polydit.policy import DEFAULT_MODEL, commands


class PolicyDomain(Domain):
    name = "policy"
    default_model = DEFAULT_MODEL
    generator = "polydit.policy.pipeline:PolicyGenerator"
    # bf16 autocast sampled 0.75x as fast as fp32 on an AVX512-BF16 CPU (BENCHMARKS.md, "Sampling
    # speed of every domain"): the 1.9 M-parameter DiT at batch 1 is bound by per-op overhead,
    # which the casts add to; so --dtype auto keeps fp32 here
    bf16_speeds_up = False
    sample_options = (
        Flag("task", str, None, "Task to roll out (default: the model's first)."),
        Flag("max-steps", int, None, "Step limit of each episode (default: the task's).", min=1),
    )
    eval_options = (
        Flag("task", str, None, "A task, a comma list or MT10 (default: all of the model's)."),
        Flag("episodes", int, 50, "Episodes per task (one per seed)."),
        Flag("num-envs", int, 25, "Environments stepped in lockstep (one policy batch)."),
        Flag("action-steps", int, None, "Actions executed per chunk (default: the model's k)."),
    )

    def load(self, model_dir: Path, *, device: str, dtype: str) -> Any:
        """A PolicyGenerator, or an MLPBaseline (not a Pipeline) for an "mlp_bc" directory."""
        from polydit.policy import load_pretrained

        return load_pretrained(model_dir, device=device)

    def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
        """Roll out `num` closed-loop episodes (seeds seed..seed+num-1) as episode NPZs."""
        from polydit.policy.io import save_episode
        from polydit.policy.recording import record_episode

        task = commands.tasks(opts.extra["task"], generator)[0]
        overrides = commands.overrides(generator, opts.generation())
        records = []
        for seed in range(opts.seed, opts.seed + opts.num):
            episode, result = record_episode(
                generator, task, seed, max_steps=opts.extra["max_steps"], **overrides
            )
            name = f"{task}_seed_{seed:05d}.npz"
            save_episode(out / name, episode)
            records.append(
                {
                    "file": name,
                    "seed": seed,
                    "conditioning": {"task": task},
                    "success": result.success[0],
                    "length": result.length[0],
                }
            )
        return records

    def evaluate(self, generator: Any, opts: EvalOptions) -> dict[str, float]:
        from polydit.policy.metrics import eval_seeds, evaluate_policy

        tasks = commands.tasks(opts.extra["task"], generator)
        episodes = opts.num or opts.extra["episodes"]
        seeds = eval_seeds(opts.seed, episodes, generator.codec.demo_seed_max)
        metrics, _ = evaluate_policy(
            generator,
            tasks,
            seeds,
            num_envs=opts.extra["num_envs"],
            action_steps=opts.extra["action_steps"],
            **commands.overrides(generator, opts.generation()),
        )
        return metrics

    def data_show(self, opts: DataOptions) -> None:
        from polydit.core.errors import ConfigError
        from polydit.policy.io import describe_episodes

        if opts.data is None:
            raise ConfigError("--data: give a directory of episodes (create one with `collect`)")
        for line in describe_episodes(opts.data, opts.num):
            typer.echo(line)

    def info(self, generator: Any) -> dict[str, Any]:
        """Tasks, chunking, cost per chunk, or the MLP-BC kind: more than the default shows."""
        from polydit.policy.model import describe

        return describe(generator)

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        from polydit.policy.recording import demo_rollout

        return [GalleryItem(*item) for item in demo_rollout(generator, out, seed)]


DOMAIN = PolicyDomain()
app = make_cli(DOMAIN)
# the core factory's `data` group (it holds `show`): `data export` joins it
data_app = next(group.typer_instance for group in app.registered_groups if group.name == "data")


@data_app.command("export")
def data_export(
    data: Annotated[
        Path, typer.Option(help="A directory of episodes (NPZ files, or a LeRobot dataset).")
    ],
    out: Out,
    fmt: Annotated[
        str, typer.Option("--format", help="Output format: lerobot (LeRobot v2.1 parquet).")
    ] = "lerobot",
    videos: Annotated[
        bool, typer.Option(help="Also replay each episode and film it (MP4, offscreen render).")
    ] = False,
) -> None:
    """Write the episodes under --data as a LeRobot dataset (meta/*.json[l] + parquet)."""
    with progress.shown():
        report = commands.export_episodes(data, out, fmt, videos)
    typer.echo(str(report))


@app.command()
def collect(
    task: Annotated[str, typer.Option(help="A MetaWorld task, a comma list, or MT10.")],
    episodes: Annotated[int, typer.Option(min=1, help="Expert episodes attempted per task.")],
    out: Out,
    seed: Annotated[int, typer.Option(min=0, help="Environment seed of the first episode.")] = 0,
    action_noise: Annotated[
        float, typer.Option(min=0.0, help="Std of Gaussian noise on executed actions.")
    ] = 0.0,
    image_size: Annotated[
        int | None, typer.Option(min=4, help="Also record S×S camera frames (offscreen render).")
    ] = None,
) -> None:
    """Collect scripted-expert demonstrations; keep the successful ones as NPZ episodes."""
    with progress.shown():
        reports = commands.collect_demos(task, episodes, out, seed, action_noise, image_size)
    kept = sum(r.kept for r in reports)
    typer.echo(f"kept {kept} of {sum(r.attempted for r in reports)} episodes in {out}")


@app.command("rollout")
def rollout_command(
    task: Annotated[str, typer.Option(help="The task to run.")],
    seed: Annotated[int, typer.Option(help="Environment seed (≥ the model's demo seeds).")] = 1000,
    model: model_option(DOMAIN) = DEFAULT_MODEL,  # type: ignore[valid-type]
    video: Annotated[
        Path | None, typer.Option(help="Write a rendered rollout (.mp4/.gif).")
    ] = None,
    json_out: Json = False,
    cache: Cache = "none",
    cache_opts: CacheOpts = None,
    instruction: Annotated[
        str | None,
        typer.Option(help="A language-goal model's instruction (default: the task's own)."),
    ] = None,
) -> None:
    """Run one closed-loop episode (optionally rendered to a video)."""
    generator = DOMAIN.load(Path(model), device="cpu", dtype="fp32")
    generation: dict[str, Any] = {"cache": cache, "cache_opts": parse_cache_opts(cache_opts)}
    summary = commands.rollout_episode(generator, task, seed, video, instruction, generation)
    if json_out:
        typer.echo(json.dumps(summary))
    else:
        for key, value in summary.items():
            typer.echo(f"{key}  {value}")


def main() -> None:
    run_cli(app)
