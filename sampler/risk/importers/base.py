"""What every importer shares: parsed records, line-numbered errors, atomic idempotent storing.

An import parses the whole file first and collects every problem with its line number; only a
file without problems is written, inside one transaction (a savepoint), so a bad file changes
nothing.  Records carry natural keys (notice source + reference, signal key), so importing the
same file twice adds nothing.

Honest about what it was given:

- an empty file (no bytes, only whitespace, or no records) is refused as empty;
- the same notice twice in one file with different contents is refused, naming both lines;
  identical repeats are counted (``duplicates``) and stored once;
- every text field has a bound (``FIELD_LIMITS``; ``RAW_TEXT_LIMIT`` for the original fields kept
  in ``raw``): a longer value is cut to it and the cut is recorded per field, on the notice
  (``ForeignNotice.truncated = {field: original length}``) and in the import's result, so a 20 MB
  hazard text costs 8 KB, not 20 MB, and nobody believes it was stored whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.errors import InvalidInput, NotFound
from store.messages import Lines
from store.models import ForeignNotice, NoticeKey, RiskSignal
from store.text import strip_format

#: Bigger files are refused: a notice feed is megabytes, not gigabytes.
MAX_FILE_BYTES = 200 * 1024 * 1024
#: How many problems an error message lists before saying "and N more".
MAX_LISTED_ERRORS = 20
#: Bounds of a notice's fields in characters (list fields: per item, and at most MAX_ITEMS).
FIELD_LIMITS: dict[str, int] = {
    "reference": 100, "title": 2000, "brand": 200, "product": 4000, "hazard": 8000,
    "country": 100, "url": 2000, "models": 100, "gtins": 14, "batches": 200, "pictures": 2000,
    "risk_types": 200,
}
#: Bound of every text kept in ``raw`` (the record's original fields).
RAW_TEXT_LIMIT = 8000
MAX_ITEMS = 200


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
    gtins: list[str] = field(default_factory=list)
    batches: list[str] = field(default_factory=list)
    online: list[dict[str, Any]] = field(default_factory=list)
    pictures: list[str] = field(default_factory=list)
    measures: list[dict[str, Any]] = field(default_factory=list)
    risk_types: list[str] = field(default_factory=list)
    #: {field: original length} of the fields cut to their bound (set by ``bound_notice``).
    truncated: dict[str, int] = field(default_factory=dict)

    def keys(self) -> list[tuple[str, str]]:
        """Exact matching keys: ("gtin", 14 digits), ("asin", …), ("url", …), ("model", …)."""
        from sampler.risk.importers.sg_fields import online_keys
        from sampler.risk.normalise import is_model_code, model_key

        out = [("gtin", g) for g in self.gtins]
        out += online_keys(self.online)
        out += [("model", k) for k in (model_key(m) for m in self.models) if is_model_code(k)]
        return list(dict.fromkeys((kind, value[:300]) for kind, value in out))


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
    #: Identical repeats of a record in the same file (stored once).
    duplicates: int = 0
    #: Fields cut to their bound: [{reference, line, field, chars}].
    truncated: list[dict[str, Any]] = field(default_factory=list)
    notice_ids: list[int] = field(default_factory=list)
    #: Sellers whose filing or licence number a platform submission changed.
    sellers_updated: int = 0
    #: Each such change: {line, seller_id, field, before, after}.
    filing_changes: list[dict[str, Any]] = field(default_factory=list)
    #: Lines of rows holding no record by the mapping's ``blank_unless`` (not imported).
    skipped: list[int] = field(default_factory=list)
    #: Submission rows naming a seller not crawled yet: kept, applied when it is.
    pending: int = 0

    def as_dict(self) -> dict[str, Any]:
        out = {"path": self.path, "format": self.format, "read": self.read,
               "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
               "unlinked": self.unlinked, "duplicates": self.duplicates,
               "truncated": self.truncated}
        if self.skipped:
            out["skipped"] = self.skipped
        if self.pending:
            out["pending"] = self.pending
        if self.sellers_updated or self.filing_changes:
            out |= {"sellers_updated": self.sellers_updated,
                    "filing_changes": self.filing_changes}
        return out


class Problems:
    """Collects line-numbered problems; raises one InvalidInput naming them all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        #: ``(line, message code, parameters)``; plain text for a problem not coded.
        self.items: list[tuple[int, str, dict[str, Any]]] = []
        #: Lines of rows a mapping says hold no record (``blank_unless``), skipped, not errors.
        self.skipped: list[int] = []

    def add(self, line: int, message: str, /, **params: Any) -> None:
        """Note a problem on *line*: a message code of store/messages.toml (``risk_rows.*``)
        with its parameters, so the refusal names it in the reader's language."""
        self.items.append((line, message, params))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        ordered = sorted(self.items, key=lambda item: (item[0], item[1]))
        shown = Lines(tuple(ordered[:MAX_LISTED_ERRORS]))
        more = len(self.items) - len(shown.items)
        if more > 0:
            raise InvalidInput("risk_import.problems_more", path_name=self.path.name,
                               count=len(self.items), problems=shown, more=more)
        raise InvalidInput("risk_import.problems", path_name=self.path.name,
                           count=len(self.items), problems=shown)


