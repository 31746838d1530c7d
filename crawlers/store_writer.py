"""Writing crawl results to the store: batched, idempotent upserts of listings and sellers.

Idempotency is what makes crawls resumable and shareable: a listing is keyed by (platform,
external id), a seller likewise, and writing the same content twice changes nothing but
``last_seen``.  A listing snapshot is written only when the content hash changes, so the
snapshot table is the listing's history, not a log of visits.  Run counters are added to the
crawl run row (``pages = pages + n``) in the batch's own transaction, so that several
workers, or a crawl resumed after a kill, add up into one run; the run row itself (opening,
taking over, fencing, finishing) is :mod:`crawlers.crawl_runs`'.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from crawlers.crawl_runs import CrawlRuns, RunCounters, RunOwner, platform_id, seen_in_run
from crawlers.items import ListingItem, SellerItem
from crawlers.normalise import content_hash
from store.db import Database
from store.filings import resolve_pending
from store.gtin import normalise_gtin
from store.images import Photo, listing_photo_urls, set_listing_photos
from store.models import (
    Listing,
    ListingSnapshot,
    ListingStatus,
    Sector,
    Seller,
    SupervisionClass,
    utcnow,
)
from store.prn import permanent_random_number
from store.settings import Settings
from store.text import formatted_strings

log = logging.getLogger(__name__)

#: The tables behind the models, for Core statements (no ORM bookkeeping per row); the
#: column keys are the attribute names and the Python-side defaults are the columns'.
_LISTINGS: Any = Listing.__table__
_SNAPSHOTS: Any = ListingSnapshot.__table__
_SELLERS: Any = Seller.__table__

#: Fields whose change makes a new listing snapshot (the URL's host is not content).
CONTENT_FIELDS = ("title", "brand", "model", "price", "currency", "seller", "category",
                  "origin", "cert_marks", "images", "status", "availability", "gtin")


def _path_only(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def listing_content(item: ListingItem, status: str = ListingStatus.ACTIVE.value
                    ) -> dict[str, Any]:
    """The content of a listing that a snapshot records and the hash covers."""
    content: dict[str, Any] = {
        "title": item.title, "brand": item.brand, "model": item.model,
        "price": None if item.price is None else str(item.price), "currency": item.currency,
        "seller": item.seller_external_id, "category": item.category, "origin": item.origin,
        "cert_marks": sorted(item.cert_marks), "images": [_path_only(u) for u in item.image_urls],
        "status": status,
    }
    if item.availability is not None:
        # Only when the page says it: listings stored before availability was read keep
        # their content hash (no snapshot for a field that merely became known).
        content["availability"] = item.availability
    if item.gtin is not None:
        # Likewise: a GTIN is identity (a changed barcode is a changed listing), but a
        # listing whose page never showed one keeps its hash.
        content["gtin"] = item.gtin
    original = formatted_strings(item.raw)
    if original:
        # The stored text has its bidi controls and other invisible format characters
        # removed (store.text); the page's own strings that held them are kept here, so the
        # listing's history shows what the page really said.  Only such listings carry it.
        content["original"] = original
    return content


class ListingWriter:
    """Buffers items and writes them in batches to the store, for one platform and run.

    With ``background=True`` full batches are written by a thread of the writer's own, fed
    by a bounded queue (two batches), so the crawl goes on parsing while SQLite or
    PostgreSQL works; :meth:`flush` (and everything that reads what was written) waits for
    the queue to drain.  The counts of a batch travel with it and are added to the run row by
    whoever writes the batch.  A failed write is raised again in the crawl's thread.
    """

    def __init__(self, db: Database, platform_code: str, run_id: int, settings: Settings,
                 batch_size: int = 200, background: bool = False,
                 owner: RunOwner | None = None, counters: RunCounters | None = None) -> None:
        self.db = db
        self.platform_code = platform_code
        self.run_id = run_id
        #: The lease under which this writer may write the run (None: shared or unleased).
        self.owner = owner if owner is not None else CrawlRuns.owner(run_id, db)
        self.settings = settings
        self.batch_size = batch_size
        #: Counts to write with the next batch (the crawl session's, when it gives them).
        self.counters = counters if counters is not None else RunCounters()
        self.runs = CrawlRuns(db)
        self.max_age = 2.0
        self._last_flush = time.monotonic()
        self._listings: dict[str, ListingItem] = {}
        self._sellers: dict[str, SellerItem] = {}
        #: The counts of the batch being written (the writer thread's, or this thread's).
        self._counting = RunCounters()
        self._queue: queue.Queue[tuple[list[SellerItem], list[ListingItem], RunCounters]
                                 | None] = queue.Queue(maxsize=2)
        self._failure: BaseException | None = None
        self._lost = RunCounters()
        #: Seller ids by external id, as this writer found or inserted them.
        self._seller_ids: dict[str, int] = {}
        self._seller_ids_pending: dict[str, int] = {}
        #: Sellers that appeared in this batch (new, or with a new listing): pending platform
        #: submissions may name them.
        self._appeared: set[int] = set()
        self._thread: threading.Thread | None = None
        with db.session() as s:
            self.platform_id = platform_id(s, platform_code)
        if background:
            self._thread = threading.Thread(target=self._work, name="spotcheck-store-writer",
                                            daemon=True)
            self._thread.start()

    # -- buffering --------------------------------------------------------------------------

    def add_listing(self, item: ListingItem) -> None:
        self._listings[item.external_id] = item
        self._maybe_flush(len(self._listings))

    def add_seller(self, item: SellerItem) -> None:
        self._sellers[item.external_id] = item
        self._maybe_flush(len(self._sellers))

    def _maybe_flush(self, size: int) -> None:
        # By size for throughput, by age so a killed crawl loses at most a few seconds.
        if size >= self.batch_size or time.monotonic() - self._last_flush > self.max_age:
            self.flush(wait=False)

    def flush(self, wait: bool = True) -> None:
        """Write what is buffered, in one transaction, then add the counters to the run.

        In the background the batch is queued (blocking while two are waiting); *wait*
        returns only once every queued batch is written."""
        self._last_flush = time.monotonic()
        batch = (list(self._sellers.values()), list(self._listings.values()),
                 self.counters.take())
        self._sellers.clear()
        self._listings.clear()
        if self._thread is None:
            self._write(batch)
            return
        self._raise_failure()
        self._queue.put(batch)
        if wait:
            self._queue.join()
            self._raise_failure()

    def close(self) -> None:
        """Write what is left and stop the writer thread."""
        try:
            self.flush()
        finally:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._thread = None

    def _raise_failure(self) -> None:
        failure, self._failure = self._failure, None
        if failure is not None:
            # The failed batch's page and error counts are counted again with the next one.
            lost, self._lost = self._lost, RunCounters()
            for name in ("pages", "rejected_items", "removed_listings"):
                setattr(self.counters, name, getattr(self.counters, name) + getattr(lost, name))
            self.counters.errors.update(lost.errors)
            raise failure

    def _work(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                self._write(batch)
            except BaseException as exc:  # handed to the crawl's thread
                log.error("store writer: %s", exc)
                if batch is not None:
                    self._lost = batch[2]
                self._failure = exc
            finally:
                self._queue.task_done()

    def _write(self, batch: tuple[list[SellerItem], list[ListingItem], RunCounters]) -> None:
        sellers, listings, counters = batch
        self._counting = counters
        self._seller_ids_pending = {}
        self._appeared = set()
        if not (sellers or listings or counters.any()):
            return
        # One transaction: the batch, its counts on the run row, and the check that this
        # crawl still owns the run.  A kill at any moment leaves both or neither.
        with self.db.session() as s:
            self.runs.fence(s, self.run_id, self.owner)
            if sellers:
                self._write_sellers(s, sellers)
            if listings:
                self._write_listings(s, listings)
            if self._appeared:
                # a platform's submission imported before these sellers (or their listings)
                # were crawled names them now: store.filings applies it, as the import would
                resolve_pending(s, sorted(self._appeared), actor=f"crawl run {self.run_id}")
            self.runs.add(self.run_id, counters, session=s)
        self._seller_ids.update(self._seller_ids_pending)
        counters.__dict__.update(RunCounters().__dict__)

    # -- sellers ----------------------------------------------------------------------------

    def _insert(self, session: Session) -> Any:
        return postgresql.insert if session.get_bind().dialect.name == "postgresql" \
            else sqlite.insert

    def _ensure_sellers(self, s: Session, ext_ids: Iterable[str],
                        names: dict[str, str], urls: dict[str, str | None]) -> dict[str, int]:
        """Seller ids for *ext_ids*, inserting bare rows for new ones (race-free upsert).

        Ids already known to this writer are not looked up again (a seller row is never
        deleted or re-keyed), so a batch whose sellers are all known costs no statement."""
        wanted = sorted(set(ext_ids))
        if not wanted:
            return {}
        # Found in this transaction: known for good once it commits (see _write).
        known = self._seller_ids_pending
        known.update((e, self._seller_ids[e]) for e in wanted if e in self._seller_ids)
        missing = [e for e in wanted if e not in known]
        if missing:
            known.update(self._lookup_sellers(s, missing))
            new = [e for e in missing if e not in known]
            if new:
                now = utcnow()
                rows: list[dict[str, Any]] = [
                    {"platform_id": self.platform_id, "external_id": e,
                     "name": names.get(e, ""), "url": urls.get(e), "contacts": {},
                     "first_seen": now, "last_seen": now} for e in new]
                s.execute(self._insert(s)(_SELLERS).on_conflict_do_nothing(
                    index_elements=["platform_id", "external_id"]), rows)
                known.update(self._lookup_sellers(s, new))
                self._appeared.update(known[e] for e in new if e in known)
        return {e: known[e] for e in wanted if e in known}

    def _lookup_sellers(self, s: Session, ext_ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(ext_ids), 500):
            found.update((e, i) for e, i in s.execute(select(Seller.external_id, Seller.id).where(
                Seller.platform_id == self.platform_id,
                Seller.external_id.in_(ext_ids[start:start + 500]))))
        return found

    def _write_sellers(self, s: Session, items: list[SellerItem]) -> None:
        ids = self._ensure_sellers(s, (i.external_id for i in items),
                                   {i.external_id: i.name for i in items},
                                   {i.external_id: i.url for i in items})
        now = utcnow()
        for item in items:
            values: dict[str, Any] = {"last_seen": now}
            if item.name:
                values["name"] = item.name
            if item.url:
                values["url"] = item.url
            # A page showing no number is no evidence that there is none: it does not clear
            # one the page showed before or a platform submitted (store.filings).
            if item.filing_number:
                values["filing_number"] = item.filing_number
            if item.licence_number:
                values["licence_number"] = item.licence_number
            values["contacts"] = item.contacts
            s.execute(update(Seller).where(Seller.id == ids[item.external_id]).values(**values))

    # -- listings ---------------------------------------------------------------------------

    def _write_listings(self, s: Session, items: list[ListingItem]) -> None:
        seller_ids = self._ensure_sellers(
            s, (i.seller_external_id for i in items if i.seller_external_id),
            {i.seller_external_id: i.seller_name or "" for i in items if i.seller_external_id},
            {i.seller_external_id: i.seller_url for i in items if i.seller_external_id})
        now = utcnow()
        prepared = [(item, *self._content(item)) for item in items]
        existing = self._existing(s, [i.external_id for i in items])
        fresh = [p for p in prepared if p[0].external_id not in existing]
        if fresh:
            # Another worker may insert the same listing at the same moment: what it
            # inserted first is then handled as an existing listing below.
            inserted = self._insert_new(s, fresh, seller_ids, now)
            late = [p[0].external_id for p in fresh if p[0].external_id not in inserted]
            if late:
                existing.update(self._existing(s, late))
        unchanged: list[int] = []
        changed: list[tuple[int, ListingItem, dict[str, Any], str]] = []
        for item, content, digest in prepared:
            self._counting.items += 1
            row = existing.get(item.external_id)
            if row is None:
                continue  # inserted just now
            if row.content_hash == digest and row.status == ListingStatus.ACTIVE:
                unchanged.append(row.id)
            else:
                changed.append((row.id, item, content, digest))
        if unchanged:
            for start in range(0, len(unchanged), 500):
                s.execute(update(Listing).where(Listing.id.in_(unchanged[start:start + 500]))
                          .values(last_seen=now, last_crawl_run_id=self.run_id))
        if changed:
            self._write_changes(s, changed, seller_ids, now)
        s.flush()
        with_photos = [i for i in items if i.photos is not None]
        if with_photos:
            self._write_photos(s, with_photos)

    def _write_photos(self, s: Session, items: list[ListingItem]) -> None:
        """Link the photos the crawl fetched to their listings (store.images)."""
        ids = {e: row.id for e, row in self._existing(s, [i.external_id for i in items]).items()}
        for item in items:
            listing_id = ids.get(item.external_id)
            if listing_id is not None and item.photos is not None:
                set_listing_photos(s, listing_id, [Photo.from_dict(p) for p in item.photos])

    def stored_photo_urls(self, external_id: str) -> list[str]:
        """The photo URLs stored for a listing of this platform (empty: none or new)."""
        with self.db.session() as s:
            listing_id = s.scalar(select(Listing.id).where(
                Listing.platform_id == self.platform_id, Listing.external_id == external_id))
            return [] if listing_id is None else listing_photo_urls(s, listing_id)

    @staticmethod
    def _content(item: ListingItem) -> tuple[dict[str, Any], str]:
        content = listing_content(item)
        return content, content_hash(content)

    def _existing(self, s: Session, external_ids: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for start in range(0, len(external_ids), 500):
            found.update((row.external_id, row) for row in s.execute(
                select(Listing.id, Listing.external_id, Listing.content_hash, Listing.status)
                .where(Listing.platform_id == self.platform_id,
                       Listing.external_id.in_(external_ids[start:start + 500]))))
        return found

    def _insert_new(self, s: Session,
                    fresh: list[tuple[ListingItem, dict[str, Any], str]],
                    seller_ids: dict[str, int], now: dt.datetime) -> set[str]:
        """Insert new listings and their first snapshots: two multi-row statements on the
        tables (the ORM's unit of work cost more per listing than parsing its page, and its
        bulk insert still a quarter of the write).  Returns the external ids this call
        inserted."""
        rows = [{"platform_id": self.platform_id, "external_id": item.external_id,
                 "prn": permanent_random_number(self.platform_code, item.external_id),
                 "first_seen": now, **self._fields(item, seller_ids, digest, now)}
                for item, _, digest in fresh]
        insert = self._insert(s)
        ids: dict[str, int] = {}
        for start in range(0, len(rows), 500):
            result = s.execute(
                insert(_LISTINGS).on_conflict_do_nothing(
                    index_elements=["platform_id", "external_id"])
                .returning(_LISTINGS.c.external_id, _LISTINGS.c.id),
                rows[start:start + 500])
            ids.update((e, i) for e, i in result)
        self._appeared.update(seller_ids[item.seller_external_id] for item, _, _ in fresh
                              if item.external_id in ids and item.seller_external_id
                              in seller_ids)
        snapshots = [{"listing_id": ids[item.external_id], "version": 1,
                      "crawl_run_id": self.run_id, "seen_at": now, "content_hash": digest,
                      "changes": ["created"], "data": content}
                     for item, content, digest in fresh if item.external_id in ids]
        if snapshots:
            s.execute(sa_insert(_SNAPSHOTS), snapshots)
        self._counting.new_listings += len(ids)
        return set(ids)

    def _write_changes(self, s: Session,
                       changed: list[tuple[int, ListingItem, dict[str, Any], str]],
                       seller_ids: dict[str, int], now: dt.datetime) -> None:
        ids = [c[0] for c in changed]
        versions = dict(s.execute(
            select(ListingSnapshot.listing_id, func.max(ListingSnapshot.version))
            .where(ListingSnapshot.listing_id.in_(ids)).group_by(ListingSnapshot.listing_id)
        ).all())
        previous: dict[int, dict[str, Any]] = dict(s.execute(
            select(ListingSnapshot.listing_id, ListingSnapshot.data)
            .where(ListingSnapshot.listing_id.in_(ids))
            .where(ListingSnapshot.version == _max_version_subquery())
        ).all())
        for listing_id, item, content, digest in changed:
            old = previous.get(listing_id) or {}
            diff = [k for k in CONTENT_FIELDS if old.get(k) != content.get(k)] or ["content"]
            s.execute(update(Listing).where(Listing.id == listing_id).values(
                removed_at=None, **self._fields(item, seller_ids, digest, now)))
            s.add(ListingSnapshot(listing_id=listing_id, version=versions.get(listing_id, 0) + 1,
                                  crawl_run_id=self.run_id, seen_at=now, content_hash=digest,
                                  changes=diff, data=content))
            self._counting.changed_listings += 1

    def _fields(self, item: ListingItem, seller_ids: dict[str, int], digest: str,
                now: dt.datetime) -> dict[str, Any]:
        return {
            "url": item.url, "title": item.title, "brand": item.brand, "model": item.model,
            "price": item.price, "currency": item.currency, "price_cny": self._cny(item),
            "seller_id": seller_ids.get(item.seller_external_id or ""),
            "category": item.category, "sector": Sector(item.sector),
            "supervision_class": SupervisionClass(item.supervision_class),
            "class_reasons": item.class_reasons, "origin": item.origin,
            "cert_marks": item.cert_marks, "image_urls": item.image_urls, "raw": item.raw,
            "content_hash": digest, "status": ListingStatus.ACTIVE, "last_seen": now,
            "last_crawl_run_id": self.run_id, "availability": item.availability,
            "gtin": normalise_gtin(item.gtin),
        }

    def _cny(self, item: ListingItem) -> Decimal | None:
        if item.price is None or not item.currency:
            return None
        rate = self.settings.rate_to_cny(item.currency)
        if rate is None:
            return None
        return (item.price * rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    # -- removals ---------------------------------------------------------------------------

    def seen_urls(self) -> set[str]:
        """Canonical URLs and external ids of listings already written in this run."""
        return seen_in_run(self.db, self.platform_code, self.run_id)

    def mark_unseen(self) -> list[tuple[str, str]]:
        """After a full crawl: listings this run did not see become possibly removed.

        Returns their (external id, URL), to be re-fetched for confirmation.
        """
        self.flush()
        with self.db.session() as s:
            cond = (Listing.platform_id == self.platform_id,
                    Listing.status != ListingStatus.REMOVED,
                    (Listing.last_crawl_run_id.is_(None))
                    | (Listing.last_crawl_run_id != self.run_id))
            rows = s.execute(select(Listing.external_id, Listing.url).where(*cond)).all()
            s.execute(update(Listing).where(*cond).values(status=ListingStatus.POSSIBLY_REMOVED))
        return [(e, u) for e, u in rows]

    def confirm_removed(self, external_ids: Iterable[str]) -> int:
        """Mark listings removed (a re-fetch found them gone) with a status snapshot each;
        the marks and the run's counts commit in one transaction."""
        ids = list(external_ids)
        if not ids:
            return 0
        now = utcnow()
        done = 0
        try:
            with self.db.session() as s:
                self.runs.fence(s, self.run_id, self.owner)
                rows = s.scalars(select(Listing).where(
                    Listing.platform_id == self.platform_id, Listing.external_id.in_(ids),
                    Listing.status != ListingStatus.REMOVED)).all()
                versions = dict(s.execute(
                    select(ListingSnapshot.listing_id, func.max(ListingSnapshot.version))
                    .where(ListingSnapshot.listing_id.in_([r.id for r in rows]))
                    .group_by(ListingSnapshot.listing_id)).all())
                for row in rows:
                    last = s.scalar(select(ListingSnapshot.data).where(
                        ListingSnapshot.listing_id == row.id,
                        ListingSnapshot.version == versions.get(row.id, 0)))
                    data = {**(last or {}), "status": ListingStatus.REMOVED.value}
                    row.status = ListingStatus.REMOVED
                    row.removed_at = now
                    row.content_hash = content_hash(data)
                    s.add(ListingSnapshot(listing_id=row.id,
                                          version=versions.get(row.id, 0) + 1,
                                          crawl_run_id=self.run_id, seen_at=now,
                                          content_hash=row.content_hash, changes=["status"],
                                          data=data))
                    done += 1
                self.counters.removed_listings += done
                self.runs.add(self.run_id, self.counters, session=s)
        except BaseException:
            self.counters.removed_listings -= done
            raise
        self.counters.__dict__.update(RunCounters().__dict__)
        return done


