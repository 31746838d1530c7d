"""Purchases and samples: planned → ordered → received → sent to lab → result → closed.

Every transition is checked against :data:`TRANSITIONS`, timestamped and signed with its user
in ``Purchase.history``, and each stage has a deadline so an overdue list shows what is
stuck.  A purchase task's idempotency key is ``plan:<plan id>:item:<item id>``: creating tasks
for a plan twice, from two schedulers or a retry, finds the first rows (the key is unique in
the database), so a plan item is never bought twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.rotation import (
    Assignment,
    Breach,
    KeyedOrder,
    PastOrder,
    RotationRules,
    Task,
    assign_personas,
    breaches,
)
from store import messages
from store.errors import Conflict, InvalidInput, NotFound
from store.messages import Code
from store.models import (
    Artifact,
    AuditEvent,
    BuyerPersona,
    Case,
    LabOutcome,
    LabResult,
    Listing,
    ListingStatus,
    Plan,
    PlanItem,
    PlanStatus,
    Purchase,
    PurchaseStatus,
    Sample,
    SupervisionClass,
    utcnow,
)

S = PurchaseStatus
#: Allowed transitions; anything else is a Conflict (exit code 4).
TRANSITIONS: dict[PurchaseStatus, set[PurchaseStatus]] = {
    S.PLANNED: {S.ORDERED, S.CANCELLED, S.FAILED},
    S.ORDERED: {S.RECEIVED, S.CANCELLED, S.FAILED},
    S.RECEIVED: {S.SENT_TO_LAB, S.CANCELLED},
    S.SENT_TO_LAB: {S.RESULT},
    S.RESULT: {S.CLOSED},
    S.FAILED: {S.PLANNED},
    S.CANCELLED: set(),
    S.CLOSED: set(),
}


@dataclass(frozen=True)
class StageDeadlines:
    """Days each stage may take before the purchase shows as overdue."""

    order_days: int = 14  # planned → ordered (the task's own deadline)
    receive_days: int = 15  # ordered → received
    dispatch_days: int = 3  # received → sent to lab
    lab_days: int = 20  # sent to lab → result
    close_days: int = 7  # result → closed


def idempotency_key(plan_id: int, item_id: int) -> str:
    return f"plan:{plan_id}:item:{item_id}"


def get_purchase(session: Session, purchase: int | str) -> Purchase:
    """A purchase by id or idempotency key."""
    if isinstance(purchase, int) or str(purchase).isdigit():
        row = session.get(Purchase, int(purchase))
    else:
        row = session.scalar(select(Purchase).where(Purchase.idempotency_key == purchase))
    if row is None:
        raise NotFound("purchases.purchase", purchase=purchase)
    return row


def _signing_key(session: Session) -> Any:
    """The installation key of the database's settings (``Database.open`` puts them in the
    session's info), else of the process's."""
    from evidence.steplog import installation_key
    from store.settings import get_settings

    settings = session.info.get("settings") or get_settings()
    return installation_key(settings.keys_dir)


def append_history(session: Session, p: Purchase, entry: dict[str, Any]) -> None:
    """Append *entry* to the purchase's history, hashed, linked to the entry before it and
    signed as it happens (evidence.steplog): the sample chain a pack carries is the one
    recorded, step by step.  The one way history is written."""
    from evidence.steplog import seal_entry

    p.history = [*(p.history or []), seal_entry(p.history or [], entry,
                                                _signing_key(session))]


def _transition(session: Session, p: Purchase, new: PurchaseStatus, actor: str,
                at: dt.datetime | None, note: str = "", **extra: Any) -> None:
    if new not in TRANSITIONS[p.status]:
        raise Conflict("purchases.purchase_cannot_become", p_id=p.id, p_status=p.status, new=new)
    at = at or utcnow()
    entry: dict[str, Any] = {"status": new.value, "at": at.isoformat(), "by": actor}
    if note:
        entry["note"] = note
    entry.update({k: v for k, v in extra.items() if v is not None})
    append_history(session, p, entry)
    p.status = new
    session.add(AuditEvent(actor=actor, action=f"purchase.{new.value}", object_type="purchase",
                           object_id=str(p.id), detail={"note": note} if note else {}))


def _note(session: Session, p: Purchase, actor: str, at: dt.datetime, **entry: Any) -> None:
    """A history entry that is not a status change (assignment, capture, ...)."""
    append_history(session, p, {"at": at.isoformat(), "by": actor, **entry})


# --- creating tasks ---------------------------------------------------------------------------


@dataclass
class TaskReport:
    created: list[int] = field(default_factory=list)
    existing: list[int] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    assigned: list[int] = field(default_factory=list)
    unassigned: list[tuple[int, str]] = field(default_factory=list)
    #: Rotation rules that orders on record break (see :func:`rotation_breaches`).
    flags: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "existing": self.existing, "flags": self.flags,
                "skipped": [{"plan_item": i, "reason": r} for i, r in self.skipped],
                "assigned": self.assigned,
                "unassigned": [{"purchase": i, "reason": r} for i, r in self.unassigned]}


def create_purchase_tasks(session: Session, plan_id: int, *, actor: str = "scheduler",
                          now: dt.datetime | None = None, deadline_days: int = 14,
                          rules: RotationRules | None = None, seed: int | None = None,
                          assign: bool = True) -> TaskReport:
    """One purchase task per item of an approved plan, with a deadline and a persona.

    Prohibited-class listings are enforcement leads, never purchases, and removed listings
    cannot be bought: both are skipped with the reason.  Re-running finds the tasks already
    there (by idempotency key) and only assigns personas still missing.
    """
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("purchases.plan", plan_id=plan_id)
    if plan.status != PlanStatus.APPROVED:
        raise Conflict("purchases.plan_purchases_need_approved_plan", plan_id=plan_id,
                       plan_status=plan.status)
    now = now or utcnow()
    report = TaskReport()
    deadline = now + dt.timedelta(days=deadline_days)
    for item in plan.items:
        listing = item.listing
        if listing.supervision_class == SupervisionClass.PROHIBITED:
            report.skipped.append((item.id, "prohibited: an enforcement lead, not a purchase"))
            continue
        if listing.status == ListingStatus.REMOVED:
            report.skipped.append((item.id, "listing removed"))
            continue
        key = idempotency_key(plan.id, item.id)
        found = session.scalar(select(Purchase).where(Purchase.idempotency_key == key))
        if found is not None:
            report.existing.append(found.id)
            continue
        p = Purchase(idempotency_key=key, plan_item_id=item.id, status=S.PLANNED,
                     deadline=deadline, currency=listing.currency, created_at=now, history=[])
        append_history(session, p, {"status": S.PLANNED.value, "at": now.isoformat(),
                                    "by": actor})
        try:
            with session.begin_nested():
                session.add(p)
                session.flush()
        except IntegrityError:
            # Another scheduler (or a retry) created it between our read and our insert.
            found = session.scalar(select(Purchase).where(Purchase.idempotency_key == key))
            if found is None:
                raise
            report.existing.append(found.id)
            continue
        report.created.append(p.id)
    if assign:
        ids = report.created + report.existing
        assigned, unassigned = assign_pending(session, ids, now=now, rules=rules,
                                              seed=plan.seed if seed is None else seed,
                                              actor=actor)
        report.assigned, report.unassigned = assigned, unassigned
    # The rules are shown to people, so what breaks them is said at assignment, not hidden.
    report.flags = [breach_dict(b) for b in rotation_breaches(session, rules)]
    session.add(AuditEvent(actor=actor, action="purchase.tasks", object_type="plan",
                           object_id=str(plan.id), detail={"created": len(report.created),
                                                           "skipped": len(report.skipped),
                                                           "flags": len(report.flags)}))
    return report


def _past_orders(session: Session) -> list[PastOrder]:
    """Orders already placed or scheduled by any persona (for the rotation rules)."""
    rows = session.execute(
        select(Purchase.persona_id, Listing.seller_id, Purchase.ordered_at,
               Purchase.scheduled_for)
        .join(PlanItem, Purchase.plan_item_id == PlanItem.id)
        .join(Listing, PlanItem.listing_id == Listing.id)
        .where(Purchase.persona_id.is_not(None),
               Purchase.status.not_in([S.CANCELLED]))).all()
    out = []
    for persona_id, seller_id, ordered_at, scheduled in rows:
        when = ordered_at or scheduled
        if when is not None and persona_id is not None:
            out.append(PastOrder(persona_id, seller_id, when.date()))
    return out


def rotation_breaches(session: Session, rules: RotationRules | None = None) -> list[Breach]:
    """The rotation rules that purchases on record break: placed or scheduled orders of
    purchases not cancelled, days in the rules' time zone.  Purchase keys are their ids."""
    from zoneinfo import ZoneInfo

    r = rules or RotationRules()
    tz = ZoneInfo(r.timezone)
    rows = session.execute(
        select(Purchase.id, Purchase.persona_id, Listing.seller_id, Purchase.ordered_at,
               Purchase.scheduled_for)
        .join(PlanItem, Purchase.plan_item_id == PlanItem.id)
        .join(Listing, PlanItem.listing_id == Listing.id)
        .where(Purchase.persona_id.is_not(None),
               Purchase.status.not_in([S.CANCELLED, S.FAILED]))).all()
    orders = [KeyedOrder(str(pid), persona, seller, _aware(when).astimezone(tz).date())
              for pid, persona, seller, ordered, scheduled in rows
              if persona is not None and (when := ordered or scheduled) is not None]
    return breaches(orders, r)


