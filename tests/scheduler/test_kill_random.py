"""SIGKILL the scheduler at random moments and restart it: a job never runs twice at once.

A job that takes longer than its period (1.2 s every second) is always running, so a kill
nearly always orphans a run.  The restarted scheduler resumes it; a fire time of the same job
must wait for the resumed run (the one-instance rule), not start beside it — beside it, a crawl
would share the resumed crawl's run and count its pages twice.  Each iteration kills at a
random moment drawn from a seeded generator; the seed is printed (``-s``) and can be fixed
with ``SPOTCHECK_KILL_SEED`` to reproduce a failure.  The kill falls within 1.5 s of a
run's start: over the run and into the next fire time, the moments where a resumed run and a
fire time meet.  (A 2.5 s job every 2 s made the same test 16 s, loaded; its length is mostly
the schedulers' start-up now.)
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from store.db import Database
from store.models import Campaign, JobRun
from store.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BOOT = "import tests.scheduler.probe_jobs; from spotcheck.cli import main; main()"
#: Kills per test run (SPOTCHECK_KILL_ITERATIONS raises it for a longer search).
ITERATIONS = int(os.environ.get("SPOTCHECK_KILL_ITERATIONS", "2"))
#: The job's length, longer than its period (every second).
PROBE_SECONDS = "1.2"
#: Kills fall up to this many seconds after the run's start.
KILL_WITHIN = 1.5


def _start(url: str, home: Path, log: Path, err: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, SPOTCHECK_HOME=str(home), PROBE_LOG=str(log),
               PROBE_SECONDS=PROBE_SECONDS, SPOTCHECK_CONFIG=str(home / "absent.toml"))
    env.pop("SPOTCHECK_DB", None)
    return subprocess.Popen(
        [sys.executable, "-c", BOOT, "--db", url, "scheduler", "run", "--lease-seconds", "3",
         "--sync-seconds", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err.open("ab"))


def _events(log: Path) -> list[tuple[str, str, int, float]]:
    if not log.exists():
        return []
    return [(p[0], p[1], int(p[2]), float(p[3]))
            for p in (line.split() for line in log.read_text().splitlines()) if len(p) == 4]


def _wait(cond, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def overlaps(events: list[tuple[str, str, int, float]], killed: dict[int, float]
             ) -> list[tuple[str, str]]:
    """Pairs of runs whose intervals (start → done, or → the kill of their process) meet."""
    spans: dict[tuple[str, int], list[float]] = {}
    for kind, key, pid, at in events:
        if kind == "start":
            spans[(key, pid)] = [at, killed.get(pid, float("inf"))]
        elif (key, pid) in spans:
            spans[(key, pid)][1] = at
    found: list[tuple[str, str]] = []
    latest: tuple[str, float] | None = None  # the run that ends last so far
    for (key, _), (start, end) in sorted(spans.items(), key=lambda item: item[1][0]):
        if latest is not None and start < latest[1] - 0.05:
            found.append((latest[0], key))
        if latest is None or end > latest[1]:
            latest = (key, end)
    return found


def test_overlap_finder() -> None:
    ev = [("start", "a", 1, 0.0), ("start", "b", 2, 1.0), ("done", "b", 2, 2.0)]
    assert overlaps(ev, {1: 1.5}) == [("a", "b")]
    assert overlaps(ev, {1: 0.9}) == []


@pytest.mark.slow
def test_kill_at_random_moments_never_runs_a_job_twice_at_once(
        sqlite_db: Database, settings: Settings, tmp_path: Path) -> None:
    seed = int(os.environ.get("SPOTCHECK_KILL_SEED") or random.SystemRandom().randrange(10**6))
    print(f"kill test seed: {seed} (SPOTCHECK_KILL_SEED={seed} reproduces the moments)")
    rng = random.Random(seed)
    url = sqlite_db.engine.url.render_as_string(hide_password=False)
    with sqlite_db.session() as s:
        s.add(Campaign(name="overlap", schedules={"overlap": "* * * * * *",
                                                  "timezone": "UTC"}))
    log, err, home = tmp_path / "probe.log", tmp_path / "scheduler.err", tmp_path / "home"
    killed: dict[int, float] = {}
    procs: list[subprocess.Popen[bytes]] = []
    try:
        proc = _start(url, home, log, err)
        procs.append(proc)
        for i in range(ITERATIONS):
            pid = proc.pid
            _wait(lambda p=pid: any(e[0] == "start" and e[2] == p for e in _events(log)),  # type: ignore[misc]
                  60, "the scheduler's first run")
            delay = rng.uniform(0.0, KILL_WITHIN)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            killed[pid] = time.time()
            proc.wait(10)
            print(f"iteration {i}: killed {pid} {delay:.2f} s after its first run started")
            proc = _start(url, home, log, err)
            procs.append(proc)
        done_before = sum(1 for e in _events(log) if e[0] == "done")
        _wait(lambda: sum(1 for e in _events(log) if e[0] == "done") >= done_before + 2, 60,
              "two runs of the last scheduler")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(40) == 0, err.read_text()[-2000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
    events = _events(log)
    done = Counter(key for kind, key, _, _ in events if kind == "done")
    assert done and all(n == 1 for n in done.values()), done  # no run completed twice
    assert overlaps(events, killed) == [], (seed, events)
    with sqlite_db.session() as s:
        rows = list(s.scalars(select(JobRun).where(JobRun.job == "overlap")))
    finished = {r.key for r in rows if r.outcome == "ok"}
    assert finished == set(done), (seed, [(r.key, r.outcome) for r in rows])
    assert all(r.outcome in {"ok", "missed"} for r in rows), [(r.key, r.outcome) for r in rows]