def _max_version_subquery() -> Any:
    inner = ListingSnapshot.__table__.alias("latest")
    return (select(func.max(inner.c.version))
            .where(inner.c.listing_id == ListingSnapshot.listing_id)
            .scalar_subquery())


def note_availability(s: Session, listing_id: int, availability: str,
                      now: dt.datetime) -> bool:
    """Record *availability* (an Availability code) of a listing as seen outside a crawl,
    e.g. on a re-capture of its page: when it differs from the stored one the listing takes
    it and a snapshot naming it is written, as a crawl that read it would.  Returns whether
    it changed.

    Why here: the listing's history is its snapshots, written by this module; the content
    hash is updated with them, so the next crawl that reads the same availability sees no
    change and writes no second snapshot."""
    row = s.get(Listing, listing_id)
    if row is None or row.availability == availability:
        return False
    last = s.scalar(select(ListingSnapshot).where(ListingSnapshot.listing_id == listing_id)
                    .order_by(ListingSnapshot.version.desc()).limit(1))
    data = {**(last.data if last is not None and isinstance(last.data, dict) else {}),
            "availability": availability}
    row.availability = availability
    row.content_hash = content_hash(data)
    s.add(ListingSnapshot(listing_id=listing_id,
                          version=(last.version if last is not None else 0) + 1,
                          crawl_run_id=None, seen_at=now, content_hash=row.content_hash,
                          changes=["availability"], data=data))
    return True