def breach_dict(b: Breach) -> dict[str, Any]:
    """A breach for ``--json``, the console and the audit log (purchase ids as integers)."""
    return {"rule": b.rule, "persona_id": b.persona_id, "seller_id": b.seller_id,
            "day": b.day.isoformat(), "count": b.count, "limit": b.limit,
            "purchases": [int(k) for k in b.keys]}


def assign_pending(session: Session, purchase_ids: list[int], *, now: dt.datetime,
                   rules: RotationRules | None = None, seed: int = 0, actor: str = "scheduler"
                   ) -> tuple[list[int], list[tuple[int, str]]]:
    """Give planned purchases without a persona one, by the rotation rules."""
    todo = [p for p in session.scalars(select(Purchase).where(Purchase.id.in_(purchase_ids)))
            if p.status == S.PLANNED and p.persona_id is None]
    if not todo:
        return [], []
    personas = {pid: plat for pid, plat in session.execute(
        select(BuyerPersona.id, BuyerPersona.platform_id).where(BuyerPersona.active.is_(True)))}
    tasks = []
    for p in todo:
        listing = p.plan_item.listing
        due = (p.deadline or now + dt.timedelta(days=StageDeadlines().order_days)).date()
        tasks.append(Task(str(p.id), listing.platform_id, listing.seller_id, now.date(), due))
    result: list[Assignment] = assign_personas(tasks, personas, _past_orders(session), rules,
                                               seed)
    assigned, unassigned = [], []
    by_id = {p.id: p for p in todo}
    for a in result:
        p = by_id[int(a.task_key)]
        if a.persona_id is None:
            unassigned.append((p.id, a.reason))
            continue
        p.persona_id = a.persona_id
        p.scheduled_for = a.scheduled_for
        assert a.scheduled_for is not None
        _note(session, p, actor, now, event="assigned", persona=a.persona_id,
              scheduled_for=a.scheduled_for.isoformat())
        assigned.append(p.id)
    session.flush()
    return assigned, unassigned


