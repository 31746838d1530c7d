"""The scheduler service: APScheduler with its job store in the project's database.

``spotcheck scheduler run`` starts a :class:`SchedulerService`: it takes the scheduler lease
(one active scheduler per database, :mod:`scheduler.lease`), mirrors every active campaign's
schedules into APScheduler jobs (``campaign:<id>:<kind>``, kept in the ``scheduler_job`` table
by APScheduler's ``SQLAlchemyJobStore``), resumes runs a killed scheduler left unfinished, and
fires jobs through :func:`scheduler.runs.execute`, which records each run and never starts the
same fire time twice.

Misfire policy (documented in scheduler/README.md): ``coalesce=True`` — fire times missed
while no scheduler ran collapse into one run, for the newest of them; ``misfire_grace_time`` =
``settings.scheduler_misfire_grace`` (default 6 h) — a fire time later than that is recorded
as ``missed`` and not run; ``max_instances=1`` per job, and fire times that pass while the
same job is still running are caught up (coalesced into one run) as soon as it finishes.

:func:`run_due` is the accelerated clock: it executes the jobs due at a given (simulated) time
with the same policy and the same run records, without waiting for the wall clock.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import signal
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from scheduler import runs
from scheduler.lease import Lease
from scheduler.schedules import fire_times, parse_cron
from store.db import Database
from store.models import Campaign, utcnow
from store.settings import Settings

log = logging.getLogger("spotcheck.scheduler")

JOB_TABLE = "scheduler_job"
#: Jobs that go on after a campaign's period ends: the half-year statistics are made after
#: the half year, and bought listings are still re-captured while cases run.
AFTER_PERIOD = {"stats": dt.timedelta(days=200), "recapture": dt.timedelta(days=200)}


def _never_called(*_args: Any, **_kwargs: Any) -> None:
    """APScheduler needs an importable function; our executor runs the job itself."""
    raise RuntimeError("scheduler jobs are run by RecordedExecutor, not called directly")


@dataclass(frozen=True)
class Scheduled:
    """One campaign schedule: job kind, cron expression, time zone."""

    campaign_id: int
    campaign: str
    kind: str
    cron: str
    timezone: str | None

    @property
    def job_id(self) -> str:
        return f"campaign:{self.campaign_id}:{self.kind}"


def active_schedules(db: Database, on: dt.date | None = None) -> list[Scheduled]:
    """Schedules of campaigns that are active and whose period has not ended."""
    on = on or utcnow().date()
    out = []
    with db.session() as s:
        for c in s.scalars(select(Campaign).where(Campaign.status == "active")
                           .order_by(Campaign.id)):
            if c.period_start is not None and c.period_start > on:
                continue
            tz = (c.schedules or {}).get("timezone")
            for kind in runs.known_kinds():
                expr = (c.schedules or {}).get(kind)
                if c.period_end is not None:
                    grace = AFTER_PERIOD.get(kind, dt.timedelta(0))
                    if c.period_end + grace < on:
                        continue
                if expr:
                    out.append(Scheduled(c.id, c.name, kind, str(expr), tz))
    return out


class RecordedExecutor(BaseExecutor):
    """Runs each fire time through :meth:`SchedulerService.fired` on a small thread pool.

    APScheduler's own executors call the job function without telling it which fire time it
    is for; we need that time for the run key, so this executor passes it.
    """

    def __init__(self, service: SchedulerService, max_workers: int = 2) -> None:
        super().__init__()
        self._service = service
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers, "scheduler-job")

    def _do_submit_job(self, job: Job, run_times: list[dt.datetime]) -> None:
        def run() -> list[JobExecutionEvent]:
            events = []
            times = list(run_times)
            while times:
                for run_time in times:
                    info = self._service.fired(job.args[0], job.args[1], run_time)
                    code = EVENT_JOB_ERROR if info.outcome == "error" else EVENT_JOB_EXECUTED
                    events.append(JobExecutionEvent(code, job.id, job._jobstore_alias,
                                                    run_time, retval=info.outcome))
                # Fire times that passed while this run was busy were skipped by APScheduler
                # (max_instances=1); catch up on the newest of them (coalesce), so none is
                # lost.  Run keys make a fire time APScheduler also submits run only once.
                missed = [] if self._service.stopping else \
                    fire_times(job.trigger, times[-1], utcnow())
                times = missed[-1:]
            return events

        future = self._pool.submit(run)

        def done(f: concurrent.futures.Future[list[JobExecutionEvent]]) -> None:
            exc = f.exception()
            if exc is not None:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, f.result())

        future.add_done_callback(done)

    def submit_plain(self, fn: Any, *args: Any) -> concurrent.futures.Future[Any]:
        return self._pool.submit(fn, *args)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)


class SchedulerService:
    """A long-running scheduler on one database (use :meth:`run_forever` in the foreground)."""

    def __init__(self, db: Database, settings: Settings, *, max_workers: int = 2) -> None:
        self.db = db
        self.settings = settings
        self.lease = Lease(db, ttl=settings.scheduler_lease_seconds)
        self.grace = int(settings.scheduler_misfire_grace)
        self._stop = threading.Event()
        self._executor = RecordedExecutor(self, max_workers)
        self._aps: BackgroundScheduler | None = None
        #: One instance per job (kind, campaign), whether a fire time or a resumed run asks:
        #: APScheduler's max_instances only sees its own fire times.
        self._instances: dict[tuple[str, int | None], threading.Lock] = {}
        self._instances_guard = threading.Lock()

    def one_instance(self, kind: str, campaign_id: int | None) -> threading.Lock:
        """The lock a run of job (*kind*, *campaign_id*) holds while it runs."""
        with self._instances_guard:
            return self._instances.setdefault((kind, campaign_id), threading.Lock())

    @property
    def holder(self) -> str:
        return self.lease.holder

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        runs.load_jobs()
        self.lease.acquire()
        try:
            store = SQLAlchemyJobStore(engine=self.db.engine, tablename=JOB_TABLE)
            self._aps = BackgroundScheduler(
                jobstores={"default": store}, executors={"default": self._executor},
                job_defaults={"coalesce": True, "misfire_grace_time": self.grace,
                              "max_instances": 1},
                timezone=dt.UTC)
            self._aps.start(paused=True)
            self.sync_jobs()
            orphans = runs.orphaned_runs(self.db, self.holder)
            for row in orphans:
                # Taken here, before any fire time can run: the resumed run goes first.
                instance = self.one_instance(row.job, row.campaign_id)
                instance.acquire()
                self._executor.submit_plain(self._resume, row, instance)
            self._executor.submit_plain(self.take_queued)
            self._aps.resume()
        except BaseException:
            self.lease.release()
            raise
        self.lease.start_heartbeat(self.request_stop)
        log.info("scheduler %s started: %d job(s), %d orphaned run(s) to resume",
                 self.holder, len(self._aps.get_jobs()), len(orphans))

    def _resume(self, row: Any, instance: threading.Lock | None = None) -> runs.RunInfo:
        """Finish a run a killed scheduler left ``running``, under the job's one-instance
        rule: a fire time of the same job waits until it is done (then runs, or is recorded
        missed), so a resumed crawl never has a second crawl of the same job beside it."""
        sched = row.scheduled_for
        if sched is not None and sched.tzinfo is None:
            sched = sched.replace(tzinfo=dt.UTC)
        if instance is None:
            instance = self.one_instance(row.job, row.campaign_id)
            instance.acquire()
        try:
            return runs.execute(self.db, self.settings, row.job, row.campaign_id, sched,
                                holder=self.holder, fence=self.lease.held, key=row.key)
        finally:
            instance.release()

    def take_queued(self) -> None:
        """Run the queued runs nobody took (their queuing process died first), each under
        its job's one-instance rule."""
        for row in runs.queued_runs(self.db):
            with self.one_instance(row.job, row.campaign_id):
                if self.lease.held():
                    runs.run_queued(self.db, self.settings, holder=self.holder, key=row.key)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def request_stop(self, *_: Any) -> None:
        self._stop.set()

    def run_forever(self, install_signals: bool = True) -> None:
        """Run until SIGTERM/SIGINT (or :meth:`request_stop`), then stop gracefully."""
        if install_signals:
            def on_signal(signum: int, _frame: Any) -> None:
                if self._stop.is_set():
                    raise SystemExit(128 + signum)  # second signal: stop waiting for jobs
                log.info("signal %d: stopping after the running jobs finish", signum)
                self._stop.set()

            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
        if self._aps is None:
            self.start()
        try:
            while not self._stop.wait(self.settings.scheduler_sync_seconds):
                try:
                    self.sync_jobs()
                except Exception:
                    log.exception("re-reading campaign schedules failed")
                if runs.queued_runs(self.db):
                    self._executor.submit_plain(self.take_queued)
        finally:
            self.shutdown()

    def shutdown(self, wait: bool = True) -> None:
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=wait)
        self.lease.release()
        log.info("scheduler %s stopped", self.holder)

    # -- jobs --------------------------------------------------------------------------

    def sync_jobs(self) -> dict[str, int]:
        """Mirror campaign schedules into APScheduler jobs; unchanged jobs keep their next
        fire time (replacing them would forget fire times missed while we were down)."""
        assert self._aps is not None
        wanted = {s.job_id: s for s in active_schedules(self.db)}
        added = removed = 0
        for job in self._aps.get_jobs():
            if job.id not in wanted:
                job.remove()
                removed += 1
        for job_id, s in wanted.items():
            job = self._aps.get_job(job_id)
            if job is not None and job.kwargs == {"cron": s.cron, "tz": s.timezone}:
                continue
            self._aps.add_job(_never_called, trigger=parse_cron(s.cron, s.timezone),
                              id=job_id, name=f"{s.kind} · {s.campaign}",
                              args=[s.kind, s.campaign_id],
                              kwargs={"cron": s.cron, "tz": s.timezone},
                              replace_existing=True)
            added += 1
        return {"jobs": len(wanted), "added": added, "removed": removed}

    def fired(self, kind: str, campaign_id: int, run_time: dt.datetime) -> runs.RunInfo:
        """One fire time of one job: missed beyond the grace time, else executed once — after
        any other run of the same job (a resumed one) has finished."""
        with self.one_instance(kind, campaign_id):
            late = utcnow() - run_time
            if late > dt.timedelta(seconds=self.grace):
                return runs.record_missed(self.db, kind, campaign_id, run_time, self.holder,
                                          late)
            return runs.execute(self.db, self.settings, kind, campaign_id, run_time,
                                holder=self.holder, fence=self.lease.held)

    def jobs(self) -> list[dict[str, Any]]:
        assert self._aps is not None
        return [{"id": j.id, "name": j.name, "next_run_time": j.next_run_time}
                for j in self._aps.get_jobs()]


