"""Recorded, idempotent job runs: every scheduled job runs through :func:`execute`.

A run's key is ``<kind>:campaign:<id>:<fire time UTC>``; the ``job_run`` row with that key is
inserted *before* the job starts (the unique key makes a second insert fail), so the same fire
time never starts twice, whether it is fired again after a restart, by a second scheduler, or
by ``run_due``.  A run left ``running`` by a scheduler that was killed is *orphaned*; the next
lease holder resumes it (``attempts`` + 1) — job bodies are idempotent, and purchases carry
their own idempotency keys, so resuming finishes the work without doing any of it twice.
Finished runs (``ok``, ``error``, ``missed``) are never re-run automatically.

Work queued by an action (approving a plan queues its ``offers`` captures) is a row too,
``queued`` with no holder, inserted in the action's own transaction (:func:`enqueue`): it
survives the process that queued it.  Whoever runs it first takes it by compare-and-set
(``queued`` → ``running``, :func:`run_queued`): the queuing process's thread, the scheduler
(at start and on each sync), ``scheduler tick``.  A taker killed half-way leaves it
``running``, an orphan the lease holder resumes like any other.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from scheduler.jobs import REGISTRY, JobContext, JobFunc, job
from store.db import Database
from store.errors import SpotcheckError
from store.jsonio import jsonable
from store.models import JobRun, SchedulerLease, utcnow
from store.settings import Settings

log = logging.getLogger("spotcheck.scheduler")
JOB_RUNS = cast(Table, JobRun.__table__)
LEASES = cast(Table, SchedulerLease.__table__)

FINISHED = ("ok", "error", "missed", "skipped")
__all__ = ["FINISHED", "REGISTRY", "JobContext", "JobFunc", "RunInfo", "enqueue", "execute",
           "job", "known_kinds", "load_jobs", "orphaned_runs", "queued_runs", "record_missed",
           "run_key", "run_queued"]


def load_jobs() -> None:
    """Register the pipeline's job bodies (imported lazily: they pull in the domain packages
    only when a job runs)."""
    import scheduler.pipeline  # noqa: F401


def known_kinds() -> list[str]:
    """Job kinds in pipeline order, then any other registered kind (plugins, tests)."""
    from scheduler.schedules import JOB_KINDS

    return list(JOB_KINDS) + sorted(k for k in REGISTRY if k not in JOB_KINDS)


def run_key(kind: str, campaign_id: int | None, scheduled_for: dt.datetime | None) -> str:
    when = scheduled_for.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if scheduled_for \
        else utcnow().strftime("manual-%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{kind}:campaign:{campaign_id if campaign_id is not None else '-'}:{when}"


@dataclass(frozen=True)
class RunInfo:
    key: str
    kind: str
    outcome: str
    attempts: int
    started: bool
    result: dict[str, Any]
    error: str | None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _info(row: Any, started: bool) -> RunInfo:
    return RunInfo(row.key, row.job, row.outcome, row.attempts, started, row.result or {},
                   row.error)


def _holds_lease(db: Database, holder: str) -> bool:
    """Only the scheduler lease holder may resume another holder's run: it is then sure
    that the other one is dead (or lost the lease and stops before its next job)."""
    from scheduler.lease import LEASE_NAME

    with db.engine.connect() as conn:
        current = conn.execute(select(LEASES.c.holder).where(LEASES.c.name == LEASE_NAME)
                               ).scalar()
    return current == holder


def _claim(db: Database, key: str, kind: str, campaign_id: int | None,
           scheduled_for: dt.datetime | None, holder: str) -> tuple[bool, Any]:
    """Insert the run row, or take over an orphaned one; (claimed, row)."""
    t = JOB_RUNS
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(t).values(key=key, job=kind, campaign_id=campaign_id,
                                          scheduled_for=scheduled_for, holder=holder,
                                          started_at=utcnow(), outcome="running", attempts=1,
                                          result={}))
    except IntegrityError:
        with db.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.key == key)).one()
        if row.outcome in FINISHED or row.holder == holder or not _holds_lease(db, holder):
            return False, row
        # Orphaned: its scheduler died (we hold the lease now). Compare-and-set on the holder
        # so two would-be rescuers cannot both resume it.
        with db.engine.begin() as conn:
            n = conn.execute(update(t).where(t.c.key == key, t.c.holder == row.holder,
                                             t.c.outcome == "running")
                             .values(holder=holder, attempts=row.attempts + 1,
                                     started_at=utcnow())).rowcount
        if not n:
            with db.engine.connect() as conn:
                return False, conn.execute(select(t).where(t.c.key == key)).one()
        log.warning("resuming run %s orphaned by %s", key, row.holder)
    with db.engine.connect() as conn:
        return True, conn.execute(select(t).where(t.c.key == key)).one()


def _finish(db: Database, key: str, outcome: str, result: dict[str, Any],
            error: str | None) -> Any:
    t = JOB_RUNS
    with db.engine.begin() as conn:
        conn.execute(update(t).where(t.c.key == key).values(
            outcome=outcome, finished_at=utcnow(), result=jsonable(result),
            error=error[-4000:] if error else None))
        return conn.execute(select(t).where(t.c.key == key)).one()


def record_missed(db: Database, kind: str, campaign_id: int | None,
                  scheduled_for: dt.datetime, holder: str, late_by: dt.timedelta) -> RunInfo:
    """A fire time older than the misfire grace: recorded, so nothing vanishes silently."""
    key = run_key(kind, campaign_id, scheduled_for)
    claimed, row = _claim(db, key, kind, campaign_id, scheduled_for, holder)
    if not claimed:
        return _info(row, False)
    log.warning("run %s missed by %s (beyond the misfire grace time)", key, late_by)
    return _info(_finish(db, key, "missed", {"late_by_seconds": late_by.total_seconds()},
                         None), False)


def execute(db: Database, settings: Settings, kind: str, campaign_id: int | None,
            scheduled_for: dt.datetime | None, *, holder: str, now: dt.datetime | None = None,
            fence: Callable[[], bool] | None = None, options: dict[str, Any] | None = None,
            key: str | None = None) -> RunInfo:
    """Run job *kind* for one fire time at most once to completion, and record it (*key*:
    an existing run's, to resume it; a run started by hand or queued has no fire time to
    derive it from)."""
    key = key or run_key(kind, campaign_id, scheduled_for)
    if fence is not None and not fence():
        log.error("not running %s: this process no longer holds the scheduler lease", key)
        return RunInfo(key, kind, "not-run", 0, False, {}, "lease lost")
    claimed, row = _claim(db, key, kind, campaign_id, scheduled_for, holder)
    if not claimed:
        log.info("run %s already %s; not running it again", key, row.outcome)
        return _info(row, False)
    if options is None:  # a resumed queued run: the options it was queued with
        options = dict((row.result or {}).get("options") or {})
    return _body(db, settings, row, holder=holder, now=now, options=options)


def _body(db: Database, settings: Settings, row: Any, *, holder: str,
          now: dt.datetime | None, options: dict[str, Any]) -> RunInfo:
    """Run the claimed run *row*'s job and record its outcome."""
    key, kind, campaign_id = row.key, row.job, row.campaign_id
    scheduled_for = row.scheduled_for
    if scheduled_for is not None and scheduled_for.tzinfo is None:
        scheduled_for = scheduled_for.replace(tzinfo=dt.UTC)
    fn = REGISTRY.get(kind)
    if fn is None:
        return _info(_finish(db, key, "error", {}, f"no job registered for kind {kind!r}"),
                     True)
    ctx = JobContext(db=db, settings=settings, kind=kind, campaign_id=campaign_id,
                     scheduled_for=scheduled_for, now=now or utcnow(), holder=holder,
                     options=options,
                     enqueue=lambda s, k, o: enqueue(s, k, campaign_id, o),
                     start=lambda k: queue_run(db, settings, k, holder=f"{kind}-run"))
    log.info("run %s started (attempt %d)", key, row.attempts)
    try:
        result = fn(ctx) or {}
    except Exception as exc:
        log.error("run %s failed: %s", key, exc)
        err = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
        # a coded refusal (a design that cannot be drawn) is kept as its code and parameters
        # too, so whoever reads the failed run reads it in their language
        stored = exc.stored() if isinstance(exc, SpotcheckError) else None
        return _info(_finish(db, key, "error",
                             {"refusal": stored} if isinstance(stored, dict) else {}, err), True)
    outcome = str(result.pop("_outcome", "ok"))
    log.info("run %s finished: %s", key, outcome)
    return _info(_finish(db, key, outcome, result, None), True)


