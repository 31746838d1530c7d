"""The smallest builders of the test world: one row (or one chain of rows) each, with defaults.

Every other builder of test data composes these, so a column a model gains, or a rule the
store enforces (an approved plan is immutable once its items are in), is met in one place.
Each builder adds its rows to the session and flushes, so the returned row has its id;
``seller`` and ``listing`` take ``flush=False`` where a composite builder makes many and
flushes once (a flush a row made a small world several times slower to build).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from store.models import (
    Campaign,
    Capture,
    Case,
    ForeignNotice,
    LabResult,
    Listing,
    NoticeKey,
    Plan,
    PlanItem,
    PlanStatus,
    Platform,
    Purchase,
    Sample,
    Seller,
    User,
)
from store.vocabulary import LabOutcome


def platform(s: Session, code: str = "mall", **fields: Any) -> Platform:
    """A platform named after its *code* unless *fields* say otherwise."""
    fields.setdefault("name", code.capitalize())
    row = Platform(code=code, **fields)
    s.add(row)
    s.flush()
    return row


def seller(s: Session, platform_id: int, external_id: str = "s1", *, flush: bool = True,
           **fields: Any) -> Seller:
    """A seller of the platform, named after its external id unless *fields* say otherwise."""
    fields.setdefault("name", f"卖家 {external_id}")
    row = Seller(platform_id=platform_id, external_id=external_id, **fields)
    s.add(row)
    if flush:
        s.flush()
    return row


def listing(s: Session, platform_id: int, external_id: str = "L1", *, flush: bool = True,
            **fields: Any) -> Listing:
    """A listing of the platform; its URL and title default from the external id."""
    fields.setdefault("url", f"http://shop.test/item/{external_id}")
    fields.setdefault("title", f"商品 item {external_id}")
    row = Listing(platform_id=platform_id, external_id=external_id, **fields)
    s.add(row)
    if flush:
        s.flush()
    return row


def campaign(s: Session, name: str = "2026H2", **fields: Any) -> Campaign:
    """A campaign row written directly (tests of the sampler's own campaign API call
    ``sampler.campaign_scope.create_campaign`` instead)."""
    row = Campaign(name=name, **fields)
    s.add(row)
    s.flush()
    return row


def plan(s: Session, campaign_id: int, listings: Sequence[Listing | int], *,
         status: PlanStatus = PlanStatus.APPROVED, stratum: str = "all",
         inclusion_probability: float = 0.5, expected_prices: bool = False,
         strata: Sequence[str] | None = None, **fields: Any) -> Plan:
    """A plan of *campaign_id* whose items are *listings* in order, then given *status*.

    The items go in while the plan is a draft and the status is set after them: the store
    refuses any change to an approved plan, its items included.  *strata* (one per listing)
    overrides *stratum*; *expected_prices* copies each listing's price onto its item."""
    n = len(listings)
    fields.setdefault("version", 1)
    fields.setdefault("seed", 1)
    fields.setdefault("method", "srs")
    fields.setdefault("frame_sha256", "0" * 64)
    fields.setdefault("frame_size", n)
    fields.setdefault("sample_size", n)
    row = Plan(campaign_id=campaign_id, status=PlanStatus.DRAFT, **fields)
    s.add(row)
    s.flush()
    for seq, li in enumerate(listings):
        lid = li if isinstance(li, int) else li.id
        price = li.price if expected_prices and isinstance(li, Listing) else None
        s.add(PlanItem(plan_id=row.id, listing_id=lid, seq=seq,
                       stratum=strata[seq] if strata is not None else stratum,
                       inclusion_probability=inclusion_probability, expected_price=price))
    s.flush()
    if status is not PlanStatus.DRAFT:
        row.status = status
        s.flush()
    return row


def lab_result(s: Session, plan_item_id: int, outcome: LabOutcome | str, *, key: str,
               code: str) -> LabResult:
    """A purchase of the plan item, its sample (*code*) and the lab's *outcome*."""
    purchase = Purchase(idempotency_key=key, plan_item_id=plan_item_id)
    s.add(purchase)
    s.flush()
    sample = Sample(code=code, purchase_id=purchase.id)
    s.add(sample)
    s.flush()
    result = LabResult(sample_id=sample.id, outcome=LabOutcome(outcome))
    s.add(result)
    s.flush()
    return result


def lab_results(s: Session, plan_id: int, fail_every: int, *, upto: int | None = None,
                prefix: str = "lab") -> None:
    """The plan's first *upto* items (all by default) bought and tested: the 1st, then every
    *fail_every*-th, fail; the others pass."""
    items = s.get(Plan, plan_id).items  # type: ignore[union-attr]
    for k, item in enumerate(items[:upto]):
        lab_result(s, item.id, LabOutcome.FAIL if k % fail_every == 0 else LabOutcome.PASS,
                   key=f"{prefix}-{plan_id}-{item.id}", code=f"{prefix.upper()}{plan_id}-{item.id}")


def failed_lab(s: Session, listing_id: int, *, campaign_name: str = "earlier") -> LabResult:
    """An earlier campaign's draft plan that bought *listing_id*, whose lab result failed."""
    camp = campaign(s, campaign_name)
    row = plan(s, camp.id, [listing_id], status=PlanStatus.DRAFT)
    return lab_result(s, row.items[0].id, LabOutcome.FAIL, key="p1", code="S1")


def notice(s: Session, reference: str = "A12/0001/26", *, source: str = "safety-gate",
           keys: Sequence[tuple[str, str]] = (), **fields: Any) -> ForeignNotice:
    """A foreign recall notice (*source*, *reference*) with its matching *keys*, each a
    (kind, value) pair as the importer would derive them (``("gtin", "0400…")``)."""
    row = ForeignNotice(source=source, reference=reference, **fields)
    s.add(row)
    s.flush()
    for kind, value in keys:
        s.add(NoticeKey(notice_id=row.id, kind=kind, value=value))
    s.flush()
    return row


def capture(s: Session, url: str = "http://127.0.0.1:9/item/1", **fields: Any) -> Capture:
    """A capture record of *url* (no files: tests that need them add artifacts), by the
    operator amy unless *fields* say otherwise."""
    fields.setdefault("operator", "amy")
    row = Capture(url=url, **fields)
    s.add(row)
    s.flush()
    return row


def case(s: Session, number: str = "AJ-2026-001", **fields: Any) -> Case:
    """An open case *number*, a counterfeit lead unless *fields* say otherwise."""
    fields.setdefault("kind", "counterfeit")
    fields.setdefault("title", f"线索 {number}")
    row = Case(number=number, **fields)
    s.add(row)
    s.flush()
    return row


#: The sampler's four roles as plain user rows (no password: tests that log in use
#: ``tests.factory.console.add_users``).
ROLES = {"alice": "sampler", "bob": "supervisor", "carol": "admin", "dave": "investigator"}


def users(s: Session, roles: dict[str, str] | None = None) -> list[User]:
    """One user row per name -> role in *roles* (default :data:`ROLES`)."""
    rows = [User(name=name, role=role) for name, role in (roles or ROLES).items()]
    s.add_all(rows)
    s.flush()
    return rows