def stored_jobs(db: Database) -> list[dict[str, Any]]:
    """The jobs in the job store (for ``spotcheck scheduler jobs`` without running one)."""
    store = SQLAlchemyJobStore(engine=db.engine, tablename=JOB_TABLE)
    store.start(BackgroundScheduler(timezone=dt.UTC), "default")
    return [{"id": j.id, "name": j.name, "next_run_time": j.next_run_time}
            for j in store.get_all_jobs()]


def run_due(db: Database, settings: Settings, now: dt.datetime, *,
            campaign_ids: Iterable[int] | None = None, kinds: Iterable[str] | None = None,
            holder_lease: Lease | None = None) -> list[runs.RunInfo]:
    """The accelerated clock: run every job due at simulated time *now*, as the service would.

    For each schedule, the fire times since the last recorded one (or within the misfire
    grace before *now*, the first time) are coalesced into the newest; it runs unless it is
    older than the grace time (then it is recorded as missed).  Orphaned runs are resumed
    first.  Due runs execute in fire-time order, then pipeline order (crawl before score
    before draw ...), each with ``ctx.now`` = *now*.  Takes the scheduler lease for its
    duration, so it never runs beside a live scheduler.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    runs.load_jobs()
    lease = holder_lease or Lease(db, ttl=settings.scheduler_lease_seconds)
    own = holder_lease is None
    if own:
        lease.acquire()
        lease.start_heartbeat(lambda: log.error("scheduler lease lost during run_due"))
    grace = dt.timedelta(seconds=settings.scheduler_misfire_grace)
    only_c = set(campaign_ids) if campaign_ids is not None else None
    only_k = set(kinds) if kinds is not None else None
    done: list[runs.RunInfo] = []
    order = runs.known_kinds()
    try:
        for row in runs.orphaned_runs(db, lease.holder):
            sched = row.scheduled_for
            if sched is not None and sched.tzinfo is None:
                sched = sched.replace(tzinfo=dt.UTC)
            done.append(runs.execute(db, settings, row.job, row.campaign_id, sched,
                                     holder=lease.holder, now=now, fence=lease.held,
                                     key=row.key))
        done += runs.run_queued(db, settings, holder=lease.holder, now=now)
        due: list[tuple[dt.datetime, int, Scheduled]] = []
        for s in active_schedules(db, now.date()):
            if (only_c is not None and s.campaign_id not in only_c) or \
                    (only_k is not None and s.kind not in only_k):
                continue
            since = runs.last_fire(db, s.kind, s.campaign_id) or (now - grace)
            times = fire_times(parse_cron(s.cron, s.timezone), since, now)
            if times:
                due.append((times[-1], order.index(s.kind), s))
        for when, _, s in sorted(due, key=lambda d: (d[0], d[1], d[2].campaign_id)):
            if now - when > grace:
                done.append(runs.record_missed(db, s.kind, s.campaign_id, when, lease.holder,
                                               now - when))
                continue
            lease.renew()
            done.append(runs.execute(db, settings, s.kind, s.campaign_id, when,
                                     holder=lease.holder, now=now, fence=lease.held))
    finally:
        if own:
            lease.release()
    return done
