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
from collections.abc import Iterable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from store import settings as settings_module


@dataclass
class Ran:
    """What a finished ``spotcheck`` call left (the fields of ``CompletedProcess``)."""

    returncode: int
    stdout: str
    stderr: str


def spotcheck(*args: str, env: dict[str, str] | None = None,
              unset: Iterable[str] = ()) -> Ran:
    """Run ``spotcheck *args`` through :func:`spotcheck.cli.main` with *env* set and *unset*
    removed from the environment."""
    from spotcheck import context
    from spotcheck.cli import main

    saved_env = dict(os.environ)
    saved_settings = settings_module._settings
    out, err = io.StringIO(), io.StringIO()
    try:
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
        os.environ.clear()
        os.environ.update(saved_env)
        db = getattr(context.current(), "_db", None)  # the call's database, as its exit would
        if db is not None:
            db.dispose()
        context.reset(context.AppContext())
        settings_module._settings = saved_settings
    return Ran(code, out.getvalue(), err.getvalue())
