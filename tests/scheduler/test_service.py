"""The scheduler engine in-process: run records, misfire policy, lease, orphan recovery."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from sqlalchemy import insert, select

import tests.scheduler.probe_jobs  # noqa: F401  (registers the probe job kind)
from scheduler import runs
from scheduler.lease import Lease, holder_is_dead
from scheduler.schedules import fire_times, parse_cron, validate_schedules
from scheduler.service import run_due
from store.db import Database
from store.errors import Conflict, InvalidInput
from store.models import JobRun
from store.settings import Settings
from tests import factory

T0 = dt.datetime(2026, 9, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture()
def probe_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "probe.log"
    monkeypatch.setenv("PROBE_LOG", str(path))
    monkeypatch.setenv("PROBE_SECONDS", "0")
    return path


def campaign(db: Database, schedules: dict[str, str], name: str = "c") -> int:
    with db.session() as s:
        return factory.campaign(s, name, schedules=schedules, scope={}).id


def done_lines(path: Path) -> list[str]:
    return [line.split()[1] for line in path.read_text().splitlines()
            if line.startswith("done")] if path.exists() else []


def test_cron_parsing_is_standard_crontab() -> None:
    # weekday 1 is Monday in crontab (APScheduler 3's own from_crontab says Tuesday)
    trig = parse_cron("0 9 * * 1", "UTC")
    nxt = trig.get_next_fire_time(None, dt.datetime(2026, 9, 2, tzinfo=dt.UTC))  # a Wednesday
    assert nxt is not None and nxt.weekday() == 0 and nxt.hour == 9
    sunday = parse_cron("0 9 * * 0", "UTC").get_next_fire_time(
        None, dt.datetime(2026, 9, 2, tzinfo=dt.UTC))
    assert sunday is not None and sunday.weekday() == 6
    with pytest.raises(InvalidInput, match="5 fields"):
        parse_cron("* * *")
    with pytest.raises(InvalidInput, match="unknown job kind"):
        validate_schedules({"crawll": "0 2 * * *"})
    with pytest.raises(InvalidInput, match="time zone"):
        validate_schedules({"timezone": "Mars/Olympus"})
    times = fire_times(parse_cron("0 * * * *", "UTC"), T0, T0 + dt.timedelta(hours=3))
    assert times == [T0 + dt.timedelta(hours=h) for h in (1, 2, 3)]


def test_run_due_runs_once_coalesces_and_records_misses(
        any_db: Database, settings: Settings, probe_log: Path) -> None:
    campaign(any_db, {"probe": "0 * * * *", "timezone": "UTC"})
    first = run_due(any_db, settings, T0 + dt.timedelta(minutes=5))
    assert [(r.kind, r.outcome, r.started) for r in first] == [("probe", "ok", True)]
    assert first[0].key.endswith("2026-09-01T02:00:00Z")
    # same simulated time again: nothing new runs
    assert run_due(any_db, settings, T0 + dt.timedelta(minutes=30)) == []
    # three hours later: three fire times coalesce into one run, for the newest
    later = run_due(any_db, settings, T0 + dt.timedelta(hours=3, minutes=1))
    assert [r.key.rsplit(":", 3)[-3:] for r in later] == [["2026-09-01T05", "00", "00Z"]]
    # a daily job whose newest fire time is beyond the misfire grace (6 h): missed, not run
    daily = campaign(any_db, {"probe": "0 2 * * *", "timezone": "UTC"}, name="daily")
    run_due(any_db, settings, T0 + dt.timedelta(minutes=1), campaign_ids=[daily])
    missed = run_due(any_db, settings, T0 + dt.timedelta(days=1, hours=7),
                     campaign_ids=[daily])
    assert [r.outcome for r in missed] == ["missed"]
    assert missed[0].key.endswith("2026-09-02T02:00:00Z")
    assert len(done_lines(probe_log)) == 3
    with any_db.session() as s:
        rows = list(s.scalars(select(JobRun)))
    assert sorted(r.outcome for r in rows) == ["missed", "ok", "ok", "ok"]
    assert all(r.finished_at is not None and r.holder for r in rows)


def test_failed_job_is_recorded_and_not_rerun(sqlite_db: Database, settings: Settings,
                                              probe_log: Path) -> None:
    campaign(sqlite_db, {"boom": "0 * * * *", "timezone": "UTC"})
    [r] = run_due(sqlite_db, settings, T0 + dt.timedelta(minutes=1))
    assert r.outcome == "error" and "probe failure" in (r.error or "")
    assert run_due(sqlite_db, settings, T0 + dt.timedelta(minutes=2)) == []


def test_concurrent_execution_of_one_fire_time_runs_it_once(
        any_db: Database, settings: Settings, probe_log: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROBE_SECONDS", "0.3")
    cid = campaign(any_db, {})
    results: list[runs.RunInfo] = []
    barrier = threading.Barrier(3)

    def go(i: int) -> None:
        barrier.wait()
        results.append(runs.execute(any_db, settings, "probe", cid, T0, holder=f"h{i}"))

    threads = [threading.Thread(target=go, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.started for r in results) == 1
    assert len(done_lines(probe_log)) == 1


def test_orphaned_run_is_resumed_once(any_db: Database, settings: Settings,
                                      probe_log: Path) -> None:
    cid = campaign(any_db, {})
    key = runs.run_key("probe", cid, T0)
    with any_db.engine.begin() as conn:
        conn.execute(insert(JobRun).values(
            key=key, job="probe", campaign_id=cid, scheduled_for=T0, outcome="running",
            holder="elsewhere:1:dead", attempts=1, result={}))
    done = run_due(any_db, settings, T0 + dt.timedelta(minutes=1))
    assert [(r.key, r.outcome, r.attempts) for r in done] == [(key, "ok", 2)]
    assert run_due(any_db, settings, T0 + dt.timedelta(minutes=2)) == []
    assert done_lines(probe_log) == [key]


def test_one_lease_per_database(any_db: Database) -> None:
    a = Lease(any_db, ttl=30)
    b = Lease(any_db, ttl=30)
    a.acquire()
    with pytest.raises(Conflict, match="another scheduler"):
        b.acquire()
    assert a.held() and not b.held()
    assert a.renew() and not b.renew()
    a.release()
    b.acquire()
    assert b.held() and not a.renew()
    b.release()


def test_expired_or_dead_holder_is_taken_over(any_db: Database) -> None:
    a = Lease(any_db, ttl=0.2)
    a.acquire()
    import time

    time.sleep(0.4)
    b = Lease(any_db, ttl=30)
    b.acquire()  # a expired
    assert not a.renew()
    b.stop_heartbeat()
    # a holder that was a process on this host which no longer exists is taken over at once
    proc = subprocess.Popen(["true"])
    proc.wait()
    dead = Lease(any_db, ttl=300, holder=f"{socket.gethostname()}:{proc.pid}:x")
    assert holder_is_dead(dead.holder)
    b.release()
    dead.acquire()
    c = Lease(any_db, ttl=30)
    c.acquire()
    assert c.held() and not dead.held()
    c.release()
    # a live holder on another host is never assumed dead
    assert not holder_is_dead("otherhost:1:x")


def test_run_due_refuses_beside_a_live_scheduler(sqlite_db: Database, settings: Settings) -> None:
    live = Lease(sqlite_db, ttl=30)
    live.acquire()
    with pytest.raises(Conflict):
        run_due(sqlite_db, settings, T0)
    live.release()


def test_a_failed_run_keeps_its_coded_refusal_for_the_reader(
        sqlite_db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A job refused with a coded message (a design that cannot be drawn) keeps the code and
    its parameters beside the English error, so the demo and the console say it in the
    reader's language."""
    from sampler.errors import DesignInfeasible
    from store.messages import render

    def refuse(ctx: runs.JobContext) -> dict[str, object]:
        raise DesignInfeasible("allocation.strata_minimum_per_stratum_needs", len_sizes=9,
                               minimum=2, sum_lower_values=18, n=12)

    monkeypatch.setitem(runs.REGISTRY, "refuse", refuse)
    info = runs.execute(sqlite_db, settings, "refuse", None, None, holder="test")
    assert info.outcome == "error" and "more than the sample size 12" in (info.error or "")
    refusal = info.result["refusal"]
    assert render(refusal["code"], refusal["params"], "zh-CN") == \
        "9 个层 × 每层最少 2 个，需要 18 个单元，超过样本量 12"


def test_a_schedule_without_a_zone_runs_in_the_bureaus(settings: Settings,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A campaign that names no time zone fires in the installation's (the ``timezone``
    setting, the zone every time a person reads is in), not in a second default."""
    from store.settings import configure

    monkeypatch.setenv("SPOTCHECK_TIMEZONE", "Europe/Berlin")
    configure(home=settings.home)
    nxt = parse_cron("0 9 * * *").get_next_fire_time(None, dt.datetime(2026, 7, 1, tzinfo=dt.UTC))
    assert nxt is not None and str(nxt.tzinfo) == "Europe/Berlin" and nxt.hour == 9
    assert nxt.astimezone(dt.UTC).hour == 7