# --- transitions ----------------------------------------------------------------------------


def _money(value: Decimal | str | float | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidInput("purchases.amount", value=value) from exc
    if amount < 0 or amount > Decimal("1e9"):
        raise InvalidInput("purchases.amount_out_range", value=value)
    return amount.quantize(Decimal("0.01"))


def mark_ordered(session: Session, purchase: int | str, order_number: str,
                 price_paid: Decimal | str | float | None, currency: str | None = None, *,
                 actor: str = "system", at: dt.datetime | None = None,
                 capture_id: int | None = None) -> Purchase:
    """The order was placed: its number, the price paid and the order-page capture."""
    p = get_purchase(session, purchase)
    order_number = (order_number or "").strip()
    if not order_number or len(order_number) > 100:
        raise InvalidInput("purchases.order_number_characters")
    at = at or utcnow()
    _transition(session, p, S.ORDERED, actor, at, order_number=order_number,
                capture=capture_id)
    p.order_number = order_number
    p.price_paid = _money(price_paid)
    if currency:
        p.currency = currency.upper()[:3]
    p.ordered_at = at
    return p


def receive_sample(session: Session, purchase: int | str, sample_code: str, *,
                   seal_photo_sha256: str | None = None, actor: str = "system",
                   at: dt.datetime | None = None) -> Sample:
    """The parcel arrived: a sample with its code and the SHA-256 of its seal photo."""
    p = get_purchase(session, purchase)
    code = (sample_code or "").strip()
    if not code or len(code) > 64:
        raise InvalidInput("purchases.sample_code_characters")
    if session.scalar(select(Sample).where(Sample.code == code)) is not None:
        raise Conflict("purchases.sample_code_already_used", code=code)
    at = at or utcnow()
    _transition(session, p, S.RECEIVED, actor, at, sample=code)
    sample = Sample(code=code, purchase_id=p.id, received_at=at, received_by=actor,
                    seal_photo_sha256=seal_photo_sha256)
    session.add(sample)
    session.flush()
    return sample


#: Largest seal photo or lab report accepted (the CLI and the console alike).
MAX_DOCUMENT_BYTES = 50_000_000
#: What a seal photo and a lab report may be, by their first bytes (not a client's claim).
_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
          (b"RIFF", "image/webp"), (b"%PDF-", "application/pdf"))
