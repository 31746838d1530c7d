"""Filing and licence numbers from platforms' data submissions update the sellers they name.

This lives in ``store`` because two layers apply it: the risk importer (``sampler.risk``)
when a submission names a seller already crawled, and the crawler's seller upsert
(``crawlers.store_writer``) when the seller a submission named appears later.  Both may import
only ``store``, and the rule must be one.

Platforms must submit their merchants' filing numbers (备案号) and licence numbers (统一社会信用
代码) to the authority; a crawl only sees what a shop page chooses to show, often nothing.  So a
submission row linked to a crawled seller writes those numbers onto ``Seller``: the risk factor
``unfiled_seller`` (sampler/risk/factors.py) then counts a seller the platform reports as filed
as filed, and ``filing_unknown`` checks the submitted number against the filing register.

Rules (one home for them):

- only a row linked to exactly one seller (by the linker: URL, seller id or exact name within the
  platform) updates it;
- a row naming a seller not crawled yet is kept **pending** (the risk signal without a seller,
  ``detail.pending``) and applied when that seller appears: the crawler's seller upsert calls
  :func:`resolve_pending` with the sellers it wrote, which links the row (platform, and the
  seller's id or exact name, or the URL of one of its listings), applies it by the rules below
  in the order the submissions were made, and records the change on the row and in the audit
  log (``seller.filing``).  A submission imported before the crawl and one imported after it
  leave the seller in the same state;
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
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from store.models import AuditEvent, Listing, RiskSignal, Seller, utcnow

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


def check_lengths(detail: dict[str, Any]) -> tuple[str, int, int] | None:
    """``(field, length, allowed)`` of the first number longer than the seller column holds,
    else None: the importer words it in the reader's language (``risk_rows.number_too_long``)."""
    for name, value in submitted_numbers(detail).items():
        if len(value) > FIELDS[name]:
            return name, len(value), FIELDS[name]
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


def _aware(when: dt.datetime) -> dt.datetime:
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def bare_url(url: str) -> str:
    """The URL without query, fragment and trailing slash."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def url_variants(url: str) -> list[str]:
    """The URL as given and without query/fragment/trailing slash (how people paste links)."""
    bare = bare_url(url)
    return list(dict.fromkeys([url.strip(), bare, bare + "/"]))


def is_pending(detail: dict[str, Any], seller_id: int | None) -> bool:
    """Whether a submission row must wait for its seller: it names no crawled seller yet and
    gives a number to apply."""
    return seller_id is None and bool(submitted_numbers(detail))


def pending_marks(detail: dict[str, Any]) -> dict[str, Any]:
    """What a pending row's detail carries so :func:`resolve_pending` finds it by query: the
    flag, and the listing URL in the form it is compared in."""
    url = str(detail.get("listing_url") or "").strip()
    return {"pending": True} | ({"pending_url": bare_url(url)} if url else {})


def _names_seller(detail: dict[str, Any], seller: Seller, urls: set[str]) -> str | None:
    """How a pending row names *seller* ("seller" or "url"), or None when it does not."""
    name = str(detail.get("seller") or detail.get("seller_id") or "").strip()
    if name and name in {seller.external_id, seller.name}:
        return "seller"
    url = str(detail.get("listing_url") or "").strip()
    if url and bare_url(url) in urls:
        return "url"
    return None


def resolve_pending(session: Session, seller_ids: list[int], actor: str = "crawl"
                    ) -> list[dict[str, Any]]:
    """Apply the pending submission rows that name these sellers (just written by a crawl);
    the changes made, each ``{signal_id, seller_id, field, before, after}``.

    A pending row is linked to a seller of its platform by the seller's id or exact name, or by
    the URL of one of the seller's listings; a row naming several of the sellers (the same name
    twice on a platform) stays pending, as the importer's linker would leave it.
    """
    if not seller_ids:
        return []
    sellers = list(session.scalars(select(Seller).where(Seller.id.in_(seller_ids))))
    urls: dict[int, set[str]] = {s.id: set() for s in sellers}
    for sid, url in session.execute(select(Listing.seller_id, Listing.url)
                                    .where(Listing.seller_id.in_(list(urls)))):
        if sid is not None:
            urls[sid].add(bare_url(url))
    # Only the rows naming one of these sellers are read (a platform may have submitted many
    # rows for sellers never crawled; a crawl must not read them batch after batch).
    names = sorted({v for s in sellers for v in (s.name, s.external_id) if v})
    links = sorted(set().union(*urls.values())) if urls else []
    platforms = {s.platform_id for s in sellers}
    found: dict[int, RiskSignal] = {}
    for column, values in (("seller", names), ("seller_id", names), ("pending_url", links)):
        for start in range(0, len(values), 500):
            found.update((sig.id, sig) for sig in session.scalars(
                select(RiskSignal).where(
                    RiskSignal.seller_id.is_(None), RiskSignal.kind.in_(SUBMISSION_KINDS),
                    or_(RiskSignal.platform_id.is_(None),
                        RiskSignal.platform_id.in_(platforms)),
                    RiskSignal.detail[column].as_string().in_(values[start:start + 500]))))
    pending = sorted((sig for sig in found.values() if (sig.detail or {}).get("pending")),
                     key=lambda sig: (_aware(sig.observed_at), sig.id))
    changes: list[dict[str, Any]] = []
    for sig in pending:
        detail = dict(sig.detail or {})
        named = [(s, how) for s in sellers
                 if sig.platform_id in (None, s.platform_id)
                 and (how := _names_seller(detail, s, urls[s.id])) is not None]
        if len(named) != 1:
            continue
        seller, how = named[0]
        update = apply_submission(session, seller.id, detail, sig.observed_at)
        sig.seller_id = seller.id
        if sig.platform_id is None:
            sig.platform_id = seller.platform_id
        detail.pop("pending", None)
        detail.pop("pending_url", None)
        detail["linked_by"] = how
        detail["resolved"] = {"at": utcnow().isoformat(), "by": actor}
        if update is not None:
            detail["seller_update"] = update
            for name, change in update["fields"].items():
                changes.append({"signal_id": sig.id, "seller_id": seller.id, "field": name,
                                **change})
            if update["fields"]:
                session.add(AuditEvent(
                    actor=actor, action="seller.filing", object_type="seller",
                    object_id=str(seller.id),
                    detail={"signal_id": sig.id, "source": sig.source,
                            "line": detail.get("line"), "fields": update["fields"],
                            "pending_since": sig.observed_at.isoformat()}))
        sig.detail = detail
    session.flush()
    return changes