def read_bytes(path: Path) -> bytes:
    """The file's bytes, refusing missing, unreadable and oversized files with a clear error."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise NotFound("risk_import.no_file", path=str(path)) from None
    if not path.is_file():
        raise InvalidInput("risk_import.not_a_file", path=str(path))
    if size > MAX_FILE_BYTES:
        raise InvalidInput("risk_import.too_large", path_name=path.name, size=size,
                           max_bytes=MAX_FILE_BYTES)
    data = path.read_bytes()
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        if size:
            raise InvalidInput("risk_import.empty_whitespace", path_name=path.name, size=size)
        raise InvalidInput("risk_import.empty", path_name=path.name)
    return data


def decode_text(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030/GBK (Chinese Excel exports)."""
    from sampler.textfile import decode

    return decode(data, path.name)[0]


def decode_json(data: bytes, path: Path) -> str:
    """The text of a JSON feed: UTF-8 (a BOM tolerated) or UTF-16 with a BOM, nothing else.

    JSON exchanged between systems must be UTF-8 (RFC 8259 section 8.1).  The spreadsheet
    fallback to GB18030 would read a feed saved in Latin-1 or cp1252 as Chinese mojibake
    without an error, so a feed in another encoding is refused, naming the line.
    """
    import codecs

    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_text(data, path)
    if b"\x00" in data[:4096]:  # NUL bytes decode as UTF-8 but are never in a UTF-8 feed
        raise InvalidInput("risk_import.nul_bytes", path_name=path.name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput("risk_import.not_utf8", path_name=path.name, line=line,
                           byte=f"0x{data[exc.start]:02x}") from None


def json_alerts(path: Path, data: bytes, problems: Problems,
                find: Callable[[Any], list[Any] | None],
                key_of: Callable[[dict[str, Any]], Any]) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """Each alert object of a JSON notice feed: its number (from 1), the line it stands on, and
    the object.

    Why here: every JSON feed (Safety Gate, Health Canada) needs the same three refusals (not
    JSON, no alert array, an alert that is not an object) and a line number for each alert so
    a problem names where it is.  JSON has no line per record, so an alert's line is where its
    key (``key_of``; e.g. the case number) first appears after the previous alert's.
    """
    text = decode_json(data, path)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(exc.lineno, "risk_rows.not_json", detail=exc.msg)
        return
    alerts = find(value)
    if alerts is None:
        problems.add(1, "risk_rows.expected_alerts")
        return
    pos = 0
    for i, rec in enumerate(alerts):
        if not isinstance(rec, dict):
            problems.add(1, "risk_rows.alert_not_object", number=i + 1)
            continue
        key = key_of(rec)
        found = text.find(json.dumps(key)[1:-1], pos) if isinstance(key, str) and key else -1
        line = text.count("\n", 0, found) + 1 if found >= 0 else 1
        pos = max(pos, found)
        yield i + 1, line, rec


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
    """Text bounded to *limit* characters, bidi and zero-width controls removed (so what a
    person reads is what matching compares); empty becomes None."""
    if value is None:
        return None
    text = strip_format(str(value)).strip()
    return text[:limit] if text else None


def row_key(prefix: str, values: dict[str, Any]) -> str:
    """A natural key from a row's content, so the same row imported twice is found again."""
    blob = json.dumps(values, sort_keys=True, ensure_ascii=False, default=str)
    return f"{prefix}:{hashlib.sha256(blob.encode()).hexdigest()}"


def _cut(value: str, limit: int, name: str, cut: dict[str, int]) -> str:
    if len(value) > limit:
        cut[name] = max(cut.get(name, 0), len(value))
        return value[:limit]
    return value


def _bound_raw(value: Any, path: str, cut: dict[str, int], depth: int = 0) -> Any:
    if isinstance(value, str):
        return _cut(value, RAW_TEXT_LIMIT, path, cut)
    if depth > 6:
        return None
    if isinstance(value, list):
        if len(value) > MAX_ITEMS:
            cut[path] = max(cut.get(path, 0), len(value))
        return [_bound_raw(v, path, cut, depth + 1) for v in value[:MAX_ITEMS]]
    if isinstance(value, dict):
        return {str(k)[:100]: _bound_raw(v, f"{path}.{k}", cut, depth + 1)
                for k, v in list(value.items())[:MAX_ITEMS]}
    return value


def bound_notice(p: ParsedNotice) -> ParsedNotice:
    """Cut every field of *p* to its bound, recording each cut in ``p.truncated``."""
    cut: dict[str, int] = {}
    p.reference = _cut(p.reference.strip(), FIELD_LIMITS["reference"], "reference", cut)
    p.title = _cut(p.title or "", FIELD_LIMITS["title"], "title", cut)
    for name in ("brand", "product", "hazard", "country", "url"):
        value = getattr(p, name)
        if value is not None:
            value = str(value).strip()
            setattr(p, name, _cut(value, FIELD_LIMITS[name], name, cut) or None)
    for name in ("models", "gtins", "batches", "pictures", "risk_types"):
        items = [str(v) for v in getattr(p, name)]
        if len(items) > MAX_ITEMS:
            cut[f"{name}[]"] = len(items)
        setattr(p, name, [_cut(v, FIELD_LIMITS[name], name, cut) for v in items[:MAX_ITEMS]])
    p.online = _bound_raw(p.online, "online", cut)
    p.measures = _bound_raw(p.measures, "measures", cut)
    p.raw = _bound_raw(p.raw, "raw", cut)
    p.truncated = cut
    return p


def _notice_fields(p: ParsedNotice) -> dict[str, Any]:
    return {"published": p.published, "title": p.title, "brand": p.brand, "product": p.product,
            "models": p.models, "hazard": p.hazard, "country": p.country, "url": p.url,
            "raw": p.raw, "gtins": p.gtins, "batches": p.batches, "online": p.online,
            "pictures": p.pictures, "measures": p.measures, "risk_types": p.risk_types,
            "truncated": p.truncated}


def _content(p: ParsedNotice) -> str:
    """The notice's content without where it stood in the file (for duplicate checks)."""
    fields = _notice_fields(p)
    fields["raw"] = {k: v for k, v in p.raw.items() if k != "line"}
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)


