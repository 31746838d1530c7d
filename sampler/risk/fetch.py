"""Pulling new notices from the public endpoints (``spotcheck signals fetch``), when online.

- **safety-gate**: the weekly index (``settings.signals_safety_gate_url``) lists the weekly
  reports; each report published on or after *since* is downloaded from the URL the index gives
  and imported;
- **cpsc**: the Recalls API with ``RecallDateStart=since`` (``format=json``);
- **health-canada**: the open-data JSON (one file of every alert); the alerts updated on or after
  *since* are kept.

*since* defaults to the newest publication date already on record for the source (else 90 days
back).  Every download is kept under ``<home>/signals/<source>/`` named by its SHA-256 (what was
imported can be shown later) and imported with the offline importer, so a fetched file obeys
every rule a file given by hand does (bounded, atomic, idempotent).  An answer without new
notices imports nothing and says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sampler.risk.importers import ImportResult, import_file
from sampler.risk.importers.base import Problems, parse_date
from sampler.risk.importers.safety_gate import parse_index
from store import messages
from store.errors import InvalidInput, ServiceUnavailable
from store.messages import Lines
from store.models import ForeignNotice
from store.settings import Settings

SOURCES = ("safety-gate", "cpsc", "health-canada")
DEFAULT_LOOKBACK_DAYS = 90
#: A downloaded feed larger than this is refused (the importers' own bound).
MAX_DOWNLOAD = 200 * 1024 * 1024


@dataclass
class FetchResult:
    """What one fetch did: files downloaded and imported, notices added or updated."""

    source: str
    since: str
    downloads: list[dict[str, Any]] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    notice_ids: list[int] = field(default_factory=list)
    #: Why nothing was imported, coded (``{"code": "risk_notes.…", "params": {…}}``, read in
    #: either language with :meth:`note_text`); ``note`` is its English text.
    note_code: dict[str, Any] | None = None

    @property
    def note(self) -> str:
        return self.note_text("en")

    def note_text(self, locale: str = "en") -> str:
        if not self.note_code:
            return ""
        return messages.render(self.note_code["code"], self.note_code["params"], locale)

    def noted(self, name: str, **params: Any) -> None:
        self.note_code = {"code": f"risk_notes.{name}", "params": params}

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "since": self.since, "downloads": self.downloads,
                "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "note": self.note, "note_code": self.note_code}


def default_since(session: Session, source: str) -> dt.date:
    """The newest publication date on record for *source*, else 90 days back."""
    newest = session.scalar(select(func.max(ForeignNotice.published))
                            .where(ForeignNotice.source == source))
    return newest or dt.date.today() - dt.timedelta(days=DEFAULT_LOOKBACK_DAYS)


def _get(client: httpx.Client, url: str, **params: Any) -> bytes:
    """The body at *url*.  An endpoint that cannot be reached (refused, unknown host, timed
    out) or answers with a server error is a service unavailable (exit 6); another status
    means the configured URL is wrong (exit 2)."""
    try:
        with client.stream("GET", url, params=params or None) as r:
            if r.status_code >= 500:
                raise ServiceUnavailable("risk_fetch.http_status", url=url, status=r.status_code)
            if r.status_code != 200:
                raise InvalidInput("risk_fetch.http_status", url=url, status=r.status_code)
            chunks, size = [], 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > MAX_DOWNLOAD:
                    raise InvalidInput("risk_fetch.too_large", url=url, max_bytes=MAX_DOWNLOAD)
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise ServiceUnavailable("risk_fetch.cannot_fetch", url=url, error=type(exc).__name__,
                           detail=str(exc)[:200]) from None


def _keep(settings: Settings, source: str, data: bytes, suffix: str) -> Path:
    sha = hashlib.sha256(data).hexdigest()
    folder = Path(settings.home) / "signals" / source
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{sha}{suffix}"
    if not path.exists():
        path.write_bytes(data)
    return path


def _import(session: Session, result: FetchResult, path: Path, fmt: str, url: str) -> None:
    imported: ImportResult = import_file(session, path, fmt)
    result.added += imported.added
    result.updated += imported.updated
    result.unchanged += imported.unchanged
    result.notice_ids += imported.notice_ids
    result.downloads.append({"url": url, "file": str(path), "read": imported.read,
                             "added": imported.added})


def _safety_gate(session: Session, client: httpx.Client, settings: Settings,
                 since: dt.date, result: FetchResult) -> None:
    index_url = settings.signals_safety_gate_url
    data = _get(client, index_url)
    problems = Problems(Path("weekly-index.xml"))
    reports = parse_index(data, problems)
    problems.raise_if_any()
    todo = [r for r in reports if r.url and (r.published is None or r.published >= since)]
    if not todo:
        result.noted("no_weekly_report", since=since.isoformat(), listed=len(reports))
        return
    for report in todo:
        assert report.url is not None
        body = _get(client, report.url)
        path = _keep(settings, "safety-gate", body, ".xml")
        try:
            _import(session, result, path, "safety-gate", report.url)
        except InvalidInput as exc:
            lines = exc.params.get("problems")
            if isinstance(lines, Lines) and any(  # a week without alerts
                    code == "risk_rows.report_without_notifications"
                    for _line, code, _params in lines.items):
                result.downloads.append({"url": report.url, "file": str(path), "read": 0,
                                         "added": 0})
                continue
            raise


def _cpsc(session: Session, client: httpx.Client, settings: Settings, since: dt.date,
          result: FetchResult) -> None:
    url = settings.signals_cpsc_url
    data = _get(client, url, format="json", RecallDateStart=since.isoformat())
    try:
        records = json.loads(data.decode("utf-8-sig"))
    except ValueError as exc:
        raise InvalidInput("risk_fetch.not_json", url=url, detail=str(exc)[:200]) from None
    if isinstance(records, list) and not records:
        result.noted("no_recall", since=since.isoformat())
        return
    path = _keep(settings, "cpsc", data, ".json")
    _import(session, result, path, "cpsc", url)


def _health_canada(session: Session, client: httpx.Client, settings: Settings,
                   since: dt.date, result: FetchResult) -> None:
    url = settings.signals_health_canada_url
    data = _get(client, url)
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except ValueError as exc:
        raise InvalidInput("risk_fetch.not_json", url=url, detail=str(exc)[:200]) from None
    alerts = value if isinstance(value, list) else (value or {}).get("data")
    if not isinstance(alerts, list):
        raise InvalidInput("risk_fetch.not_alert_array", url=url)
    kept_all = _keep(settings, "health-canada", data, ".json")  # the answer as received

    def recent(rec: Any) -> bool:
        try:
            when = parse_date(rec.get("Last updated")) if isinstance(rec, dict) else None
        except ValueError:
            return True  # let the importer name the bad date
        return when is None or when >= since
    new = [rec for rec in alerts if recent(rec)]
    if not new:
        result.noted("no_alert_updated", since=since.isoformat(), in_feed=len(alerts))
        result.downloads.append({"url": url, "file": str(kept_all), "read": 0, "added": 0})
        return
    subset = json.dumps(new, ensure_ascii=False, indent=1).encode("utf-8")
    path = _keep(settings, "health-canada", subset, ".since.json")
    _import(session, result, path, "health-canada", url)


def fetch(session: Session, source: str, settings: Settings, since: dt.date | None = None,
          transport: httpx.BaseTransport | None = None) -> FetchResult:
    """Pull *source*'s notices published since *since* and import them (in the session)."""
    if source not in SOURCES:
        raise InvalidInput("risk_fetch.unknown_source", source=repr(str(source)[:40]),
                           sources=", ".join(SOURCES))
    since = since or default_since(session, source)
    result = FetchResult(source=source, since=since.isoformat())
    headers = {"User-Agent": "spotcheck-signals/1 (+inspection bureau; risk notices)",
               "Accept": "application/json, application/xml;q=0.9, */*;q=0.5"}
    with httpx.Client(timeout=settings.signals_fetch_timeout, follow_redirects=True,
                      headers=headers, transport=transport) as client:
        if source == "safety-gate":
            _safety_gate(session, client, settings, since, result)
        elif source == "cpsc":
            _cpsc(session, client, settings, since, result)
        else:
            _health_canada(session, client, settings, since, result)
    return result
