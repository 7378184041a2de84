"""`polydit`: `list` the installed domain packages, `demo` them all into one HTML gallery."""

import shutil
from pathlib import Path
from typing import Annotated

import typer

from polydit.core.atomic import atomic_write_text
from polydit.core.cli import new_app, run_cli
from polydit.core.cli.output import output_directory, table
from polydit.core.cli.params import parse_device
from polydit.core.errors import PolyditError
from polydit.umbrella import gallery, plugins

PAGE = "index.html"  # marks a directory as a gallery `demo` may replace

app = new_app(name="polydit", help="polydit: every installed domain package in one place.")


def _installed() -> list[plugins.Installed]:
    """The installed domains; broken plugins are reported on stderr and skipped."""
    installed, broken = plugins.discover()
    for plugin in broken:
        typer.echo(
            f"warning: skipping broken plugin {plugin.name} ({plugin.target}): {plugin.error}",
            err=True,
        )
    return installed


@app.command("list")
def list_domains() -> None:
    """Installed domain packages, their versions and shipped models (* = default)."""
    installed = _installed()
    if not installed:
        typer.echo("no polydit domain packages are installed (e.g. pip install polydit-image)")
        return
    rows = [["domain", "package", "version", "models"]]
    for item in installed:
        domain = item.domain
        models = [f"{m}*" if m == domain.default_model else m for m in domain.shipped_models()]
        rows.append([domain.name, domain.package, item.version, ", ".join(models) or "-"])
    typer.echo(table(rows))


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option(file_okay=False, help="Gallery directory.")] = Path("demo"),
    domains: Annotated[
        str | None, typer.Option(metavar="A,B", help="Only these domains (default: all).")
    ] = None,
    device: Annotated[
        str, typer.Option(callback=parse_device, help="cpu, cuda or cuda:N.")
    ] = "cpu",
    seed: Annotated[int, typer.Option(help="Random seed of every domain's demo.")] = 0,
) -> None:
    """Run every domain's default model and write OUT/index.html, a gallery of the results."""
    installed = _installed()
    if domains is not None:
        wanted = [name.strip() for name in domains.split(",") if name.strip()]
        known = {item.domain.name for item in installed}
        unknown = [name for name in wanted if name not in known]
        if unknown:
            raise typer.BadParameter(
                f"{', '.join(unknown)} not installed; installed: {', '.join(sorted(known)) or 'none'}",
                param_hint="'--domains'",
            )
        installed = [item for item in installed if item.domain.name in wanted]
    only = f" --domains {domains}" if domains is not None else ""
    command = f"polydit demo --out {out} --device {device} --seed {seed}{only}"
    with output_directory(out, marker=PAGE) as staging:  # replaces an earlier gallery whole
        sections = [_demo_one(item, staging, out, device=device, seed=seed) for item in installed]
        if gallery.needs_viewer(sections):
            shutil.copyfile(gallery.VENDOR / gallery.VIEWER_JS, staging / gallery.VIEWER_JS)
        page = staging / PAGE
        atomic_write_text(page, gallery.render(sections, page, command))
    typer.echo(f"gallery of {len(sections)} domain(s): {out / PAGE}")
    if any(section.error is not None for section in sections):
        raise typer.Exit(1)


def _demo_one(
    item: plugins.Installed, staging: Path, out: Path, *, device: str, seed: int
) -> gallery.Section:
    """Load the domain's default model and run its demo into `staging` (what becomes `out`); a
    failure becomes the section's error."""
    domain = item.domain
    directory = staging / domain.name
    if domain.default_model not in domain.shipped_models():
        note = f"no shipped model yet: train one with `{domain.package} train`"
        typer.echo(f"{domain.name}: {note}")
        return gallery.Section(domain.name, domain.package, item.version, directory, [], note=note)
    try:
        generator = domain.load(
            Path(domain.pretrained_root) / domain.default_model, device=device, dtype="fp32"
        )
        directory.mkdir(parents=True, exist_ok=True)
        items = domain.demo(generator, directory, seed=seed)
    except Exception as e:  # one failing domain must not hide the others' results
        text = str(e) if isinstance(e, PolyditError) else f"{type(e).__name__}: {e}"
        message = " ".join(text.split())
        typer.echo(f"error: {domain.name}: {message}", err=True)
        return gallery.Section(domain.name, domain.package, item.version, directory, [], message)
    typer.echo(f"{domain.name}: {len(items)} file(s) in {out / domain.name}")
    return gallery.Section(domain.name, domain.package, item.version, directory, items)


def main() -> None:
    """The `polydit` script."""
    run_cli(app)
