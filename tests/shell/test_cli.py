"""The CLI as a user meets it: real exit codes, one-line errors, --json (in-process, and once
through the ``python -m spotcheck`` entry point as a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import Ran, spotcheck


def _env(home: Path, env: dict[str, str] | None) -> dict[str, str]:
    return {"SPOTCHECK_HOME": str(home), "SPOTCHECK_CONFIG": str(home / "none.toml"),
            **(env or {})}


def run(*args: str, home: Path, env: dict[str, str] | None = None) -> Ran:
    """``spotcheck ARGS`` in-process (tests/clirun.py)."""
    return spotcheck(*args, env=_env(home, env),
                     unset=() if env and "SPOTCHECK_DB" in env else ("SPOTCHECK_DB",))


def run_process(*args: str, home: Path, env: dict[str, str] | None = None
                ) -> subprocess.CompletedProcess[str]:
    """``python -m spotcheck ARGS`` as a real subprocess: the entry point itself."""
    full_env = {**os.environ, **_env(home, env)}
    if not (env and "SPOTCHECK_DB" in env):
        full_env.pop("SPOTCHECK_DB", None)
    return subprocess.run([sys.executable, "-m", "spotcheck", *args], capture_output=True,
                          text=True, env=full_env, timeout=120, check=False)


def test_db_upgrade_and_status(tmp_path: Path) -> None:
    up = run("db", "upgrade", "--json", home=tmp_path)
    assert up.returncode == 0, up.stderr
    data = json.loads(up.stdout)
    assert data["from"] is None and data["to"]
    st = json.loads(run("db", "status", "--json", home=tmp_path).stdout)
    assert st["up_to_date"] is True
    assert (tmp_path / "spotcheck.db").exists()


def test_bad_database_url_is_one_line_exit_2(tmp_path: Path) -> None:
    r = run_process("--db", "nosuchdb://x", "demo", home=tmp_path)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "错误：" in r.stderr and "Traceback" not in r.stderr


def test_unreachable_database_exit_6(tmp_path: Path) -> None:
    r = run("--db", "postgresql+psycopg://root@127.0.0.1:1/none", "demo", home=tmp_path)
    assert r.returncode == 6, r.stderr
    assert "无法打开数据库" in r.stderr


def test_verbose_shows_traceback(tmp_path: Path) -> None:
    r = run("--verbose", "--db", "nosuchdb://x", "demo", home=tmp_path)
    assert r.returncode == 2
    assert "Traceback" in r.stderr


def test_version_and_module_entry(tmp_path: Path) -> None:
    r = run("--version", home=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("spotcheck ")


@pytest.mark.postgres
def test_db_upgrade_on_postgres(tmp_path: Path, pg_url: str) -> None:
    r = run("--db", pg_url, "db", "status", "--json", home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["revision"] is None or True  # schema may be fresh
    up = run("--db", pg_url, "db", "upgrade", "--json", home=tmp_path)
    assert up.returncode == 0, up.stderr
    assert json.loads(run("--db", pg_url, "db", "status", "--json",
                          home=tmp_path).stdout)["up_to_date"] is True


def test_refusals_read_in_the_locale_setting(tmp_path: Path) -> None:
    """A refusal of the domain is one line in the reader's language (the ``locale`` setting,
    zh-CN by default): no English sentence after a Chinese prefix, and the same exit code."""
    zh = run("plan", "show", "999", home=tmp_path)
    en = run("plan", "show", "999", home=tmp_path, env={"SPOTCHECK_LOCALE": "en"})
    assert zh.returncode == en.returncode == 3, (zh.stderr, en.stderr)
    assert zh.stderr.strip() == "错误：没有计划 999"
    assert en.stderr.strip() == "error: no plan 999"


def test_the_cli_finishes_queued_runs_before_it_exits(capsys: Any) -> None:
    """A command that queued work in its own thread (a plan approval's captures) waits for it
    before the process ends: at interpreter exit the thread's pools would already be shut
    down ("cannot schedule new futures after interpreter shutdown")."""
    import threading
    import time

    from scheduler import runs
    from spotcheck.cli import _finish_queued_runs

    done = threading.Event()
    thread = threading.Thread(target=lambda: (time.sleep(0.5), done.set()), daemon=False)
    with runs._QUEUED_LOCK:
        runs._QUEUED.append(thread)
    thread.start()
    _finish_queued_runs()
    assert done.is_set() and not thread.is_alive()
    assert "queued" in capsys.readouterr().err
