"""Evidence of what was offered: every plan item's listing is captured when its plan is
approved, and again when it is bought.

A failed sample is argued against the offer the buyer accepted (title, price, claims on the
page), and a case opened months later must not depend on the listing still being online.  So
approving a plan queues a run of the ``offers`` job (:func:`scheduler.runs.queue_run`, recorded
in ``job_run`` like every job) that captures each item's listing in parallel, on one browser
(``capture_concurrency`` at a time, at most :data:`OFFERS_BATCH` a run); a purchase recorded as
ordered gets a capture of its listing "when bought" unless the buying browser made one.  The
job is idempotent: a run finds what is already captured (by purpose, per plan and per purchase)
and captures only the rest, so the scheduled ``offers`` job (or a second run) catches up on
what a stopped console or a failed page left out.

These captures are made without any persona (a fresh browser, not logged in): they show what
any visitor was offered and go into packs unredacted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.db import Database
from store.models import (
    Capture,
    CaptureStatus,
    Listing,
    ListingStatus,
    Plan,
    PlanItem,
    PlanStatus,
    Purchase,
    PurchaseStatus,
)
from store.settings import Settings

log = logging.getLogger("spotcheck.scheduler.offers")

#: Captures one ``offers`` run makes at most (the rest wait for the next run).
OFFERS_BATCH = 200
#: Purposes (shown to people as they are: both languages) that also mark what was captured.
APPROVAL_PURPOSE = "批准抽样计划时的商品页面 / listing as offered when plan #{plan} was approved"
BOUGHT_PURPOSE = "购买时的商品页面 / listing as offered when purchase #{purchase} was bought"
#: Purchase states in which the item has been bought.
_BOUGHT = (PurchaseStatus.ORDERED, PurchaseStatus.RECEIVED, PurchaseStatus.SENT_TO_LAB,
           PurchaseStatus.RESULT, PurchaseStatus.CLOSED)


@dataclass(frozen=True)
class Target:
    """One listing to capture, and why."""

    url: str
    listing_id: int
    purpose: str
    purchase_id: int | None = None


def approval_targets(session: Session, *, plan_id: int | None = None,
                     campaign_id: int | None = None, limit: int = OFFERS_BATCH
                     ) -> list[Target]:
    """Items of approved plans (one plan, or a campaign's) whose listing has no capture
    made for that plan's approval yet; removed listings offer nothing and are left out."""
    q = (select(Plan.id, Listing.id, Listing.url).join(PlanItem, PlanItem.plan_id == Plan.id)
         .join(Listing, Listing.id == PlanItem.listing_id)
         .where(Plan.status == PlanStatus.APPROVED, Listing.status != ListingStatus.REMOVED)
         .order_by(Plan.id, PlanItem.seq))
    if plan_id is not None:
        q = q.where(Plan.id == plan_id)
    elif campaign_id is not None:
        q = q.where(Plan.campaign_id == campaign_id)
    out: list[Target] = []
    done: dict[int, set[int]] = {}
    for pid, lid, url in session.execute(q):
        if pid not in done:
            done[pid] = set(session.scalars(select(Capture.listing_id).where(
                Capture.purpose == APPROVAL_PURPOSE.format(plan=pid),
                Capture.status.in_(CaptureStatus.evidence()))))
        if lid in done[pid]:
            continue
        done[pid].add(lid)  # a listing drawn twice in one plan is captured once
        out.append(Target(url, lid, APPROVAL_PURPOSE.format(plan=pid)))
        if len(out) >= limit:
            break
    return out


def bought_targets(session: Session, *, plan_id: int | None = None,
                   campaign_id: int | None = None, purchase_ids: list[int] | None = None,
                   limit: int = OFFERS_BATCH) -> list[Target]:
    """Bought purchases (of one plan, or a campaign's) with no capture of their listing
    linked to them (the buying browser makes one; an order recorded by hand does not)."""
    q = (select(Purchase.id, Listing.id, Listing.url)
         .join(PlanItem, PlanItem.id == Purchase.plan_item_id)
         .join(Listing, Listing.id == PlanItem.listing_id)
         .where(Purchase.status.in_(_BOUGHT), Listing.status != ListingStatus.REMOVED)
         .order_by(Purchase.id))
    if plan_id is not None:
        q = q.where(PlanItem.plan_id == plan_id)
    elif campaign_id is not None:
        q = q.join(Plan, Plan.id == PlanItem.plan_id).where(Plan.campaign_id == campaign_id)
    if purchase_ids is not None:
        q = q.where(Purchase.id.in_(purchase_ids))
    have = set(session.scalars(select(Capture.purchase_id).where(
        Capture.purchase_id.is_not(None), Capture.kind == "listing",
        Capture.status.in_(CaptureStatus.evidence()))))
    out = [Target(url, lid, BOUGHT_PURPOSE.format(purchase=pid), purchase_id=pid)
           for pid, lid, url in session.execute(q) if pid not in have]
    return out[:limit]


def capture_offers(db: Database, settings: Settings, *, plan_id: int | None = None,
                   campaign_id: int | None = None, actor: str = "scheduler",
                   bought: bool = True, purchase_ids: list[int] | None = None,
                   concurrency: int | None = None, approvals: bool = True) -> dict[str, Any]:
    """Capture every offer not captured yet (approval first, then purchases, or only
    *purchase_ids*), of one plan (*plan_id*: what approving it queues) or of a campaign's
    plans (the scheduled run, which catches up on every plan), in parallel on one browser;
    returns counts and the ids made.  A page that cannot be captured is recorded as a failed
    capture and tried again by the next run.  With *approvals* false only purchases are taken
    (beside an approval run still capturing the same plan, which must not be doubled)."""
    from evidence.capture import CaptureRequest, capture_many
    from scheduler.page_reading import read_availability

    with db.session() as s:
        targets = approval_targets(s, plan_id=plan_id, campaign_id=campaign_id) \
            if approvals else []
        if bought:
            targets += bought_targets(s, plan_id=plan_id, campaign_id=campaign_id,
                                      purchase_ids=purchase_ids,
                                      limit=max(0, OFFERS_BATCH - len(targets)))
    if not targets:
        return {"_outcome": "skipped", "reason": "every offer is captured"}
    requests = [CaptureRequest(url=t.url, kind="listing", listing_id=t.listing_id,
                               purchase_id=t.purchase_id, purpose=t.purpose)
                for t in targets]
    results = asyncio.run(capture_many(db, requests, operator=actor, settings=settings,
                                       concurrency=concurrency, page_reader=read_availability))
    ids = [r.capture_id for r in results]
    with db.session() as s:
        ok = set(s.scalars(select(Capture.id).where(
            Capture.id.in_(ids), Capture.status.in_(CaptureStatus.evidence()))))
    at_approval = [i for i, t in zip(ids, targets, strict=False) if t.purchase_id is None]
    return {"captured": len(ok), "failed": [i for i in ids if i not in ok],
            "at_approval": at_approval,
            "when_bought": [i for i in ids if i not in at_approval]}