#: Holder prefix of a run taken by :func:`queue_run`'s thread (not a lease holder).
QUEUE_TAKER = "queue:"


def _taker_alive(holder: str | None) -> bool:
    """Whether *holder* is a :func:`queue_run` thread's process still running on this host
    (a console serving on: its run is not an orphan, whatever the lease says)."""
    import os
    import socket

    if not holder or not holder.startswith(QUEUE_TAKER):
        return False
    parts = holder.rsplit(":", 3)
    if len(parts) != 4 or parts[1] != socket.gethostname() or not parts[2].isdigit():
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def orphaned_runs(db: Database, holder: str) -> list[Any]:
    """Runs left ``running`` by another holder (killed scheduler, or a killed process whose
    thread took a queued run), oldest first."""
    t = JOB_RUNS
    with db.engine.connect() as conn:
        rows = list(conn.execute(select(t).where(t.c.outcome == "running",
                                                 (t.c.holder != holder) | t.c.holder.is_(None))
                                 .order_by(t.c.started_at)))
    return [r for r in rows if not _taker_alive(r.holder)]


def last_fire(db: Database, kind: str, campaign_id: int) -> dt.datetime | None:
    """The newest fire time a run was recorded for (any outcome)."""
    t = JOB_RUNS
    with db.engine.connect() as conn:
        value = conn.execute(select(t.c.scheduled_for).where(
            t.c.job == kind, t.c.campaign_id == campaign_id, t.c.scheduled_for.is_not(None))
            .order_by(t.c.scheduled_for.desc()).limit(1)).scalar()
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


