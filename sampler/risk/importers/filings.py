"""Filing and licence numbers from platforms' data submissions update the sellers they name.

Platforms must submit their merchants' filing numbers (备案号) and licence numbers (统一社会信用
代码) to the authority; a crawl only sees what a shop page chooses to show, often nothing.  So a
submission row linked to a crawled seller writes those numbers onto ``Seller``: the risk factor
``unfiled_seller`` (sampler/risk/factors.py) then counts a seller the platform reports as filed
as filed, and ``filing_unknown`` checks the submitted number against the filing register.

Rules (one home for them):

- only a row linked to exactly one seller (by the linker: URL, seller id or exact name within the
  platform) updates it; an unlinked row is counted and changes nothing;
- an empty or placeholder cell ("无", "-", "N/A") never clears a number the seller has;
- a number longer than the column (64) is a bad row, named by line, and nothing is imported;
- the newest submission wins: a row observed before the submission that last set the seller's
  number does not overwrite it (submissions may be imported out of order);
- every change is recorded: on the signal (``detail.seller_update``: field, before, after) and in
  the import result (``sellers_updated``, ``filing_changes``), so a person can see that a shop
  page said one number and the platform another.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import RiskSignal, Seller

#: The submission kinds that carry a seller's numbers.
SUBMISSION_KINDS = ("platform_seller", "platform_listing")
#: Seller columns a submission may set, and their bound (the columns' length).
FIELDS = {"filing_number": 64, "licence_number": 64}
#: Cells that mean "none" in bureau spreadsheets.
PLACEHOLDERS = frozenset({"", "-", "--", "—", "无", "暂无", "n/a", "na", "none", "null", "/"})


def submitted_numbers(detail: dict[str, Any]) -> dict[str, str]:
    """The seller numbers a submission row gives (placeholders dropped)."""
    out: dict[str, str] = {}
    for name in FIELDS:
        value = str(detail.get(name) or "").strip()
        if value.casefold() not in PLACEHOLDERS:
            out[name] = value
    return out


def check_lengths(detail: dict[str, Any]) -> str | None:
    """A problem text when a number is longer than the seller column holds, else None."""
    for name, value in submitted_numbers(detail).items():
        if len(value) > FIELDS[name]:
            return f"{name} is {len(value)} characters, more than the {FIELDS[name]} allowed"
    return None


def _last_set(session: Session, seller_id: int, name: str) -> dt.datetime | None:
    """When the newest submission already stored for this seller set *name*."""
    rows = session.execute(
        select(RiskSignal.observed_at, RiskSignal.detail)
        .where(RiskSignal.seller_id == seller_id, RiskSignal.kind.in_(SUBMISSION_KINDS))
        .order_by(RiskSignal.observed_at.desc()).limit(200)).all()
    for observed_at, detail in rows:
        update = (detail or {}).get("seller_update") or {}
        if name in update.get("fields", {}) or name in update.get("kept", []):
            return observed_at if observed_at.tzinfo else observed_at.replace(tzinfo=dt.UTC)
    return None


def apply_submission(session: Session, seller_id: int, detail: dict[str, Any],
                     observed_at: dt.datetime) -> dict[str, Any] | None:
    """Write a submission row's numbers onto its seller; what changed (for the signal's
    detail), or None when the row gives no number."""
    numbers = submitted_numbers(detail)
    if not numbers:
        return None
    seller = session.get(Seller, seller_id)
    if seller is None:
        return None
    when = observed_at if observed_at.tzinfo else observed_at.replace(tzinfo=dt.UTC)
    changed: dict[str, dict[str, str | None]] = {}
    kept: list[str] = []
    older: list[str] = []
    for name, value in numbers.items():
        before = getattr(seller, name)
        last = _last_set(session, seller_id, name)
        if last is not None and when < last:
            older.append(name)  # a newer submission already decided this number
            continue
        if before == value:
            kept.append(name)
            continue
        setattr(seller, name, value)
        changed[name] = {"before": before, "after": value}
    return {"seller_id": seller_id, "fields": changed, "kept": kept, "older": older}
