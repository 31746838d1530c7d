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
from spotcheck.context import AppContext, reset
from spotcheck.output import err_console
from store.errors import SpotcheckError
from store.settings import configure


def _new_app() -> typer.Typer:
    return typer.Typer(
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


def root(
    db: str | None = typer.Option(None, "--db", help="Database URL (overrides SPOTCHECK_DB)."),
    home: Path | None = typer.Option(None, "--home",
                                     help="Data folder (overrides SPOTCHECK_HOME)."),
    user: str | None = typer.Option(None, "--user", "-u", envvar="SPOTCHECK_USER",
                                    help="Label: who acts, for reads and routine work. Privileged "
                                         "actions need `spotcheck login` (or the password)."),
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
    home_folder = Path(settings.home)
    if not home_folder.exists() and not home_folder.parent.exists():
        # A typo in --home or SPOTCHECK_HOME would otherwise make a new, empty installation
        # (folders and database) and answer "no plans": it would look like data loss.
        from store.errors import ConfigError

        raise ConfigError("settings.home_parent_missing", home=str(home_folder),
                          parent=str(home_folder.parent))
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    reset(AppContext(verbose=verbose, user=user, settings=settings))


#: Command groups: (module, name).  A module exposes a Typer ``app`` (a group) or a
#: ``command`` function (a single command).  Only the group a command line names is imported,
#: so ``spotcheck crawl`` does not pay for pandas, SciPy and FastAPI.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("spotcheck.commands.demo", "demo"),
    ("spotcheck.commands.doctor", "doctor"),
    ("spotcheck.commands.db", "db"),
    ("spotcheck.commands.sandbox", "sandbox"),
    ("spotcheck.commands.user", "user"),
    ("spotcheck.commands.login", "login"),
    ("spotcheck.commands.logout", "logout"),
    ("spotcheck.commands.whoami", "whoami"),
    ("spotcheck.commands.serve", "serve"),
    ("spotcheck.commands.platform", "platform"),
    ("spotcheck.commands.crawl", "crawl"),
    ("spotcheck.commands.listings", "listings"),
    ("spotcheck.commands.signals", "signals"),
    ("spotcheck.commands.products", "products"),
    ("spotcheck.commands.risk", "risk"),
    ("spotcheck.commands.campaign", "campaign"),
    ("spotcheck.commands.plan", "plan"),
    ("spotcheck.commands.sample", "sample"),
    ("spotcheck.commands.persona", "persona"),
    ("spotcheck.commands.purchase", "purchase"),
    ("spotcheck.commands.capture", "capture"),
    ("spotcheck.commands.evidence", "evidence"),
    ("spotcheck.commands.case", "case"),
    ("spotcheck.commands.report", "report"),
    ("spotcheck.commands.scheduler", "scheduler"),
)
#: Global options that take a value (to find the command name in argv).
_VALUE_OPTIONS = {"--db", "--home", "--user", "-u"}


def build_app(only: str | None = None) -> typer.Typer:
    """The Typer app with every command group, or only the one named *only*."""
    import importlib

    app = _new_app()
    app.callback()(root)
    for module, name in COMMANDS:
        if only is not None and name != only:
            continue
        mod = importlib.import_module(module)
        if name in ("demo", "doctor"):
            app.command(name)(getattr(mod, name))
        elif hasattr(mod, "command"):  # a single command with positional arguments
            app.command(name)(mod.command)
        else:
            app.add_typer(mod.app, name=name)
    return app


def requested_command(argv: list[str]) -> str | None:
    """The command group *argv* names, if it names a known one (else None: load all)."""
    names = {name for _, name in COMMANDS}
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in _VALUE_OPTIONS:
            skip = True
            continue
        if arg.startswith("-"):
            continue
        return arg if arg in names else None
    return None


def __getattr__(name: str) -> Any:
    """``spotcheck.cli.app``: the full app, built on first use (for tests and tools)."""
    if name == "app":
        full = build_app()
        globals()["app"] = full
        return full
    raise AttributeError(name)


def quiet_flags(command: Any) -> None:
    """Help without a type beside on/off flags (Typer prints ``<bool>`` for each, which
    tells a reader nothing: a flag takes no value)."""
    for param in getattr(command, "params", ()):
        # Typer vendors its own click: recognise options by their kind, not their class.
        if getattr(param, "param_type_name", "") == "option" and getattr(param, "is_flag", False):
            param.metavar = ""
    original = getattr(command, "get_help_option", None)
    if original is not None:  # the --help flag is made when help is asked for
        def help_option(ctx: Any, _original: Any = original) -> Any:
            option = _original(ctx)
            if option is not None:
                option.metavar = ""
            return option
        command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        quiet_flags(sub)


def _finish_queued_runs() -> None:
    """Wait for the runs this command queued in its own threads (a plan approval's captures)
    before the process ends: at interpreter exit their thread pools are already shut down.
    Ctrl-C stops waiting; the runs stay queued in the database and the scheduler takes them."""
    runs = sys.modules.get("scheduler.runs")  # only a command that queued work imported it
    if runs is None or runs.wait_for_queued_runs(timeout=0.05):
        return
    err_console.print("正在完成已排队的任务（如取证截取）；按 Ctrl-C 后未完成的部分仍在队列中，"
                      "由调度器完成 / finishing queued work (such as captures); after Ctrl-C "
                      "what is left stays queued for the scheduler")
    runs.wait_for_queued_runs()


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning user errors into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in args or "-v" in args
    try:
        command = typer.main.get_command(build_app(requested_command(args)))
        quiet_flags(command)
        from spotcheck import helptext
        from spotcheck.context import reader_locale

        helptext.localise(command, reader_locale())  # help in the reader's language
        # Outside standalone mode click *returns* the code of a ``typer.Exit(code)``.
        code = command.main(args=args, prog_name="spotcheck", standalone_mode=False)
        _finish_queued_runs()
        if isinstance(code, int) and code:
            sys.exit(code)
    except SpotcheckError as exc:
        from rich.markup import escape

        from spotcheck.context import current

        lang = current().reader_locale()
        prefix = "错误：" if lang == "zh-CN" else "error: "
        err_console.print(f"[red]{prefix}[/red]{escape(exc.message(lang))}", soft_wrap=True)
        if verbose:
            err_console.print_exception()
        sys.exit(exc.exit_code)
    except ValidationError as exc:
        from rich.markup import escape

        from spotcheck import usage
        from spotcheck.context import current

        lang = current().reader_locale()
        first = exc.errors()[0]
        prefix = "错误：设置项 " if lang == "zh-CN" else "error: setting "
        err_console.print(f"[red]{prefix}[/red]{escape(usage.validation_text(first, lang))}")
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
        # Click's usage errors (Typer vendors its own click): shown as click would, in the
        # reader's language (spotcheck.usage).
        show, code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
        if callable(show) and isinstance(code, int):
            from spotcheck import usage
            from spotcheck.context import reader_locale

            usage.show(exc, reader_locale())  # parsing fails before the command's context
            sys.exit(code)
        if verbose:
            raise
        err_console.print(f"[red]internal error:[/red] {type(exc).__name__}: {exc} "
                          "(run with --verbose for the traceback)")
        sys.exit(1)
    sys.exit(0)