_QUEUED: list[threading.Thread] = []
_QUEUED_LOCK = threading.Lock()


def enqueue(session: Any, kind: str, campaign_id: int | None,
            options: dict[str, Any] | None = None) -> str:
    """Queue a run of job *kind* in *session*'s transaction (committed with the action that
    queues it, or not at all); returns its key.  Nothing runs it yet: see :func:`queue_run`
    (this process, now) and :func:`run_queued` (anyone, later)."""
    import uuid

    key = f"{kind}:campaign:{campaign_id if campaign_id is not None else '-'}:queued-" \
          f"{utcnow().strftime('%Y-%m-%dT%H:%M:%S.%fZ')}-{uuid.uuid4().hex[:8]}"
    session.add(JobRun(key=key, job=kind, campaign_id=campaign_id, scheduled_for=None,
                       holder=None, started_at=utcnow(), outcome="queued", attempts=0,
                       result={"options": jsonable(options or {})}))
    return key


def queued_runs(db: Database, kind: str | None = None) -> list[Any]:
    """Runs queued and not taken yet, oldest first."""
    t = JOB_RUNS
    q = select(t).where(t.c.outcome == "queued").order_by(t.c.started_at, t.c.id)
    if kind is not None:
        q = q.where(t.c.job == kind)
    with db.engine.connect() as conn:
        return list(conn.execute(q))


def _take(db: Database, key: str, holder: str) -> Any | None:
    """Compare-and-set a queued run to ``running`` by *holder*: one taker wins."""
    t = JOB_RUNS
    with db.engine.begin() as conn:
        n = conn.execute(update(t).where(t.c.key == key, t.c.outcome == "queued")
                         .values(outcome="running", holder=holder, attempts=1,
                                 started_at=utcnow())).rowcount
        if not n:
            return None
        return conn.execute(select(t).where(t.c.key == key)).one()


def run_queued(db: Database, settings: Settings, *, holder: str, key: str | None = None,
               now: dt.datetime | None = None) -> list[RunInfo]:
    """Take and run queued runs (all, or the one *key*), each at most once across every
    process; a run another taker got first is left to it."""
    load_jobs()
    keys = [key] if key is not None else [r.key for r in queued_runs(db)]
    done: list[RunInfo] = []
    for k in keys:
        row = _take(db, k, holder)
        if row is None:
            continue
        done.append(_body(db, settings, row, holder=holder, now=now,
                          options=dict((row.result or {}).get("options") or {})))
    return done


def queue_run(db: Database, settings: Settings, key: str, *, holder: str
              ) -> threading.Thread:
    """Run the queued run *key* now, in a thread of this process (an approval queues its
    plan's ``offers`` captures and does not wait for a browser).  Not a daemon: a command-line
    caller waits for it before the process ends; the console keeps serving meanwhile.  If
    this process dies first, the row stays ``queued`` (or ``running``, an orphan) and the
    scheduler takes it."""
    import os
    import socket
    import uuid

    who = f"{f'{QUEUE_TAKER}{holder}'[:150]}:{socket.gethostname()[:30]}:{os.getpid()}:" \
          f"{uuid.uuid4().hex[:6]}"

    def run() -> None:
        try:
            for info in run_queued(db, settings, holder=who, key=key):
                log.info("queued run %s: %s", key, info.outcome)
        except Exception:  # a thread's failure must be logged, not lost
            log.exception("queued run %s failed", key)

    thread = threading.Thread(target=run, name=f"queued-{key[:40]}", daemon=False)
    with _QUEUED_LOCK:
        _QUEUED[:] = [t for t in _QUEUED if t.is_alive()] + [thread]
    thread.start()
    return thread


def wait_for_queued_runs(timeout: float | None = None) -> bool:
    """Wait for the runs this process queued; True when none is still running."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _QUEUED_LOCK:
        threads = list(_QUEUED)
    for t in threads:
        t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)
