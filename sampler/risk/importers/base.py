"""What every importer shares: parsed records, line-numbered errors, atomic idempotent storing.

An import parses the whole file first and collects every problem with its line number; only a
file without problems is written, inside one transaction (a savepoint), so a bad file changes
nothing.  Records carry natural keys (notice source + reference, signal key), so importing the
same file twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.errors import InvalidInput, NotFound
from store.models import ForeignNotice, RiskSignal

#: Bigger files are refused: a notice feed is megabytes, not gigabytes.
MAX_FILE_BYTES = 200 * 1024 * 1024
#: How many problems an error message lists before saying "and N more".
MAX_LISTED_ERRORS = 20


@dataclass
class ParsedNotice:
    """A foreign notice (or enterprise self-report) as read from a file, before storing."""

    source: str
    reference: str
    line: int
    published: dt.date | None = None
    title: str = ""
    brand: str | None = None
    product: str | None = None
    models: list[str] = field(default_factory=list)
    hazard: str | None = None
    country: str | None = None
    url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedSignal:
    """A risk signal row (complaint, ...) before it is linked and stored."""

    key: str
    kind: str
    source: str
    line: int
    observed_at: dt.datetime
    listing_url: str | None = None
    platform: str | None = None
    seller: str | None = None
    brand: str | None = None
    #: A product text, for rows that name no listing URL (linked by fuzzy title match).
    product: str | None = None
    value: float = 1.0
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportResult:
    """What an import did: rows read, added, updated, unchanged (already there)."""

    path: str
    format: str
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    unlinked: int = 0
    notice_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "read": self.read,
                "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "unlinked": self.unlinked}


class Problems:
    """Collects line-numbered problems; raises one InvalidInput naming them all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: list[tuple[int, str]] = []

    def add(self, line: int, message: str) -> None:
        self.items.append((line, message))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = [f"line {line}: {msg}" for line, msg in sorted(self.items)[:MAX_LISTED_ERRORS]]
        more = len(self.items) - len(shown)
        tail = f"; and {more} more" if more > 0 else ""
        raise InvalidInput(f"{self.path.name}: {len(self.items)} problem(s), nothing imported: "
                           + "; ".join(shown) + tail)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, refusing missing, unreadable and oversized files with a clear error."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NotFound(f"{path} does not exist") from None
    if not path.is_file():
        raise InvalidInput(f"{path} is not a file")
    if size > MAX_FILE_BYTES:
        raise InvalidInput(f"{path.name}: {size} bytes is more than the {MAX_FILE_BYTES} allowed")
    return path.read_bytes()


def decode_text(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM), else GB18030 (what Chinese Excel exports use)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as first:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            line = data[: first.start].count(b"\n") + 1
            raise InvalidInput(f"{path.name}: line {line}: neither UTF-8 nor GB18030 text") \
                from None


def parse_date(value: Any) -> dt.date | None:
    """Dates as feeds write them: 2024-05-02, 2024-05-02T00:00:00, 2024/05/02, 02/05/2024."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    for fmt in ("%Y/%m/%d", "%d/%m/%Y", "%Y.%m.%d", "%d.%m.%Y", "%Y年%m月%d日"):
        try:
            return dt.datetime.strptime(text[:11].strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(f"unreadable date {text[:40]!r}")


def clip(value: Any, limit: int) -> str | None:
    """Text bounded to *limit* characters; empty becomes None."""
    if value is None:
        return None
    text = str(value).strip()
    return text[:limit] if text else None


def row_key(prefix: str, values: dict[str, Any]) -> str:
    """A natural key from a row's content, so the same row imported twice is found again."""
    blob = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return f"{prefix}:{hashlib.sha256(blob.encode()).hexdigest()}"


def _notice_fields(p: ParsedNotice) -> dict[str, Any]:
    return {"published": p.published, "title": (p.title or "")[:2000],
            "brand": clip(p.brand, 200), "product": clip(p.product, 4000),
            "models": [m[:100] for m in p.models[:200]], "hazard": clip(p.hazard, 4000),
            "country": clip(p.country, 100), "url": clip(p.url, 2000), "raw": p.raw}


def store_notices(session: Session, parsed: list[ParsedNotice], result: ImportResult) -> None:
    """Insert new notices and update changed ones, all inside one savepoint (all or nothing)."""
    seen: set[tuple[str, str]] = set()
    with session.begin_nested():
        for p in parsed:
            key = (p.source, p.reference[:100])
            if key in seen:  # the same notice twice in one file: the first one wins
                result.unchanged += 1
                continue
            seen.add(key)
            fields = _notice_fields(p)
            row = session.scalar(select(ForeignNotice).where(
                ForeignNotice.source == key[0], ForeignNotice.reference == key[1]))
            if row is None:
                row = ForeignNotice(source=key[0], reference=key[1], **fields)
                session.add(row)
                session.flush()
                result.added += 1
            elif any(getattr(row, k) != v for k, v in fields.items()):
                for k, v in fields.items():
                    setattr(row, k, v)
                result.updated += 1
            else:
                result.unchanged += 1
            result.notice_ids.append(row.id)


def store_signals(session: Session, parsed: list[ParsedSignal], result: ImportResult) -> None:
    """Insert risk signals not already present (by key), linking them to listings and sellers."""
    from sampler.risk.importers.linking import Linker

    linker = Linker(session)
    with session.begin_nested():
        keys = [p.key for p in parsed]
        existing: set[str] = set()
        for start in range(0, len(keys), 500):
            existing.update(session.scalars(select(RiskSignal.key).where(
                RiskSignal.key.in_(keys[start:start + 500]))))
        for p in parsed:
            if p.key in existing:
                result.unchanged += 1
                continue
            existing.add(p.key)
            link = linker.link(p.listing_url, p.platform, p.seller, p.product)
            if link.listing_id is None and link.seller_id is None:
                result.unlinked += 1
            detail = dict(p.detail)
            if link.via is not None:
                detail["linked_by"] = link.via
            if link.score is not None:
                detail["link_score"] = link.score
            session.add(RiskSignal(
                key=p.key, kind=p.kind, source=p.source, listing_id=link.listing_id,
                seller_id=link.seller_id, platform_id=link.platform_id,
                brand=clip(p.brand, 200), observed_at=p.observed_at, value=p.value,
                detail=detail))
            result.added += 1
        session.flush()