def dedupe_notices(parsed: list[ParsedNotice], problems: Problems,
                   result: ImportResult | None = None) -> list[ParsedNotice]:
    """One notice per (source, reference): identical repeats dropped and counted, a repeat with
    other contents is a problem naming both lines and the fields that differ."""
    first: dict[tuple[str, str], ParsedNotice] = {}
    out: list[ParsedNotice] = []
    for p in parsed:
        key = (p.source, p.reference)
        seen = first.get(key)
        if seen is None:
            first[key] = p
            out.append(p)
        elif _content(seen) == _content(p):
            if result is not None:
                result.duplicates += 1
        else:
            a, b = _notice_fields(seen), _notice_fields(p)
            differ = sorted(k for k in a if k != "raw" and a[k] != b[k]) or ["raw"]
            problems.add(p.line, "risk_rows.notice_repeated_differently", reference=p.reference,
                         first_line=seen.line, fields=", ".join(differ)[:200])
    return out


def _store_keys(session: Session, row: ForeignNotice, keys: list[tuple[str, str]]) -> None:
    have = {(k.kind, k.value): k for k in session.scalars(
        select(NoticeKey).where(NoticeKey.notice_id == row.id))}
    want = set(keys)
    for key, obj in have.items():
        if key not in want:
            session.delete(obj)
    for kind, value in keys:
        if (kind, value) not in have:
            session.add(NoticeKey(notice_id=row.id, kind=kind, value=value))


def store_notices(session: Session, parsed: list[ParsedNotice], result: ImportResult) -> None:
    """Insert new notices and update changed ones, all inside one savepoint (all or nothing).

    *parsed* must be bounded and free of duplicates (``parse_file`` sees to both).
    """
    with session.begin_nested():
        for p in parsed:
            key = (p.source, p.reference)
            fields = _notice_fields(p)
            if p.truncated:
                result.truncated.extend({"reference": p.reference, "line": p.line,
                                         "field": name, "chars": chars}
                                        for name, chars in sorted(p.truncated.items()))
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
            _store_keys(session, row, p.keys())
            result.notice_ids.append(row.id)
        session.flush()


def store_signals(session: Session, parsed: list[ParsedSignal], result: ImportResult) -> None:
    """Insert risk signals not already present (by key), linking them to listings and sellers."""
    from sampler.risk.importers.linking import Linker
    from store.filings import SUBMISSION_KINDS, apply_submission, is_pending, pending_marks

    linker = Linker(session)
    updated_sellers: set[int] = set()
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
            if p.kind in SUBMISSION_KINDS and is_pending(p.detail, link.seller_id):
                # the seller is not crawled yet: applied when it is (store.filings)
                detail |= pending_marks(p.detail)
                result.pending += 1
            if p.kind in SUBMISSION_KINDS and link.seller_id is not None:
                update = apply_submission(session, link.seller_id, p.detail, p.observed_at)
                if update is not None:
                    detail["seller_update"] = update
                    for name, change in update["fields"].items():
                        result.filing_changes.append({"line": p.line,
                                                      "seller_id": link.seller_id,
                                                      "field": name, **change})
                    if update["fields"]:
                        updated_sellers.add(link.seller_id)
            session.add(RiskSignal(
                key=p.key, kind=p.kind, source=p.source, listing_id=link.listing_id,
                seller_id=link.seller_id, platform_id=link.platform_id,
                brand=clip(p.brand, 200), observed_at=p.observed_at, value=p.value,
                detail=detail))
            result.added += 1
        result.sellers_updated = len(updated_sellers)
        session.flush()
