"""`train-router`: E-DiT routers (:mod:`polydit.core.accel.elastic`) for any domain's model.

The routers train on the inputs the domain's own training recipe gives its DiT (the recipe's
data, noised and conditioned by the recipe's loss), so the verb needs no domain code beyond the
recipe that ``train`` uses. Sample with them: ``--cache elastic --cache-opts routers=FILE``.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from polydit.core.cli.domain import Domain, TrainOptions
from polydit.core.cli.options import Data, Device, Seed, model_option
from polydit.core.cli.params import read_json_config

RouterConfig = Annotated[
    Path | None,
    typer.Option(
        "--config",
        exists=True,
        dir_okay=False,
        callback=read_json_config,
        help="JSON file of ElasticConfig fields (widths, hidden, threshold, penalty, "
        "temperature, lr, batch_size, budget) laid over the defaults.",
    ),
]


def train_router_verb(domain: Domain) -> Callable[..., None]:
    """The ``train-router`` command of `domain`."""

    def train_router(
        out: Annotated[
            Path, typer.Option(dir_okay=False, help="The router file to write (.safetensors).")
        ],
        model: model_option(domain) = domain.default_model,  # type: ignore[valid-type]
        steps: Annotated[int, typer.Option(min=1, help="Router training steps.")] = 1000,
        budget: Annotated[
            float | None,
            typer.Option(
                min=0.01,
                max=1.0,
                help="Target expected compute, a fraction of the full network; default: the "
                "config's (0.6).",
            ),
        ] = None,
        config: RouterConfig = None,
        data: Data = None,
        seed: Seed = 0,
        device: Device = "cpu",
        quiet: Annotated[bool, typer.Option("--quiet", help="No progress lines.")] = False,
    ) -> None:
        """Train E-DiT routers on top of a frozen model (only the routers learn); write them to
        --out (one safetensors file, its config in the metadata)."""
        from polydit.core.accel.elastic import ElasticConfig, train_routers
        from polydit.core.errors import ConfigError

        settings = ElasticConfig().merged(dict(config or {}), where="--config")
        if budget is not None:
            settings = settings.replace(budget=budget)
        generator = domain.load(Path(model), device=device, dtype="fp32")
        flags = {flag.key: flag.default for flag in domain.train_options}
        opts = TrainOptions(
            data=data, config={}, out=out.parent, resume=False, steps=None, seed=seed,
            device=device, dtype=None, extra=flags,
        )  # fmt: skip
        recipe = domain.recipe(domain.recipe_for(opts))
        if not isinstance(generator, recipe.pipeline):
            raise ConfigError(
                f"--model {model}: not a model of the {recipe.name!r} training recipe, which "
                "train-router draws its inputs from"
            )
        spec = domain.train_spec(recipe, opts)
        train = recipe.data(spec, data, flags)
        every = max(1, steps // 10)

        def log(record: dict[str, float]) -> None:
            if not quiet and (record["step"] % every == 0 or record["step"] == 1):
                typer.echo(
                    f"step {record['step']:.0f}/{steps}: distillation {record['distill']:.5f}, "
                    f"expected compute {record['compute']:.3f} (budget {settings.budget})"
                )

        run = train_routers(
            generator,
            _batches(train.dataset, settings.batch_size, seed, generator.device),
            settings,
            steps,
            loss_fn=recipe.loss(spec, generator),
            seed=seed,
            log=log,
        )
        saved = run.routers.save(out)
        tail = run.history[-every:]
        compute = sum(r["compute"] for r in tail) / len(tail)
        typer.echo(
            f"saved {saved} ({steps} steps on {train.name}; expected compute {compute:.3f} over "
            f"the last {len(tail)} steps)"
        )

    return train_router


def _batches(dataset: Any, size: int, seed: int, device: Any) -> Iterator[Any]:
    """Endless batches of `size` from `dataset`, reshuffled every epoch from `seed`."""
    from polydit.core.train.data import IndexStream, fetch, to_device

    stream = IndexStream(len(dataset), seed)
    start = 0
    while True:
        yield to_device(fetch(dataset, stream.indices(start, size), None), device)
        start += size
