"""Cases and traceability: a failed sample or a lead becomes a case for the platform's bureau.

Platforms are supervised by the bureau where the platform company sits (属地管理), so a case
names that bureau (from ``Platform.jurisdiction_bureau``), links the listing, seller, platform
and the captures that document them, and records what was notified to the bureau and which
measures were taken (interview, rectification order, risk warning, takedown, return,
destruction, recall), with dates and outcomes.  Opening a case for the same failed sample, or
the same listing and kind, twice finds the first one: jobs that open cases can be re-run.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.errors import Conflict, InvalidInput, NotFound
from store.labels import label
from store.models import (
    AuditEvent,
    Capture,
    Case,
    CaseStatus,
    Listing,
    Measure,
    MeasureKind,
    Notification,
    Platform,
    Purchase,
    Sample,
    Seller,
    utcnow,
)

CASE_KINDS = ("failed_sample", "counterfeit", "prohibited", "recall")


@dataclass(frozen=True)
class CaseLinks:
    """What a case is about, resolved from whichever link was given."""

    listing: Listing | None
    seller: Seller | None
    platform: Platform | None
    sample: Sample | None
    purchase: Purchase | None


def _resolve(session: Session, *, listing_id: int | None, sample_id: int | None,
             seller_id: int | None, platform_id: int | None) -> CaseLinks:
    sample = purchase = None
    if sample_id is not None:
        sample = session.get(Sample, sample_id)
        if sample is None:
            raise NotFound("cases.sample", sample_id=sample_id)
        purchase = session.get(Purchase, sample.purchase_id)
        if purchase is not None and listing_id is None:
            listing_id = purchase.plan_item.listing_id
    listing = None
    if listing_id is not None:
        listing = session.get(Listing, listing_id)
        if listing is None:
            raise NotFound("cases.listing", listing_id=listing_id)
        seller_id = seller_id or listing.seller_id
        platform_id = platform_id or listing.platform_id
    seller = session.get(Seller, seller_id) if seller_id is not None else None
    if seller_id is not None and seller is None:
        raise NotFound("cases.seller", seller_id=seller_id)
    if seller is not None and platform_id is None:
        platform_id = seller.platform_id
    platform = session.get(Platform, platform_id) if platform_id is not None else None
    if platform_id is not None and platform is None:
        raise NotFound("cases.platform", platform_id=platform_id)
    return CaseLinks(listing, seller, platform, sample, purchase)


def _audit(session: Session, actor: str, action: str, case: Case, **detail: Any) -> None:
    session.add(AuditEvent(actor=actor, action=action, object_type="case",
                           object_id=str(case.id), detail=detail))


def open_case(session: Session, kind: str, *, listing_id: int | None = None,
              sample_id: int | None = None, seller_id: int | None = None,
              platform_id: int | None = None, title: str | None = None, summary: str = "",
              capture_ids: list[int] | None = None, actor: str = "system",
              at: dt.datetime | None = None) -> Case:
    """Open a case (or return the open one for the same sample, or listing and kind)."""
    if kind not in CASE_KINDS:
        raise InvalidInput("cases.case_kind_one", join_case_kinds=', '.join(CASE_KINDS))
    links = _resolve(session, listing_id=listing_id, sample_id=sample_id, seller_id=seller_id,
                     platform_id=platform_id)
    if links.listing is None and links.seller is None and links.platform is None:
        raise InvalidInput("cases.case_needs_listing_sample_seller")
    existing = None
    if links.sample is not None:
        existing = session.scalar(select(Case).where(Case.sample_id == links.sample.id))
    elif links.listing is not None:
        existing = session.scalar(select(Case).where(
            Case.listing_id == links.listing.id, Case.kind == kind,
            Case.status != CaseStatus.CLOSED))
    if existing is not None:
        return existing
    at = at or utcnow()
    if title is None:
        subject = links.listing.title[:200] if links.listing else (
            links.seller.name if links.seller else links.platform.name if links.platform else "")
        # The kind has its own (translated) column everywhere: a raw code in the title
        # ("failed_sample: …") is what a reader of the half-year report should never see.
        title = subject or kind
    case = Case(
        number=f"tmp-{uuid.uuid4().hex}", kind=kind, title=title, summary=summary,
        listing_id=links.listing.id if links.listing else None,
        seller_id=links.seller.id if links.seller else None,
        platform_id=links.platform.id if links.platform else None,
        sample_id=links.sample.id if links.sample else None,
        jurisdiction_bureau=links.platform.jurisdiction_bureau if links.platform else "",
        opened_by=actor, opened_at=at,
    )
    session.add(case)
    session.flush()
    case.number = f"SC-{at:%Y}-{case.id:05d}"
    linked = _link_captures(session, case, links, capture_ids or [])
    _audit(session, actor, "case.open", case, kind=kind, captures=linked)
    session.flush()
    return case


def _link_captures(session: Session, case: Case, links: CaseLinks, ids: list[int]) -> list[int]:
    """Attach the given captures, and those of the listing and purchase not yet in a case."""
    linked: list[int] = []
    for cid in ids:
        cap = session.get(Capture, cid)
        if cap is None:
            raise NotFound("cases.capture", cid=cid)
        if cap.case_id not in (None, case.id):
            raise Conflict("cases.capture_already_belongs_case", cid=cid, cap_case_id=cap.case_id)
        cap.case_id = case.id
        linked.append(cid)
    conditions = []
    if links.listing is not None:
        conditions.append(Capture.listing_id == links.listing.id)
    if links.purchase is not None:
        conditions.append(Capture.purchase_id == links.purchase.id)
    for cond in conditions:
        for cap in session.scalars(select(Capture).where(cond, Capture.case_id.is_(None))):
            cap.case_id = case.id
            linked.append(cap.id)
    return sorted(set(linked))


def get_case(session: Session, case: int | str) -> Case:
    """A case by id or number."""
    if isinstance(case, int) or str(case).isdigit():
        row = session.get(Case, int(case))
    else:
        row = session.scalar(select(Case).where(Case.number == case))
    if row is None:
        raise NotFound("cases.case", case=case)
    return row


def notify(session: Session, case: int | str, *, content: str = "", channel: str = "letter",
           reference: str | None = None, bureau: str | None = None, actor: str = "system",
           at: dt.datetime | None = None) -> Notification:
    """Record that the risk was notified to the jurisdiction bureau (default: the case's)."""
    row = get_case(session, case)
    if row.status == CaseStatus.CLOSED:
        raise Conflict("cases.case_closed", row_number=row.number)
    target = (bureau or row.jurisdiction_bureau).strip()
    if not target:
        raise InvalidInput("cases.case_platform_has_jurisdiction_bureau", row_number=row.number)
    note = Notification(case_id=row.id, bureau=target, channel=channel, reference=reference,
                        content=content, sent_at=at or utcnow(), by=actor)
    session.add(note)
    if row.status == CaseStatus.OPEN:
        row.status = CaseStatus.NOTIFIED
    session.flush()
    _audit(session, actor, "case.notify", row, bureau=target, notification=note.id)
    return note


def acknowledge(session: Session, notification_id: int, *, at: dt.datetime | None = None,
                actor: str = "system") -> Notification:
    note = session.get(Notification, notification_id)
    if note is None:
        raise NotFound("cases.notification", notification_id=notification_id)
    note.acknowledged_at = at or utcnow()
    _audit(session, actor, "case.acknowledged", note.case, notification=note.id)
    return note


def parse_measure(kind: str) -> MeasureKind:
    try:
        return MeasureKind(kind)
    except ValueError:
        raise InvalidInput("cases.measure_one",
                           kinds=', '.join(m.value for m in MeasureKind)) from None


def add_measure(session: Session, case: int | str, kind: str | MeasureKind, *,
                due: dt.date | None = None, outcome: str | None = None,
                done_at: dt.datetime | None = None, actor: str = "system",
                at: dt.datetime | None = None) -> Measure:
    """Record a measure ordered in the case (done now if *done_at* or *outcome* is given)."""
    row = get_case(session, case)
    if row.status == CaseStatus.CLOSED:
        raise Conflict("cases.case_closed_2", row_number=row.number)
    mk = kind if isinstance(kind, MeasureKind) else parse_measure(kind)
    at = at or utcnow()
    measure = Measure(case_id=row.id, kind=mk, ordered_at=at, due=due, outcome=outcome,
                      done_at=done_at or (at if outcome else None), by=actor)
    session.add(measure)
    row.status = CaseStatus.MEASURES
    session.flush()
    _audit(session, actor, "case.measure", row, kind=mk.value, measure=measure.id)
    return measure


def complete_measure(session: Session, measure_id: int, outcome: str, *,
                     done_at: dt.datetime | None = None, actor: str = "system") -> Measure:
    m = session.get(Measure, measure_id)
    if m is None:
        raise NotFound("cases.measure", measure_id=measure_id)
    m.outcome = outcome
    m.done_at = done_at or utcnow()
    _audit(session, actor, "case.measure_done", m.case, measure=m.id)
    return m


def close_case(session: Session, case: int | str, *, summary: str | None = None,
               actor: str = "system", at: dt.datetime | None = None) -> Case:
    """Close a case; measures still without an outcome block closing."""
    row = get_case(session, case)
    if row.status == CaseStatus.CLOSED:
        return row
    pending = [m.kind.value for m in row.measures if m.done_at is None]
    if pending:
        raise Conflict("cases.case_has_measures_without_outcome", row_number=row.number,
                       join_pending=', '.join(pending))
    row.status = CaseStatus.CLOSED
    row.closed_at = at or utcnow()
    if summary:
        row.summary = summary
    _audit(session, actor, "case.close", row)
    return row


def list_cases(session: Session, *, status: str | None = None, platform_id: int | None = None,
               kind: str | None = None) -> list[Case]:
    q = select(Case).order_by(Case.opened_at.desc(), Case.id.desc())
    if status:
        q = q.where(Case.status == CaseStatus(status))
    if platform_id is not None:
        q = q.where(Case.platform_id == platform_id)
    if kind:
        q = q.where(Case.kind == kind)
    return list(session.scalars(q))


def case_summary(case: Case) -> dict[str, Any]:
    return {"id": case.id, "number": case.number, "kind": case.kind, "title": case.title,
            "status": case.status.value, "bureau": case.jurisdiction_bureau,
            "listing_id": case.listing_id, "seller_id": case.seller_id,
            "platform_id": case.platform_id, "sample_id": case.sample_id,
            "opened_at": case.opened_at, "opened_by": case.opened_by,
            "closed_at": case.closed_at}


def case_detail(session: Session, case: int | str) -> dict[str, Any]:
    """Everything about a case: links, captures, notifications and measures."""
    row = get_case(session, case)
    out = case_summary(row)
    out["summary"] = row.summary
    listing = session.get(Listing, row.listing_id) if row.listing_id else None
    out["listing"] = ({"id": listing.id, "url": listing.url, "title": listing.title,
                       "external_id": listing.external_id} if listing else None)
    seller = session.get(Seller, row.seller_id) if row.seller_id else None
    out["seller"] = {"id": seller.id, "name": seller.name} if seller else None
    platform = session.get(Platform, row.platform_id) if row.platform_id else None
    out["platform"] = ({"id": platform.id, "code": platform.code, "name": platform.name,
                        "company": platform.company_name} if platform else None)
    out["captures"] = [{"id": c.id, "kind": c.kind, "url": c.url, "started_at": c.started_at,
                        "manifest_sha256": c.manifest_sha256}
                       for c in session.scalars(select(Capture).where(Capture.case_id == row.id)
                                                .order_by(Capture.id))]
    out["notifications"] = [{"id": n.id, "bureau": n.bureau, "sent_at": n.sent_at,
                             "channel": n.channel, "reference": n.reference,
                             "content": n.content, "acknowledged_at": n.acknowledged_at,
                             "by": n.by} for n in row.notifications]
    out["measures"] = [{"id": m.id, "kind": m.kind.value, "name_zh": label(MeasureKind, m.kind, "zh-CN"),
                        "name_en": label(MeasureKind, m.kind, "en"), "ordered_at": m.ordered_at,
                        "due": m.due, "done_at": m.done_at, "outcome": m.outcome, "by": m.by}
                       for m in row.measures]
    return out
