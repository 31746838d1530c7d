"""Kill the scheduler with SIGKILL mid-job, start it again: no run lost, none done twice.

Real subprocesses running ``spotcheck scheduler run`` on the same database (SQLite file and
PostgreSQL), a job that takes 0.8 s firing every 2 s, SIGKILL while a run is in progress; of
two schedulers started together after the kill, one takes the lease and resumes the run, the
other must refuse (exit 4); SIGTERM stops gracefully.

The clock is as short as the job allows: every wait below is a multiple of the period (the
kill needs a finished run and a second one under way, the end two more runs), so the period
sets the test's length (4 s made it 25 s a database, loaded).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from store.db import Database
from store.models import Campaign, JobRun, SchedulerLease
from store.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
BOOT = "import tests.scheduler.probe_jobs; from spotcheck.cli import main; main()"
PERIOD = 2
#: The probe job's length: under the period even on a loaded machine (a run that overran it
#: would be caught up at once, coalesced, so the gaps below would still hold).
PROBE_SECONDS = "0.8"


def start(url: str, home: Path, log: Path, out: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, SPOTCHECK_HOME=str(home), PROBE_LOG=str(log), PROBE_SECONDS=PROBE_SECONDS,
               SPOTCHECK_CONFIG=str(home / "absent.toml"))
    env.pop("SPOTCHECK_DB", None)
    return subprocess.Popen(
        [sys.executable, "-c", BOOT, "--db", url, "scheduler", "run", "--lease-seconds", "3",
         "--sync-seconds", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=out.open("ab"))


def lines(log: Path) -> list[tuple[str, str]]:
    if not log.exists():
        return []
    return [(p[0], p[1]) for p in (line.split() for line in log.read_text().splitlines())
            if len(p) == 3]


def wait_for(cond, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def in_progress(log: Path) -> str | None:
    events = lines(log)
    done = {k for e, k in events if e == "done"}
    started = [k for e, k in events if e == "start" and k not in done]
    return started[-1] if done and started else None


@pytest.mark.slow
def test_sigkill_and_restart_loses_nothing_and_repeats_nothing(
        any_db: Database, settings: Settings, tmp_path: Path) -> None:
    url = any_db.engine.url.render_as_string(hide_password=False)
    with any_db.session() as s:
        s.add(Campaign(name="probe", schedules={"probe": f"*/{PERIOD} * * * * *",
                                                "timezone": "UTC"}))
    log, err = tmp_path / "probe.log", tmp_path / "scheduler.err"
    home = tmp_path / "home"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        a = start(url, home, log, err)
        procs.append(a)
        killed = wait_for(lambda: in_progress(log), 40, "a run in progress after one finished")
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        killed_at = time.monotonic()

        # Two schedulers started together: whichever takes the lease first resumes the
        # killed run, the other must find the lease taken and refuse.  (A fixed head start
        # for one of them was not enough on a loaded machine: the second one won the race.)
        pair = [start(url, home, log, err), start(url, home, log, err)]
        procs += pair

        def resumed() -> bool:
            with any_db.session() as s:
                row = s.scalar(select(JobRun).where(JobRun.key == killed))
                return row is not None and row.outcome == "ok"

        wait_for(resumed, 40, f"the killed run {killed} to be resumed")
        restarted_in = time.monotonic() - killed_at

        refused = wait_for(lambda: [p for p in pair if p.poll() is not None], 40,
                           "one of the two schedulers to refuse")
        assert len(refused) == 1 and refused[0].returncode == 4, err.read_text()[-2000:]
        assert "另一个调度器" in err.read_text()  # the refusal in the locale setting
        [b] = [p for p in pair if p is not refused[0]]

        finished_before = sum(1 for e, _ in lines(log) if e == "done")
        wait_for(lambda: sum(1 for e, _ in lines(log) if e == "done") >= finished_before + 2,
                 40, "two more runs after the restart")
        b.send_signal(signal.SIGTERM)
        assert b.wait(40) == 0, err.read_text()[-2000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)

    events = lines(log)
    done = Counter(k for e, k in events if e == "done")
    started = Counter(k for e, k in events if e == "start")
    assert all(n == 1 for n in done.values()), done  # no run completed twice
    assert started[killed] == 2 and done[killed] == 1  # the killed one was resumed once
    with any_db.session() as s:
        rows = list(s.scalars(select(JobRun).order_by(JobRun.scheduled_for)))
        lease = s.get(SchedulerLease, "scheduler")
        assert lease is not None
        expires = _aware(lease.expires_at)
    assert {r.outcome for r in rows} == {"ok"}, [(r.key, r.outcome) for r in rows]
    assert set(done) == {r.key for r in rows}  # every recorded run did its work
    assert [r.attempts for r in rows if r.key == killed] == [2]
    assert sum(r.attempts for r in rows) == len(rows) + 1
    assert expires <= dt.datetime.now(dt.UTC), "SIGTERM released the lease"
    # No fire time lost: consecutive runs are PERIOD apart, except where the documented
    # policy coalesces fire times into one run: those falling while no scheduler ran (once,
    # the restart), and those falling while the job's previous run was still running (a
    # run that ended after the next run's fire time: caught up at once, as the newest; on a
    # loaded machine a 0.8 s run once took over 4 s).  The killed run ended after the restart,
    # so the gap after it is the restart's, bounded by how long the restart took.
    fired = [r for r in rows if r.scheduled_for is not None]
    gaps = [(_aware(b.scheduled_for) - _aware(a.scheduled_for)).total_seconds()
            for a, b in itertools.pairwise(fired)]
    assert all(g % PERIOD == 0 for g in gaps), gaps
    caught_up = [a.key != killed and a.finished_at is not None
                 and _aware(a.finished_at) >= _aware(b.scheduled_for)
                 for a, b in itertools.pairwise(fired)]
    longer = [g for g, late in zip(gaps, caught_up, strict=True) if g > PERIOD and not late]
    assert len(longer) <= 1 and all(g <= restarted_in + 2 * PERIOD for g in longer), \
        (gaps, caught_up, restarted_in)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