DOCUMENT_TYPES = {"seal_photo": ("image/png", "image/jpeg", "image/webp"),
                  "lab_report": ("application/pdf", "image/png", "image/jpeg")}


def document_type(data: bytes, role: str) -> str:
    """The media type of an uploaded *role* document (seal_photo, lab_report), from its
    content; anything else is refused with a clear error, nothing stored."""
    if not data:
        raise InvalidInput("purchases.file_empty", document=Code("chain_step", role))
    if len(data) > MAX_DOCUMENT_BYTES:
        raise InvalidInput("purchases.file_larger_than_mb", document=Code("chain_step", role))
    media = next((m for magic, m in _MAGIC if data.startswith(magic)), None)
    if media == "image/webp" and data[8:12] != b"WEBP":
        media = None
    if media not in DOCUMENT_TYPES[role]:
        kinds = ", ".join(m.split("/")[1].upper() for m in DOCUMENT_TYPES[role])
        raise InvalidInput("purchases.one", document=Code("chain_step", role), kinds=kinds)
    return media


def store_document(session: Session, data: bytes, artifacts_root: Any, role: str) -> str:
    """Store a seal photo or lab report content-addressed (as evidence does), checked by
    :func:`document_type`, and record it as an artifact; returns its SHA-256."""
    from store.artifacts import ArtifactStore

    media_type = document_type(data, role)
    stored = ArtifactStore(artifacts_root).put(data)
    session.add(Artifact(capture_id=None, role=role, sha256=stored.sha256,
                         size=stored.size, media_type=media_type))
    return stored.sha256


def store_seal_photo(session: Session, data: bytes, artifacts_root: Any,
                     media_type: str | None = None) -> str:
    """A seal photo (see :func:`store_document`; the type is read from the content)."""
    return store_document(session, data, artifacts_root, "seal_photo")


def lab_report_of(p: Purchase) -> str | None:
    """The SHA-256 of the lab report recorded with *p*'s result, if any."""
    for entry in reversed(p.history):
        if entry.get("status") == S.RESULT.value:
            report = entry.get("report")
            return str(report) if report else None
    return None


def sample_of(session: Session, p: Purchase) -> Sample:
    sample = session.scalar(select(Sample).where(Sample.purchase_id == p.id))
    if sample is None:
        raise Conflict("purchases.purchase_has_sample_yet", p_id=p.id)
    return sample


def send_to_lab(session: Session, purchase: int | str, lab_name: str, *, actor: str = "system",
                at: dt.datetime | None = None) -> Sample:
    p = get_purchase(session, purchase)
    at = at or utcnow()
    _transition(session, p, S.SENT_TO_LAB, actor, at, lab=lab_name)
    sample = sample_of(session, p)
    sample.lab_name = lab_name
    sample.sent_to_lab_at = at
    return sample


