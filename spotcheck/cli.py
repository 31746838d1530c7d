"""The ``spotcheck`` command line: one Typer app, command groups mounted from
``spotcheck.commands``.  User errors print one line and exit with a meaningful code."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from spotcheck import __version__
from spotcheck.commands import db as db_cmd
from spotcheck.commands.demo import demo
from spotcheck.commands.doctor import doctor
from spotcheck.context import AppContext, reset
from spotcheck.output import err_console
from store.errors import SpotcheckError
from store.settings import configure

app = typer.Typer(
    name="spotcheck",
    help="Covert online spot checks and counterfeit investigations of cross-border goods.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"spotcheck {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    db: str | None = typer.Option(None, "--db", help="Database URL (overrides SPOTCHECK_DB)."),
    home: Path | None = typer.Option(None, "--home",
                                     help="Data folder (overrides SPOTCHECK_HOME)."),
    user: str | None = typer.Option(None, "--user", "-u", envvar="SPOTCHECK_USER",
                                    help="Act as this user (audit, roles, four-eyes)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show details and tracebacks."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    overrides: dict[str, Any] = {}
    if db:
        overrides["db"] = db
    if home:
        overrides["home"] = home
    settings = configure(**overrides)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    reset(AppContext(verbose=verbose, user=user, settings=settings))


app.add_typer(db_cmd.app, name="db")
app.command("demo")(demo)
app.command("doctor")(doctor)


def _mount_optional() -> None:
    """Mount command groups of packages that are present (each adds itself here)."""
    import importlib

    for module, name in (
        ("spotcheck.commands.sandbox", "sandbox"),
        ("spotcheck.commands.user", "user"),
        ("spotcheck.commands.serve", "serve"),
        ("spotcheck.commands.signals", "signals"),
        ("spotcheck.commands.risk", "risk"),
        ("spotcheck.commands.campaign", "campaign"),
        ("spotcheck.commands.plan", "plan"),
        ("spotcheck.commands.sample", "sample"),
        ("spotcheck.commands.capture", "capture"),
        ("spotcheck.commands.evidence", "evidence"),
        ("spotcheck.commands.crawl", "crawl"),
        ("spotcheck.commands.platform", "platform"),
        ("spotcheck.commands.listings", "listings"),
        ("spotcheck.commands.scheduler", "scheduler"),
        ("spotcheck.commands.persona", "persona"),
        ("spotcheck.commands.purchase", "purchase"),
        ("spotcheck.commands.case", "case"),
        ("spotcheck.commands.report", "report"),
    ):
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue
            raise
        if hasattr(mod, "command"):  # a single command with positional arguments
            app.command(name)(mod.command)
        else:
            app.add_typer(mod.app, name=name)


_mount_optional()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning user errors into one line and an exit code."""
    verbose = "--verbose" in (argv or sys.argv) or "-v" in (argv or sys.argv)
    try:
        app(args=argv, standalone_mode=False)
    except SpotcheckError as exc:
        err_console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        if verbose:
            err_console.print_exception()
        sys.exit(exc.exit_code)
    except ValidationError as exc:
        first = exc.errors()[0]
        err_console.print(f"[red]error:[/red] setting {'.'.join(map(str, first['loc']))}: "
                          f"{first['msg']}")
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if verbose:
            raise
        err_console.print(f"[red]internal error:[/red] {type(exc).__name__}: {exc} "
                          "(run with --verbose for the traceback)")
        sys.exit(1)
    sys.exit(0)
