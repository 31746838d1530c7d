"""Crawl runs: opening (or taking over), fencing, counting and finishing a crawl run row.

A run is written by exactly one crawl, which holds the run's lease (:class:`store.leases.Lease`)
for as long as it writes; every batch checks that hold in its own transaction and adds its
counts there too (``pages = pages + n``), so a batch and its counts commit together and a
crawl resumed after a kill takes its run over instead of writing beside a live one.  The
listings themselves are written by :mod:`crawlers.store_writer`.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.db import Database
from store.errors import Conflict, NotFound
from store.leases import Lease
from store.models import CrawlRun, Listing, Platform, SchedulerLease, utcnow
from store.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class RunCounters:
    """Counts not yet added to the crawl run row."""

    pages: int = 0
    items: int = 0
    new_listings: int = 0
    changed_listings: int = 0
    removed_listings: int = 0
    rejected_items: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    def any(self) -> bool:
        return bool(self.pages or self.items or self.new_listings or self.changed_listings
                    or self.removed_listings or self.rejected_items or self.errors)

    def take(self) -> RunCounters:
        """A copy of the counts, which are reset to zero here."""
        taken = RunCounters(self.pages, self.items, self.new_listings, self.changed_listings,
                            self.removed_listings, self.rejected_items, Counter(self.errors))
        self.__dict__.update(RunCounters().__dict__)
        return taken


def platform_id(session: Session, code: str) -> int:
    pid = session.scalar(select(Platform.id).where(Platform.code == code))
    if pid is None:
        raise NotFound("store_writer.platform_spotcheck_platform_list", code=code)
    return pid


#: The lease this process holds on each crawl run it writes (run id → lease).
_HELD: dict[int, Lease] = {}
#: Lease names fit the lease table's 64 characters.
_LEASE_NAME_MAX = 64


def run_lease_name(job_key: str) -> str:
    """The lease a crawl holds on the run of *job_key*."""
    name = f"crawl:{job_key}"
    if len(name) > _LEASE_NAME_MAX:
        name = "crawl:" + hashlib.sha256(job_key.encode()).hexdigest()[:40]
    return name


def shared(job_key: str | None) -> bool:
    """Whether several workers write the run together by design (a Redis-shared crawl, whose
    workers the crawl's registry coordinates)."""
    return bool(job_key and job_key.startswith("redis:"))


@dataclass(frozen=True)
class RunOwner:
    """Who may write a crawl run: the holder of lease *name*."""

    name: str
    holder: str


def seen_in_run(db: Database, platform_code: str, run_id: int) -> set[str]:
    """Canonical URLs and external ids of listings already written in run *run_id*: a crawl
    resumed after a kill does not fetch them again."""
    with db.session() as s:
        rows = s.execute(select(Listing.url, Listing.external_id)
                         .join(Platform, Platform.id == Listing.platform_id)
                         .where(Platform.code == platform_code,
                                Listing.last_crawl_run_id == run_id)).all()
    return {u for u, _ in rows} | {e for _, e in rows}


class CrawlRuns:
    """Creating, resuming and finishing crawl run rows.

    A run is written by exactly one crawl: :meth:`open` takes the run's lease first (waiting
    for a crawl killed on another host to lose it), so a crawl that finds its run still
    ``running`` takes it over from a dead one and is never a second writer beside a live one.
    Every batch checks the lease in its own transaction (fencing), and finishing releases it.
    """

    def __init__(self, db: Database, settings: Settings | None = None) -> None:
        self.db = db
        self.settings = settings

    def open(self, platform_code: str, *, full: bool, job_key: str | None) -> tuple[int, bool]:
        """The run to write to: a running run with *job_key* is resumed (taken over), else a
        new one.  Raises :class:`~store.errors.Conflict` when a live crawl holds the run.

        Returns (run id, resumed).
        """
        lease = None
        if job_key and not shared(job_key):
            ttl = self.settings.crawl_lease_seconds if self.settings else 30.0
            lease = Lease(self.db, ttl=ttl, name=run_lease_name(job_key))
            lease.wait_acquire(timeout=1.5 * ttl + 1)
        try:
            run_id, resumed = self._open(platform_code, full=full, job_key=job_key)
        except BaseException:
            if lease is not None:
                lease.release()
            raise
        if lease is not None:
            stale = _HELD.get(run_id)
            if stale is not None and stale.db is not self.db:
                stale.stop_heartbeat()  # a run of the same number in another database
            _HELD[run_id] = lease
            lease.start_heartbeat(lambda: log.error(
                "crawl run %s: lease %s lost; its next batch will be refused", run_id,
                lease.name))
        return run_id, resumed

    def _open(self, platform_code: str, *, full: bool, job_key: str | None
              ) -> tuple[int, bool]:
        with self.db.session() as s:
            pid = platform_id(s, platform_code)
            if job_key:
                row = s.scalar(select(CrawlRun).where(CrawlRun.job_key == job_key))
                if row is not None and row.status == "running":
                    return row.id, True
                if row is not None:  # a finished run keeps its key: free it for the new one
                    row.job_key = f"{job_key}@{row.id}"
                    s.flush()
            run = CrawlRun(platform_id=pid, job_key=job_key, full=full, status="running",
                           errors={}, stats={})
            s.add(run)
            s.flush()
            return run.id, False

    @staticmethod
    def owner(run_id: int, db: Database | None = None) -> RunOwner | None:
        """This process's hold on *run_id* of *db* (None: not held here, or a shared run).

        Run ids are per database: a hold on run 2 of one database says nothing about run 2
        of another (a process that opens several, as the tests and the demo do)."""
        lease = _HELD.get(run_id)
        if lease is None or (db is not None and lease.db is not db):
            return None
        return RunOwner(lease.name, lease.holder)

    @staticmethod
    def fence(session: Session, run_id: int, owner: RunOwner | None) -> None:
        """Refuse to write *run_id* in *session* unless *owner* still holds it (checked in
        the batch's own transaction, with the lease row locked on PostgreSQL)."""
        if owner is None:
            return
        holder = session.scalar(select(SchedulerLease.holder)
                                .where(SchedulerLease.name == owner.name).with_for_update())
        if holder != owner.holder:
            raise Conflict("store_writer.crawl_run_was_taken_over", run_id=run_id, holder=holder)

    def add(self, run_id: int, counters: RunCounters, session: Session | None = None) -> None:
        """Add *counters* to the run row (safe with several writers); in *session* when given
        (the batch's own transaction, so a batch and its counts commit together)."""
        if not counters.any():
            return
        if session is None:
            with self.db.session() as s:
                self._add(s, run_id, counters)
            counters.__dict__.update(RunCounters().__dict__)
        else:  # the caller resets the counters once its transaction has committed
            self._add(session, run_id, counters)

    @staticmethod
    def _add(s: Session, run_id: int, counters: RunCounters) -> None:
        s.execute(update(CrawlRun).where(CrawlRun.id == run_id).values(
            pages=CrawlRun.pages + counters.pages,
            items=CrawlRun.items + counters.items,
            new_listings=CrawlRun.new_listings + counters.new_listings,
            changed_listings=CrawlRun.changed_listings + counters.changed_listings,
            removed_listings=CrawlRun.removed_listings + counters.removed_listings,
            rejected_items=CrawlRun.rejected_items + counters.rejected_items,
        ))
        if counters.errors:
            run = s.scalar(select(CrawlRun).where(CrawlRun.id == run_id).with_for_update())
            assert run is not None
            merged = Counter(run.errors or {})
            merged.update(counters.errors)
            run.errors = dict(merged)

    def finish(self, run_id: int, status: str, stats: dict[str, Any]) -> None:
        with self.db.session() as s:
            run = s.get(CrawlRun, run_id)
            assert run is not None
            run.status = status
            run.finished_at = utcnow()
            run.stats = {**(run.stats or {}), **stats}
            if run.job_key and status != "running":
                run.job_key = f"{run.job_key}@{run.id}"
        if status != "running":
            lease = _HELD.pop(run_id, None)
            if lease is not None:
                lease.release()
