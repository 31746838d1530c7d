"""Finding and exporting crawled listings (the ``spotcheck listings`` command reads these).

Exports are streamed (constant memory for any number of listings) and CSV cells that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@`` …) are neutralised: crawled
text is hostile, and an inspector opening an export in Excel must not execute it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from store.errors import InvalidInput, NotFound
from store.jsonio import dumps
from store.models import (
    Listing,
    ListingSnapshot,
    ListingStatus,
    Platform,
    Sector,
    Seller,
    SupervisionClass,
)
from store.search import listing_text_condition

EXPORT_COLUMNS = (
    "platform", "external_id", "url", "title", "brand", "model", "price", "currency",
    "price_cny", "seller_external_id", "seller_name", "seller_filing_number", "category",
    "sector", "supervision_class", "class_reasons", "origin", "cert_marks", "status",
    "first_seen", "last_seen", "removed_at", "prn", "risk_score", "risk_reasons",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class ListingFilter:
    platform: str | None = None
    sector: str | None = None
    supervision_class: str | None = None
    seller: str | None = None
    text: str | None = None
    status: str | None = None

    def validate(self) -> None:
        for value, enum_cls, name in ((self.sector, Sector, "sector"),
                                      (self.supervision_class, SupervisionClass, "class"),
                                      (self.status, ListingStatus, "status")):
            if value and value not in {m.value for m in enum_cls}:
                choices = ", ".join(m.value for m in enum_cls)
                raise InvalidInput("listings.use_one", name=name, value=value, choices=choices)


def listing_query(f: ListingFilter, session: Session | None = None) -> Any:
    """Listings (with platform code and seller) matching *f*, newest first.

    With *session*, text goes through store.search (FTS5 / trigram indexes; also matches the
    external id and seller name) instead of a LIKE scan of every listing."""
    f.validate()
    seller = aliased(Seller)
    q = (select(Listing, Platform.code, seller)
         .join(Platform, Platform.id == Listing.platform_id)
         .outerjoin(seller, seller.id == Listing.seller_id))
    conds = filter_conditions(f, session, seller)
    if conds:
        q = q.where(and_(*conds))
    return q.order_by(Listing.id)


def filter_conditions(f: ListingFilter, session: Session | None = None,
                      seller: Any = Seller) -> list[Any]:
    """The WHERE conditions of *f* over Listing, Platform and *seller* (the Seller entity
    the caller joined): the one meaning of a listing filter, for the CLI's queries and the
    console's search page alike."""
    conds: list[Any] = []
    if f.platform:
        conds.append(Platform.code == f.platform)
    if f.sector:
        conds.append(Listing.sector == Sector(f.sector))
    if f.supervision_class:
        conds.append(Listing.supervision_class == SupervisionClass(f.supervision_class))
    if f.status:
        conds.append(Listing.status == ListingStatus(f.status))
    if f.seller:
        conds.append(or_(seller.external_id == f.seller, seller.name.contains(f.seller)))
    if f.text and session is not None and f.text.strip():
        conds.append(listing_text_condition(session, f.text))
    elif f.text:
        pattern = f"%{f.text.lower()}%"
        conds.append(or_(func.lower(Listing.title).like(pattern),
                         func.lower(Listing.brand).like(pattern),
                         func.lower(Listing.model).like(pattern)))
    return conds


def ensure_platform(session: Session, code: str | None) -> None:
    if code and session.scalar(select(Platform.id).where(Platform.code == code)) is None:
        raise NotFound("listings.platform_spotcheck_platform_list", code=code)


def listing_row(listing: Listing, platform: str, seller: Seller | None) -> dict[str, Any]:
    return {
        "platform": platform, "external_id": listing.external_id, "url": listing.url,
        "title": listing.title, "brand": listing.brand, "model": listing.model,
        "price": listing.price, "currency": listing.currency, "price_cny": listing.price_cny,
        "seller_external_id": seller.external_id if seller else None,
        "seller_name": seller.name if seller else None,
        "seller_filing_number": seller.filing_number if seller else None,
        "category": listing.category, "sector": listing.sector.value,
        "supervision_class": listing.supervision_class.value,
        "class_reasons": listing.class_reasons, "origin": listing.origin,
        "cert_marks": listing.cert_marks, "status": listing.status.value,
        "first_seen": listing.first_seen, "last_seen": listing.last_seen,
        "removed_at": listing.removed_at, "prn": listing.prn,
        "risk_score": listing.risk_score, "risk_reasons": listing.risk_reasons,
        # Where each field came from (jsonld, microdata, og, rdfa, dom:h1, dom:price,
        # dom:spec-table, url, ...) and what the listing has no column for (list price,
        # GTIN, MPN, availability, breadcrumbs), as the generic extractor found them.
        "field_sources": _raw_dict(listing.raw, "sources"),
        "extracted_fields": _raw_dict(listing.raw, "fields"),
    }


def _raw_dict(raw: Any, key: str) -> dict[str, Any]:
    value = raw.get(key) if isinstance(raw, dict) else None
    return dict(value) if isinstance(value, dict) else {}


def iter_rows(session: Session, f: ListingFilter, limit: int | None = None
              ) -> Iterator[dict[str, Any]]:
    ensure_platform(session, f.platform)
    q = listing_query(f, session)
    if limit:
        q = q.limit(limit)
    for listing, code, seller in session.execute(q.execution_options(yield_per=1000)):
        yield listing_row(listing, code, seller)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False, default=str)
    elif isinstance(value, Decimal):
        text = str(value)
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return text


def export(session: Session, f: ListingFilter, fmt: str, out: IO[str]) -> int:
    """Write matching listings to *out* as ``csv`` or ``jsonl``; returns the count."""
    if fmt not in {"csv", "jsonl"}:
        raise InvalidInput("listings.format_use_csv_jsonl", fmt=fmt)
    n = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        for row in iter_rows(session, f):
            writer.writerow([_cell(row[c]) for c in EXPORT_COLUMNS])
            n += 1
    else:
        for row in iter_rows(session, f):
            out.write(dumps(row, indent=None) + "\n")
            n += 1
    return n


def export_file(session: Session, f: ListingFilter, fmt: str, path: Path) -> int:
    """Export to *path* atomically (a partial file never replaces a good one)."""
    tmp = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            n = export(session, f, fmt, fh)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return n


def listing_history(session: Session, listing_id: int) -> dict[str, Any]:
    """A listing's history: its snapshots, oldest first, each with what changed and what
    it recorded (title, price, availability, status), and whether a crawl saw it (its run)
    or not (a re-capture of the page, ``crawl_run`` None).  Raises NotFound."""
    listing = session.get(Listing, listing_id)
    if listing is None:
        raise NotFound("products.no_listing", listing_id=listing_id)
    snapshots = session.scalars(select(ListingSnapshot)
                                .where(ListingSnapshot.listing_id == listing_id)
                                .order_by(ListingSnapshot.version)).all()
    return {"listing": listing.id, "url": listing.url, "title": listing.title,
            "status": listing.status.value, "availability": listing.availability,
            "snapshots": [{"version": sn.version, "seen_at": sn.seen_at.isoformat(),
                           "crawl_run": sn.crawl_run_id, "changes": list(sn.changes or []),
                           **{k: (sn.data or {}).get(k) for k in
                              ("title", "price", "currency", "availability", "status")}}
                          for sn in snapshots]}
