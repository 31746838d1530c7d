"""Queued work survives the process that queued it (scheduler.runs.enqueue / run_queued):
the queuing process is killed with SIGKILL before its thread takes the run, or while the run
works; a real scheduler (``spotcheck scheduler run``) or ``run_due`` then runs it, and it
completes exactly once.  A run a live process is working on is never taken from it.

The ``probe`` job (tests/scheduler/probe_jobs.py) logs start/done lines, so the log shows how
often a run completed; the browser test of the same path is in tests/scheduler/test_offers.py.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

import tests.scheduler.probe_jobs  # noqa: F401  (registers the probe job kind)
from scheduler import runs
from scheduler.service import run_due
from store.db import Database
from store.models import JobRun
from store.settings import Settings

ROOT = Path(__file__).resolve().parents[2]

QUEUE_AND_DIE = r"""
import os, signal, sys, time
from pathlib import Path
import tests.scheduler.probe_jobs
from scheduler.runs import enqueue, queue_run
from store.db import Database

db = Database.open()
with db.session() as s:
    key = enqueue(s, "probe", None, {"why": "test"})
if sys.argv[1] == "during":
    queue_run(db, db.settings, key, holder="approval:test")
    log = Path(os.environ["PROBE_LOG"])
    while not (log.exists() and "start" in log.read_text()):
        time.sleep(0.02)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _queue_and_die(mode: str, log: Path, seconds: str) -> None:
    env = dict(os.environ, PROBE_LOG=str(log), PROBE_SECONDS=seconds)
    proc = subprocess.run([sys.executable, "-c", QUEUE_AND_DIE, mode], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]


def _done(log: Path) -> int:
    return sum(1 for line in log.read_text().splitlines() if line.startswith("done "))


def _runs(db: Database) -> list[JobRun]:
    with db.session() as s:
        return list(s.scalars(select(JobRun).where(JobRun.job == "probe")))


def test_killed_before_its_thread_took_it_a_running_scheduler_runs_it_once(
        sqlite_db: Database, settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "probe.log"
    _queue_and_die("before", log, "0")
    [run] = _runs(sqlite_db)
    assert run.outcome == "queued" and run.holder is None and not log.exists()
    env = dict(os.environ, PROBE_LOG=str(log), PROBE_SECONDS="0")
    sched = subprocess.Popen(
        [sys.executable, "-c", "import tests.scheduler.probe_jobs; from spotcheck.cli import "
         "main; main()", "scheduler", "run", "--lease-seconds", "3", "--sync-seconds", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and _runs(sqlite_db)[0].outcome != "ok":
            time.sleep(0.1)
    finally:
        sched.send_signal(signal.SIGTERM)
        sched.wait(timeout=30)
    [run] = _runs(sqlite_db)
    assert run.outcome == "ok", (run.outcome, run.error)
    assert _done(log) == 1
    assert runs.run_queued(sqlite_db, settings, holder="another") == []


def test_killed_while_it_works_the_lease_holder_finishes_it_once(
        sqlite_db: Database, settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "probe.log"
    _queue_and_die("during", log, "30")  # killed between its start and done lines
    [run] = _runs(sqlite_db)
    assert run.outcome == "running" and str(run.holder).startswith(runs.QUEUE_TAKER)
    assert _done(log) == 0
    monkeypatch.setenv("PROBE_LOG", str(log))
    monkeypatch.setenv("PROBE_SECONDS", "0")
    done = run_due(sqlite_db, settings, dt.datetime.now(dt.UTC))
    assert [(d.kind, d.outcome, d.attempts) for d in done] == [("probe", "ok", 2)]
    assert _done(log) == 1 and [r.outcome for r in _runs(sqlite_db)] == ["ok"]
    assert run_due(sqlite_db, settings, dt.datetime.now(dt.UTC)) == []


def test_a_run_a_live_process_works_on_is_not_an_orphan(
        sqlite_db: Database, settings: Settings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "probe.log"
    monkeypatch.setenv("PROBE_LOG", str(log))
    monkeypatch.setenv("PROBE_SECONDS", "1.5")
    with sqlite_db.session() as s:
        key = runs.enqueue(s, "probe", None)
    runs.queue_run(sqlite_db, settings, key, holder="approval:test")
    end = time.monotonic() + 30
    while time.monotonic() < end and not (log.exists() and "start" in log.read_text()):
        time.sleep(0.02)
    assert [r.key for r in runs.orphaned_runs(sqlite_db, "a-scheduler")] == []
    assert runs.run_queued(sqlite_db, settings, holder="a-scheduler") == []
    assert runs.wait_for_queued_runs(timeout=30)
    assert _done(log) == 1 and [r.outcome for r in _runs(sqlite_db)] == ["ok"]
