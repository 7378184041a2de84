"""The `polydit-policy` CLI: the core verbs (train, sample, eval, data show, info) plus
`collect` (scripted-expert demonstrations) and `rollout` (one rendered episode).

Light on purpose: torch, MuJoCo and MetaWorld are imported inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from polydit.core.cli import (
    Cache,
    CacheOpts,
    DataOptions,
    Domain,
    EvalOptions,
    Flag,
    GalleryItem,
    SampleOptions,
    TrainOptions,
    make_cli,
    parse_cache_opts,
    run_cli,
)

PRETRAINED = Path(__file__).resolve().parent / "pretrained"
DEFAULT_MODEL = "mt10-dit"


def _tasks(spec: str | None, model_tasks: tuple[str, ...]) -> tuple[str, ...]:
    from polydit.policy.env import resolve_tasks

    return model_tasks if spec is None else resolve_tasks(spec)


class PolicyDomain(Domain):
    name = "policy"
    package = "polydit-policy"
    pretrained_root = PRETRAINED
    default_model = DEFAULT_MODEL
    sample_options = (Flag("task", str, None, "Task to roll out (default: the model's first)."),)
    eval_options = (
        Flag("task", str, None, "A task, a comma list or MT10 (default: all of the model's)."),
        Flag("episodes", int, 50, "Episodes per task (one per seed)."),
        Flag("num-envs", int, 25, "Environments stepped in lockstep (one policy batch)."),
        Flag("action-steps", int, None, "Actions executed per chunk (default: the model's k)."),
    )
    data_options = ()

    def load(self, model_dir: Path, *, device: str, dtype: str) -> Any:
        """A PolicyGenerator, or an MLPBaseline for an "mlp_bc" directory."""
        config = _read_config(model_dir)
        if config.get("kind") == "mlp_bc":
            from polydit.policy.baselines import MLPBaseline

            return MLPBaseline.from_pretrained(model_dir)
        from polydit.policy.pipeline import PolicyGenerator

        return PolicyGenerator.from_pretrained(model_dir, device=device)

    def _overrides(self, generator: Any, opts: SampleOptions | EvalOptions) -> dict[str, Any]:
        from polydit.policy.pipeline import PolicyGenerator

        if not isinstance(generator, PolicyGenerator):
            return {}
        return opts.generation()

    def sample(self, generator: Any, opts: SampleOptions, out: Path) -> list[dict[str, Any]]:
        """Roll out `num` closed-loop episodes and save each as an episode NPZ."""
        from polydit.policy.env import make_env
        from polydit.policy.io import Episode, save_episode
        from polydit.policy.rollout import rollout

        tasks = generator.codec.config.tasks
        task = _tasks(opts.extra["task"], tasks)[0]
        records = []
        image_size = generator.codec.config.image_size or None
        for i in range(opts.num):
            seed = opts.seed + i
            recorder = _Recorder(generator.controller(task, **self._overrides(generator, opts)))
            result = rollout(
                lambda: make_env(task, image_size=image_size), recorder, [seed], num_envs=1
            )
            name = f"{task}_seed_{seed:05d}.npz"
            save_episode(
                out / name,
                Episode(
                    task=task,
                    observations=recorder.observations(),
                    actions=recorder.actions(),
                    success=result.success[0],
                    seed=seed,
                ),
            )
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

        codec = generator.codec.config
        tasks = _tasks(opts.extra["task"], codec.tasks)
        for task in tasks:
            generator.codec.task_id(task)
        episodes = opts.num or opts.extra["episodes"]
        seeds = eval_seeds(opts.seed, episodes, codec.demo_seed_max)
        metrics, _ = evaluate_policy(
            generator,
            tasks,
            seeds,
            num_envs=opts.extra["num_envs"],
            action_steps=opts.extra["action_steps"],
            **self._overrides(generator, opts),
        )
        return metrics

    def train(self, opts: TrainOptions) -> Path:
        from polydit.core.errors import ConfigError
        from polydit.policy.train import PolicyTrainConfig, train_policy

        if opts.data is None:
            raise ConfigError("--data: give a directory of episodes (create one with `collect`)")
        settings = PolicyTrainConfig().merged(opts.config, where="--config")
        train = settings.train
        changes: dict[str, Any] = {"seed": opts.seed, "dtype": opts.dtype}
        if opts.steps is not None:
            changes["steps"] = opts.steps
        from dataclasses import replace

        settings = replace(settings, train=replace(train, **changes))
        _, info = train_policy(
            opts.data,
            opts.out,
            settings,
            resume=opts.resume,
            init_from=opts.init_from,
            device=opts.device,
        )
        typer.echo(json.dumps({k: v for k, v in info.items() if k != "settings"}))
        return opts.out / "model"

    def data_show(self, opts: DataOptions) -> None:
        from polydit.core.errors import ConfigError
        from polydit.policy.io import episode_files, load_episode

        if opts.data is None:
            raise ConfigError("--data: give a directory of episodes (create one with `collect`)")
        files = episode_files(opts.data)
        by_task: dict[str, list[Any]] = {}
        for path in files:
            ep = load_episode(path)
            by_task.setdefault(ep.task, []).append(ep)
        for task, eps in sorted(by_task.items()):
            lengths = [len(e) for e in eps]
            typer.echo(
                f"{task}: {len(eps)} episodes, {sum(e.success for e in eps)} successful, "
                f"length mean {sum(lengths) / len(lengths):.1f} (min {min(lengths)}, max "
                f"{max(lengths)}), obs dim {eps[0].observations.shape[1]}, action dim "
                f"{eps[0].actions.shape[1]}, seeds {min(e.seed for e in eps)}.."
                f"{max(e.seed for e in eps)}"
            )
        for path in files[: opts.num]:
            ep = load_episode(path)
            typer.echo(
                f"  {path}: T={len(ep)} success={ep.success} seed={ep.seed} "
                f"first action={[round(float(a), 3) for a in ep.actions[0]]}"
            )

    def info(self, generator: Any) -> dict[str, Any]:
        from polydit.policy.baselines import MLPBaseline
        from polydit.policy.model import dit_cost, mlp_cost

        codec = generator.codec.config
        details: dict[str, Any] = {
            "tasks": ", ".join(codec.tasks),
            "horizon": codec.horizon,
            "n_obs": codec.n_obs,
            "n_action_steps": codec.n_action_steps,
            "demo_seeds": f"0..{codec.demo_seed_max}",
        }
        if isinstance(generator, MLPBaseline):
            cost = mlp_cost(generator.model)
            details["kind"] = f"mlp_bc ({generator.kind})"
        else:
            cfg = generator.model.config
            cost = dit_cost(
                generator.model, codec.horizon, codec.num_context, generator.sampling.steps
            )
            details.update(
                kind="dit",
                hidden=cfg.hidden,
                depth=cfg.depth,
                heads=cfg.heads,
                moe=cfg.moe is not None,
                goal=codec.goal,
                steps=generator.sampling.steps,
                sampler=generator.sampling.sampler,
            )
        details.update(
            params_total=cost.params_total,
            params_active=cost.params_active,
            mflops_per_chunk=round(cost.flops_per_chunk / 1e6, 2),
        )
        return details

    def demo(self, generator: Any, out: Path, *, seed: int) -> list[GalleryItem]:
        from polydit.policy.env import RenderingUnavailable

        task = (
            "push-v3"
            if "push-v3" in generator.codec.config.tasks
            else generator.codec.config.tasks[0]
        )
        seed = max(seed, generator.codec.config.demo_seed_max + 1, 1000)
        command = f"polydit-policy rollout --task {task} --seed {seed} --video rollout.mp4"
        try:
            summary = run_rollout(generator, task, seed, out / "rollout.mp4")
            caption = (
                f"{task}, seed {seed}: {'success' if summary['success'] else 'failure'} after "
                f"{summary['length']} steps (MuJoCo offscreen render)"
            )
            return [GalleryItem(Path("rollout.mp4"), caption, command)]
        except RenderingUnavailable as e:
            summary = run_rollout(generator, task, seed, None)
            summary["rendering"] = str(e)
            from polydit.core.atomic import atomic_write_text

            atomic_write_text(out / "rollout.json", json.dumps(summary, indent=2) + "\n")
            caption = (
                f"{task}, seed {seed}: {'success' if summary['success'] else 'failure'} after "
                f"{summary['length']} steps (text summary: rendering unavailable)"
            )
            return [
                GalleryItem(
                    Path("rollout.json"),
                    caption,
                    command.replace(" --video rollout.mp4", " --json"),
                )
            ]


class _Recorder:
    """Wraps a single-env controller and records what it saw and did."""

    def __init__(self, controller: Any):
        self.controller = controller
        self._obs: list[Any] = []
        self._act: list[Any] = []
        self.chunk_times = controller.chunk_times
        self.chunk_batch = controller.chunk_batch

    def reset(self, num_envs: int) -> None:
        self.controller.reset(num_envs)

    def act(self, obs: Any, active: Any) -> Any:
        actions = self.controller.act(obs, active)
        if active[0]:
            self._obs.append(obs[0].copy())
            self._act.append(actions[0].copy())
        return actions

    def observations(self) -> Any:
        import numpy as np

        return np.stack(self._obs).astype(np.float32)

    def actions(self) -> Any:
        import numpy as np

        return np.stack(self._act).astype(np.float32)


def run_rollout(
    generator: Any, task: str, seed: int, video: Path | None, **overrides: Any
) -> dict[str, Any]:
    """One closed-loop episode; with `video`, rendered to MP4/GIF (RenderingUnavailable if the
    machine has no offscreen OpenGL). overrides: sampling options of a DiT policy (steps,
    sampler, cache, cache_opts)."""
    import numpy as np

    from polydit.policy.env import make_env
    from polydit.policy.io import write_video
    from polydit.policy.rollout import rollout

    size = (240, 320) if video is not None else None
    image_size = generator.codec.config.image_size or None
    if image_size is not None:
        size = None  # the observation frames are the video
    if video is not None and image_size is None:
        make_env(task, render_size=size).render()  # fail fast, before the rollout
    result = rollout(
        lambda: make_env(task, render_size=size, image_size=image_size),
        generator.controller(task, **overrides),
        [seed],
        num_envs=1,
        render=video is not None,
    )
    summary = {
        "task": task,
        "seed": seed,
        "success": bool(result.success[0]),
        "length": int(result.length[0]),
        "chunks": len(result.chunk_seconds),
        "latency_ms_per_chunk": 1000.0 * float(np.median(result.chunk_seconds)),
    }
    if video is not None:
        write_video(video, result.frames, fps=30)
        summary["video"] = str(video)
    return summary


def _read_config(model_dir: Path) -> dict[str, Any]:
    from polydit.core.errors import CheckpointError

    path = Path(model_dir) / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(
            f"{path}: missing; expected a polydit-policy model directory"
        ) from None
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"{path}: unreadable ({e})") from None


DOMAIN = PolicyDomain()
app = make_cli(DOMAIN)


@app.command()
def collect(
    task: Annotated[str, typer.Option(help="A MetaWorld task, a comma list, or MT10.")],
    episodes: Annotated[int, typer.Option(min=1, help="Expert episodes attempted per task.")],
    out: Annotated[Path, typer.Option(file_okay=False, help="Output directory.")],
    seed: Annotated[int, typer.Option(min=0, help="Environment seed of the first episode.")] = 0,
    action_noise: Annotated[
        float, typer.Option(min=0.0, help="Std of Gaussian noise on executed actions.")
    ] = 0.0,
    image_size: Annotated[
        int | None,
        typer.Option(
            min=4,
            help="Also record S×S camera frames in each observation (MuJoCo offscreen rendering).",
        ),
    ] = None,
) -> None:
    """Collect scripted-expert demonstrations; keep the successful ones as NPZ episodes."""
    import warnings

    from polydit.policy.data import collect as run
    from polydit.policy.env import resolve_tasks

    tasks = resolve_tasks(task)
    warnings.filterwarnings("ignore", category=UserWarning)

    def report(r: Any) -> None:
        typer.echo(
            f"{r.task}: kept {r.kept} of {r.attempted} episodes (successful), mean length "
            f"{r.mean_length:.1f}"
        )

    reports = run(
        tasks,
        episodes,
        out,
        seed=seed,
        action_noise=action_noise,
        image_size=image_size,
        progress=report,
    )
    kept = sum(r.kept for r in reports)
    typer.echo(f"kept {kept} of {sum(r.attempted for r in reports)} episodes in {out}")


@app.command("rollout")
def rollout_command(
    task: Annotated[str, typer.Option(help="The task to run.")],
    seed: Annotated[int, typer.Option(help="Environment seed (≥ the model's demo seeds).")] = 1000,
    model: Annotated[
        str, typer.Option(metavar="NAME|DIR", help="Shipped model or directory.")
    ] = DEFAULT_MODEL,
    video: Annotated[
        Path | None, typer.Option(help="Write a rendered rollout (.mp4/.gif).")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    cache: Cache = "none",
    cache_opts: CacheOpts = None,
    instruction: Annotated[
        str | None,
        typer.Option(help="A language-goal model's instruction (default: the task's own)."),
    ] = None,
) -> None:
    """Run one closed-loop episode (optionally rendered to a video)."""
    from polydit.policy.env import check_task
    from polydit.policy.pipeline import PolicyGenerator

    check_task(task)
    model_dir = DOMAIN.pretrained_root / model if model in DOMAIN.shipped_models() else Path(model)
    generator = DOMAIN.load(model_dir, device="cpu", dtype="fp32")
    if instruction is None:
        generator.codec.task_id(task)
    overrides: dict[str, Any] = {}
    if isinstance(generator, PolicyGenerator):
        overrides = {"cache": cache, "cache_opts": parse_cache_opts(cache_opts)}
        if instruction is not None:
            overrides["instruction"] = instruction
    summary = run_rollout(generator, task, seed, video, **overrides)
    if json_out:
        typer.echo(json.dumps(summary))
    else:
        for key, value in summary.items():
            typer.echo(f"{key}  {value}")


def main() -> None:
    run_cli(app)
