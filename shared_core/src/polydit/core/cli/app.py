"""The app every polydit CLI is: its error policy.

A `PolyditError` prints ``error: <message>`` on one line to stderr and exits 1; a usage error
(bad flag value, unknown choice or option) prints one line and exits 2. No traceback for either;
any other exception is a bug and keeps its traceback.
"""

import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from polydit.core.errors import PolyditError


def run_cli(
    app: typer.Typer, args: Sequence[str] | None = None, *, prog_name: str | None = None
) -> NoReturn:
    """Entry point of a CLI: run `app` on `args` (default: sys.argv) under the error policy."""
    command = typer.main.get_command(app)
    sys.exit(
        _with_error_policy(
            lambda: command.main(args=args, prog_name=prog_name, standalone_mode=False)
        )
    )


def new_app(**kwargs: Any) -> typer.Typer:
    """A Typer app that applies the policy however it is invoked (app(), CliRunner, run_cli)."""

    def show_help(ctx: typer.Context) -> None:
        if ctx.invoked_subcommand is None:
            typer.echo(ctx.get_help())
            raise typer.Exit()

    app = typer.Typer(
        cls=ErrorPolicyGroup,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        **kwargs,
    )
    app.callback(invoke_without_command=True)(show_help)
    return app


class ErrorPolicyGroup(TyperGroup):
    """A typer group whose standalone `main` applies the error policy."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        def call() -> Any:
            return super(ErrorPolicyGroup, self).main(args, prog_name, complete_var, False, **extra)

        if not standalone_mode:
            return call()
        sys.exit(_with_error_policy(call))


def _with_error_policy(call: Callable[[], Any]) -> int:
    """Run `call` (a non-standalone click main) and turn its outcome into an exit code."""
    try:
        result = call()
    except PolyditError as e:
        _error(str(e))
        return 1
    except typer.TyperException as e:  # usage errors (exit 2), unreadable files
        ctx = getattr(e, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _error(e.format_message() + hint)
        return e.exit_code
    except typer.Abort:
        _error("aborted")
        return 1
    return result if type(result) is int else 0


def _error(message: str) -> None:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