def record_lab_result(session: Session, purchase: int | str, outcome: str | LabOutcome, *,
                      defects: list[Any] | None = None, clauses: list[str] | None = None,
                      lab_name: str | None = None, third_party: bool = False,
                      verified: bool = False, actor: str = "system",
                      at: dt.datetime | None = None, open_case: bool = True,
                      report_sha256: str | None = None) -> tuple[LabResult, Case | None]:
    """The lab's verdict; a failure opens (or finds) the case for the platform's bureau.

    A third-party result may be adopted (``third_party``) and marked ``verified`` once
    checked, as the guidance allows for key-supervision goods.  *report_sha256* is the lab
    report stored by :func:`store_document`, kept in the purchase's history entry.
    """
    p = get_purchase(session, purchase)
    try:
        oc = outcome if isinstance(outcome, LabOutcome) else LabOutcome(outcome)
    except ValueError:
        raise InvalidInput("purchases.outcome_pass_fail") from None
    if oc == LabOutcome.FAIL and not (defects or clauses):
        raise InvalidInput("purchases.failed_result_needs_defects_standard")
    at = at or utcnow()
    sample = sample_of(session, p)
    _transition(session, p, S.RESULT, actor, at, outcome=oc.value, report=report_sha256)
    result = LabResult(sample_id=sample.id, outcome=oc, defects=list(defects or []),
                       clauses=list(clauses or []), lab_name=lab_name or sample.lab_name,
                       third_party=third_party, verified=verified, reported_at=at,
                       entered_by=actor)
    session.add(result)
    session.flush()
    case = None
    if oc == LabOutcome.FAIL and open_case:
        from scheduler.cases import open_case as _open

        case = _open(session, "failed_sample", sample_id=sample.id, actor=actor, at=at,
                     summary=failure_summary(sample.code, result.defects, result.clauses))
    return result, case


def defect_text(defect: Any, locale: str = "zh-CN") -> str:
    """One lab defect as a person reads it: ``{"code": "GB 4706.1-2005 §8.1", "text": "…"}``
    reads "… (GB 4706.1-2005 §8.1)", never as the dict it is stored as."""
    if isinstance(defect, dict):
        text = str(defect.get("text") or defect.get("description") or "").strip()
        code = str(defect.get("code") or defect.get("clause") or "").strip()
        if text and code:
            return f"{text}（{code}）" if locale.startswith("zh") else f"{text} ({code})"
        return text or code or "; ".join(f"{k}: {v}" for k, v in defect.items())
    return str(defect)


def failure_summary(sample_code: str, defects: list[Any], clauses: list[str],
                    locale: str | None = None) -> str:
    """The summary of the case a failed sample opens, in the bureau's language (the
    ``locale`` setting): the defects as sentences and the clauses they break."""
    if locale is None:
        try:
            from store.settings import get_settings

            locale = str(get_settings().locale)
        except Exception:  # settings unreadable here: the default language
            locale = "zh-CN"
    return messages.render("purchases.failed_sample_summary", {
        "sample": sample_code,
        "defects": messages.join_clauses((defect_text(d, locale) for d in defects), locale),
        "clauses": messages.join_items(clauses, locale) or "—"}, locale)


def close_purchase(session: Session, purchase: int | str, *, actor: str = "system",
                   note: str = "", at: dt.datetime | None = None) -> Purchase:
    p = get_purchase(session, purchase)
    _transition(session, p, S.CLOSED, actor, at, note)
    return p


def cancel_purchase(session: Session, purchase: int | str, reason: str, *,
                    actor: str = "system", at: dt.datetime | None = None) -> Purchase:
    if not reason.strip():
        raise InvalidInput("purchases.cancelling_needs_reason")
    p = get_purchase(session, purchase)
    _transition(session, p, S.CANCELLED, actor, at, reason)
    return p


def fail_purchase(session: Session, purchase: int | str, reason: str, *,
                  actor: str = "system", at: dt.datetime | None = None) -> Purchase:
    """Ordering failed (listing gone, checkout refused): a person decides what next."""
    p = get_purchase(session, purchase)
    _transition(session, p, S.FAILED, actor, at, reason[:500])
    return p


def record_nonresponse(session: Session, purchase: int | str, reason: str, *,
                       actor: str = "system", at: dt.datetime | None = None) -> Purchase:
    """The plan item cannot be bought as drawn (out of stock, discontinued): a non-response
    of the sample, recorded with its reason.

    The purchase is cancelled, never replaced by another listing: a substitute would not
    have the inclusion probability the plan gave the item, and the estimates (which take an
    item without a result as missing within its stratum) would be biased without a trace.
    """
    if not reason.strip():
        raise InvalidInput("purchases.non_response_needs_reason")
    p = get_purchase(session, purchase)
    _transition(session, p, S.CANCELLED, actor, at, f"non-response: {reason}"[:500],
                nonresponse=reason[:200])
    return p


def replan(session: Session, purchase: int | str, *, actor: str = "system",
           at: dt.datetime | None = None) -> Purchase:
    """A failed purchase goes back to planned (e.g. after the platform was reachable again)."""
    p = get_purchase(session, purchase)
    _transition(session, p, S.PLANNED, actor, at, "replanned")
    return p


