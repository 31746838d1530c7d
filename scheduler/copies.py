"""A lead case about one listing of a product holds the captures of every copy of it (issue 25).

Why: a counterfeit-like copy of a failed product is rarely sold once; the case about one
listing must show the bureau every other listing of the same product (any platform, any
seller) as it was offered when the case was opened, before sellers take them down.  Opening
such a case queues a ``copies`` run in the case's own transaction (``JobContext.enqueue``:
scheduler.runs.enqueue, started at once by scheduler.runs.queue_run, recorded in ``job_run``
like the ``offers`` captures of an approval) that captures each other listing of the case's product
cluster (sampler.products) with the case's id, so the captures are the case's evidence, and
records which listings of which cluster they are.  The job is idempotent: a listing captured
for the case already is not captured again, so a second run (or the scheduled one after a
stopped console) captures only what is missing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler.offers import Target
from store.db import Database
from store.errors import NotFound
from store.models import AuditEvent, Capture, CaptureStatus, Case, Listing, ListingStatus
from store.settings import Settings

log = logging.getLogger("spotcheck.scheduler.copies")

#: What each copy's capture is for (shown to people as it is: both languages).
COPY_PURPOSE = "案件 {case} 所涉商品的同款页面 / another listing of the product of case {case}"
#: Copies one run captures at most (the rest wait for the next run).
COPIES_BATCH = 100


def copy_targets(session: Session, case_id: int, limit: int = COPIES_BATCH
                 ) -> tuple[str | None, list[Target]]:
    """(the case's product cluster, the other listings of it not captured for the case yet);
    removed listings offer nothing and are left out."""
    from sampler.products import cluster_of

    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("cases.case", case=case_id)
    if case.listing_id is None:
        return None, []
    cluster = cluster_of(session, case.listing_id)
    if cluster is None:
        return None, []
    purpose = COPY_PURPOSE.format(case=case.number)
    done = set(session.scalars(select(Capture.listing_id).where(
        Capture.case_id == case.id, Capture.purpose == purpose,
        Capture.status.in_(CaptureStatus.evidence()))))
    rows = session.execute(select(Listing.id, Listing.url).where(
        Listing.id.in_([i for i in cluster.listing_ids if i != case.listing_id]),
        Listing.status != ListingStatus.REMOVED).order_by(Listing.id)).all()
    return cluster.id, [Target(url, lid, purpose) for lid, url in rows if lid not in done][:limit]


def capture_copies(db: Database, settings: Settings, case_id: int, *,
                   actor: str = "scheduler") -> dict[str, Any]:
    """Capture every other listing of the case's product for the case (in parallel on one
    browser) and record it on the case (audit ``case.copies``)."""
    from evidence.capture import CaptureRequest, capture_many

    with db.session() as s:
        cluster, targets = copy_targets(s, case_id)
    if not targets:
        return {"_outcome": "skipped", "case": case_id, "cluster": cluster,
                "reason": "no copy left to capture"}
    requests = [CaptureRequest(url=t.url, kind="listing", listing_id=t.listing_id,
                               case_id=case_id, purpose=t.purpose) for t in targets]
    results = asyncio.run(capture_many(db, requests, operator=actor, settings=settings))
    ids = [r.capture_id for r in results]
    with db.session() as s:
        ok = set(s.scalars(select(Capture.id).where(
            Capture.id.in_(ids), Capture.status.in_(CaptureStatus.evidence()))))
        s.add(AuditEvent(actor=actor[:100], action="case.copies", object_type="case",
                         object_id=str(case_id),
                         detail={"cluster": cluster,
                                 "listings": [t.listing_id for t in targets],
                                 "captures": ids, "failed": [i for i in ids if i not in ok]}))
    return {"case": case_id, "cluster": cluster, "captured": len(ok),
            "captures": ids, "failed": [i for i in ids if i not in ok]}


def has_copies(session: Session, listing_id: int) -> bool:
    """Whether the listing's product has other listings (a case about it has copies)."""
    from sampler.products import cluster_of

    cluster = cluster_of(session, listing_id)
    return cluster is not None and len(cluster.listing_ids) > 1
