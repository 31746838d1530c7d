"""``spotcheck ARGS`` in this process, answering like a subprocess (returncode, stdout, stderr).

A subprocess re-imports the project for every call (``import sampler`` alone loads SciPy);
in-process, a CLI flow costs what its command does.  The environment is set for the call and
restored after, and the process-wide settings are re-read from it, as a new process would.
Each entry point keeps one real subprocess test (tests/shell/test_cli.py); the sampler's
CLI tests have the same runner of their own (tests/sampler/test_cli.py).
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any

from store import settings as settings_module


@dataclass
class Ran:
    """What a finished ``spotcheck`` call left (the fields of ``CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


def _termui_modules() -> list[Any]:
    """The modules whose prompt functions a command calls: click's, and the copy of click
    that Typer ships (typer._click) where it has one."""
    import importlib

    found = []
    for name in ("click.termui", "typer._click.termui"):
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            continue
    return found


def spotcheck(*args: str, env: dict[str, str] | None = None,
              unset: Iterable[str] = (), stdin: str | None = None) -> Ran:
    """Run ``spotcheck *args`` through :func:`spotcheck.cli.main` with *env* set and *unset*
    removed from the environment; *stdin* is what the command reads, prompts included (hidden
    prompts too: they read it instead of the terminal, as ``click.testing`` does)."""
    from spotcheck import context
    from spotcheck.cli import main

    saved_env = dict(os.environ)
    saved_settings = settings_module._settings
    saved_stdin = sys.stdin
    termuis = _termui_modules()
    saved_prompts = [(t.visible_prompt_func, t.hidden_prompt_func) for t in termuis]
    out, err = io.StringIO(), io.StringIO()
    feed = io.StringIO(stdin or "")

    def read_line(prompt: str = "") -> str:
        err.write(prompt)
        line = feed.readline()
        if not line:
            raise EOFError
        return line.rstrip("\r\n")

    try:
        sys.stdin = feed
        for t in termuis:
            t.visible_prompt_func = read_line
            t.hidden_prompt_func = read_line
        os.environ.update(env or {})
        for name in unset:
            os.environ.pop(name, None)
        settings_module._settings = None
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdin = saved_stdin
        for t, (visible, hidden) in zip(termuis, saved_prompts, strict=True):
            t.visible_prompt_func, t.hidden_prompt_func = visible, hidden
        os.environ.clear()
        os.environ.update(saved_env)
        db = getattr(context.current(), "_db", None)  # the call's database, as its exit would
        if db is not None:
            db.dispose()
        context.reset(context.AppContext())
        settings_module._settings = saved_settings
    return Ran(code, out.getvalue(), err.getvalue())
