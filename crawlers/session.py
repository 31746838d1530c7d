"""One crawl of one platform, as the spider, the pipelines and the extensions share it: the
profile, the crawl run row (opened, and its lease taken, before the crawl starts), the
counts not yet written, what a resumed crawl may skip, and — while the storage pipeline
(:mod:`crawlers.storage`) has it open — the batched writer."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

from crawlers.bounds import bounds_of, with_bounds
from crawlers.crawl_runs import CrawlRuns, RunCounters, seen_in_run
from crawlers.items import RemovalCheck
from crawlers.platforms import load_profile
from crawlers.profile import Profile
from crawlers.store_writer import ListingWriter
from store.clock import as_utc
from store.db import Database
from store.models import CrawlRun
from store.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class CrawlRunSummary:
    """What a crawl did (the crawl run row, as a value)."""

    run_id: int
    platform: str
    status: str
    full: bool
    resumed: bool
    pages: int
    items: int
    new_listings: int
    changed_listings: int
    removed_listings: int
    rejected_items: int
    errors: dict[str, int] = field(default_factory=dict)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    #: Pages this process fetched (in a shared crawl, ``pages`` counts every worker's).
    worker_pages: int = 0
    #: A bounded crawl's bounds and what stopped it (None: unbounded; see crawlers.bounds).
    bounds: dict[str, Any] | None = None

    @property
    def seconds(self) -> float:
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 2)
        return data

    @classmethod
    def from_row(cls, row: CrawlRun, platform: str, resumed: bool = False) -> CrawlRunSummary:
        return cls(run_id=row.id, platform=platform, status=row.status, full=row.full,
                   resumed=resumed, pages=row.pages, items=row.items,
                   new_listings=row.new_listings, changed_listings=row.changed_listings,
                   removed_listings=row.removed_listings, rejected_items=row.rejected_items,
                   errors=dict(row.errors or {}), started_at=row.started_at,
                   finished_at=row.finished_at, bounds=row.bounds)


class CrawlSession:
    """The shared state of one crawl (one per spider)."""

    def __init__(self, db: Database, settings: Settings, profile: Profile, *, run_id: int,
                 full: bool, resumed: bool, job_key: str | None,
                 batch_size: int = 200) -> None:
        self.db = db
        self.settings = settings
        self.profile = profile
        self.run_id = run_id
        self.full = full
        self.resumed = resumed
        self.job_key = job_key
        self.batch_size = batch_size
        self.runs = CrawlRuns(db)
        #: Counts not yet written: the writer takes them with its next batch.
        self.counters = RunCounters()
        self._writer: ListingWriter | None = None
        self.seen_urls: set[str] = seen_in_run(db, profile.code, run_id) if resumed else set()
        self.removed: list[str] = []
        self.removal_errors = 0
        #: Why the crawl is not complete enough to judge removals ("" = it is).
        self.incomplete = ""
        #: The bound that stopped the crawl (crawlers.bounds), if one did.
        self.stopped_by: str | None = None
        #: The run as it ended (set by the storage pipeline when the crawl closes).
        self.result: CrawlRunSummary | None = None

    @classmethod
    def open(cls, platform: str, *, settings: Settings, db: Database | None = None,
             base_url: str | None = None, full: bool = True, job_key: str | None = None,
             batch_size: int = 200, bounds: dict[str, Any] | None = None) -> CrawlSession:
        """Load the platform's profile and open (or resume) its crawl run.

        *bounds* (``max_pages``, ``max_duration``, ``products_only``; None values keep the
        profile's) bound this crawl beyond what the profile says."""
        db = db or Database.open(settings=settings)
        with db.session() as s:
            profile = load_profile(s, platform, base_url)
        if bounds:
            profile = profile.model_copy(
                update={"limits": with_bounds(profile.limits, **bounds)})
        key = job_key if job_key is not None else f"local:{platform}"
        run_id, resumed = CrawlRuns(db, settings).open(platform, full=full, job_key=key)
        if resumed:
            log.warning("resuming crawl run %s of %s", run_id, platform)
        return cls(db, settings, profile, run_id=run_id, full=full, resumed=resumed,
                   job_key=key, batch_size=batch_size)

    # -- counting ---------------------------------------------------------------------------

    @property
    def writer(self) -> ListingWriter:
        """The crawl's batched writer (only while the storage pipeline has it open)."""
        if self._writer is None:
            raise RuntimeError("the crawl's storage is not open (crawlers.storage.StorePipeline)")
        return self._writer

    @property
    def writing(self) -> bool:
        """Whether the storage is open (it closes before the crawl's end is judged)."""
        return self._writer is not None

    def use_writer(self, writer: ListingWriter | None) -> None:
        """The storage pipeline opens (or, with None, closes) the crawl's writer."""
        self._writer = writer

    def started_at(self) -> dt.datetime:
        """When the crawl run started (aware UTC): the one clock of its time bound
        (crawlers.bounds) for every worker of a shared crawl, however late it joins, and for a
        run resumed after a kill."""
        with self.db.session() as s:
            row = s.get(CrawlRun, self.run_id)
            assert row is not None
            return as_utc(row.started_at)

    def page(self) -> None:
        self.counters.pages += 1

    def errors_total(self) -> dict[str, int]:
        """Errors of this crawl so far (flushed and pending)."""
        with self.db.session() as s:
            row = s.get(CrawlRun, self.run_id)
            flushed = dict(row.errors or {}) if row is not None else {}
        for key, value in self.counters.errors.items():
            flushed[key] = flushed.get(key, 0) + value
        return flushed

    def error(self, kind: str) -> None:
        self.counters.errors[kind] += 1

    def reject(self, reason: str) -> None:
        self.counters.rejected_items += 1
        self.counters.errors[f"rejected:{reason}"] += 1

    def removal_checked(self, check: RemovalCheck) -> None:
        if check.outcome == "removed":
            self.removed.append(check.external_id)
            if len(self.removed) >= 200:
                self.flush_removed()
        else:
            self.removal_errors += 1

    def flush_removed(self) -> None:
        ids, self.removed = self.removed, []
        self.writer.confirm_removed(ids)

    # -- the end ----------------------------------------------------------------------------

    def finish(self, status: str, stats: dict[str, Any]) -> CrawlRunSummary:
        """Finish the run row (status, end, stats, bounds; its lease released) once every
        batch is written, and return its summary."""
        self.runs.finish(self.run_id, status, stats)
        with self.db.session() as s:
            row = s.get(CrawlRun, self.run_id)
            assert row is not None
            bounds = bounds_of(self.profile.limits)
            if bounds is not None:
                row.bounds = {**bounds, "stopped_by": self.stopped_by}
                s.flush()
            return CrawlRunSummary.from_row(row, self.profile.code, self.resumed)

    def summary(self) -> CrawlRunSummary:
        with self.db.session() as s:
            row = s.get(CrawlRun, self.run_id)
            assert row is not None
            return CrawlRunSummary.from_row(row, self.profile.code, self.resumed)