# --- deadlines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overdue:
    purchase_id: int
    status: str
    stage: str
    due: dt.datetime
    days_over: float
    persona_id: int | None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def stage_due(session: Session, p: Purchase, d: StageDeadlines | None = None
              ) -> tuple[str, dt.datetime] | None:
    """The stage the purchase is in and when it must be done, or None when finished."""
    d = d or StageDeadlines()

    def entered(status: PurchaseStatus) -> dt.datetime:
        for h in reversed(p.history):
            if h.get("status") == status.value:
                return dt.datetime.fromisoformat(h["at"])
        return p.created_at

    if p.status == S.PLANNED:
        return "order", p.deadline or p.created_at + dt.timedelta(days=d.order_days)
    if p.status == S.ORDERED:
        return "receive", (p.ordered_at or entered(S.ORDERED)) + dt.timedelta(d.receive_days)
    if p.status == S.RECEIVED:
        return "send to lab", entered(S.RECEIVED) + dt.timedelta(days=d.dispatch_days)
    if p.status == S.SENT_TO_LAB:
        return "lab result", entered(S.SENT_TO_LAB) + dt.timedelta(days=d.lab_days)
    if p.status == S.RESULT:
        return "close", entered(S.RESULT) + dt.timedelta(days=d.close_days)
    return None


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything we write is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def overdue(session: Session, *, now: dt.datetime | None = None,
            deadlines: StageDeadlines | None = None) -> list[Overdue]:
    """Purchases whose current stage is past its deadline, most overdue first."""
    now = now or utcnow()
    out = []
    open_states = [s for s in S if s not in (S.CLOSED, S.CANCELLED, S.FAILED)]
    for p in session.scalars(select(Purchase).where(Purchase.status.in_(open_states))):
        due = stage_due(session, p, deadlines)
        if due is None:
            continue
        stage, when = due
        when = _aware(when)
        if when < now:
            out.append(Overdue(p.id, p.status.value, stage, when,
                               round((now - when).total_seconds() / 86400, 1), p.persona_id))
    return sorted(out, key=lambda o: -o.days_over)


def purchase_summary(p: Purchase) -> dict[str, Any]:
    """A purchase as shown in lists and ``--json`` (persona by id and alias only)."""
    listing = p.plan_item.listing
    return {"id": p.id, "key": p.idempotency_key, "status": p.status.value,
            "plan_id": p.plan_item.plan_id, "plan_item_id": p.plan_item_id,
            "listing_id": listing.id, "listing_title": listing.title[:200],
            "listing_url": listing.url, "seller_id": listing.seller_id,
            "persona_id": p.persona_id, "persona": p.persona.alias if p.persona else None,
            "scheduled_for": p.scheduled_for, "deadline": p.deadline,
            "order_number": p.order_number, "price_paid": p.price_paid,
            "currency": p.currency, "ordered_at": p.ordered_at}


#: Purchases still under way (not closed, cancelled or failed).
_OPEN = (PurchaseStatus.PLANNED, PurchaseStatus.ORDERED, PurchaseStatus.RECEIVED,
         PurchaseStatus.SENT_TO_LAB, PurchaseStatus.RESULT)


def open_purchases_elsewhere(session: Session, plan_id: int) -> list[dict[str, Any]]:
    """Other approved versions of *plan_id*'s campaign that still have open purchases.

    Approving a new version while an earlier approved one is still buying means two plans
    spend one campaign's budget at once, and the estimates of neither cover what was bought:
    the approval stands (a supervisor may mean it), but it is flagged to them.
    """
    from sqlalchemy import func

    from store.models import Plan

    plan = session.get(Plan, plan_id)
    if plan is None:
        return []
    rows = session.execute(
        select(Plan.id, Plan.version, func.count(Purchase.id))
        .join(PlanItem, PlanItem.plan_id == Plan.id)
        .join(Purchase, Purchase.plan_item_id == PlanItem.id)
        .where(Plan.campaign_id == plan.campaign_id, Plan.id != plan.id,
               Plan.status == PlanStatus.APPROVED, Purchase.status.in_(_OPEN))
        .group_by(Plan.id, Plan.version).order_by(Plan.version)).all()
    return [{"plan": pid, "version": version, "open_purchases": int(n)}
            for pid, version, n in rows]
