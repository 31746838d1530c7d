"""Importing risk information: foreign notices, enterprise self-reports and complaints.

``import_file(session, path, fmt)`` reads one file of a known format, checks all of it, and
writes it atomically (all or nothing) and idempotently (a second import adds nothing).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from sampler.risk.importers import cpsc, safety_gate, tabular
from sampler.risk.importers.base import (
    ImportResult,
    ParsedNotice,
    ParsedSignal,
    Problems,
    bound_notice,
    dedupe_notices,
    read_bytes,
    store_notices,
    store_signals,
)
from sampler.risk.importers.sniff import check_kind
from store.errors import InvalidInput

#: Formats and what they hold.
FORMATS: dict[str, str] = {
    "cpsc": "US CPSC Recalls API JSON",
    "safety-gate": "EU Safety Gate weekly report (XML, current and RAPEX layouts) or alerts JSON",
    "complaints": "consumer complaints CSV",
    "reports": "enterprise self-reports CSV (defects, recalls)",
    "csv": "generic notice CSV",
}


def parse_file(path: str | Path, fmt: str, result: ImportResult | None = None
               ) -> list[ParsedNotice] | list[ParsedSignal]:
    """Parse a whole file, raising InvalidInput with every problem's line number.

    Refuses an empty file, a file of another kind than *fmt* (with the reason), and notices
    repeated with different contents; identical repeats are counted in *result*.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; one of: {', '.join(FORMATS)}")
    data = read_bytes(path)
    check_kind(path, data, fmt)
    problems = Problems(path)
    parsed: list[ParsedNotice] | list[ParsedSignal]
    if fmt == "cpsc":
        parsed = cpsc.parse(path, data, problems)
    elif fmt == "safety-gate":
        parsed = safety_gate.parse(path, data, problems)
    elif fmt == "complaints":
        parsed = tabular.parse_complaints(path, data, problems)
    elif fmt == "reports":
        parsed = tabular.parse_reports(path, data, problems)
    else:
        parsed = tabular.parse_generic(path, data, problems)
    if parsed and isinstance(parsed[0], ParsedNotice):
        notices = [bound_notice(p) for p in parsed if isinstance(p, ParsedNotice)]
        parsed = dedupe_notices(notices, problems, result)
    problems.raise_if_any()
    if not parsed:
        raise InvalidInput(f"{path.name} holds no records: an empty {FORMATS[fmt]} file")
    return parsed


def import_file(session: Session, path: str | Path, fmt: str) -> ImportResult:
    """Import *path* as *fmt* into the session's transaction; nothing is written on error."""
    result = ImportResult(path=str(path), format=fmt)
    parsed = parse_file(path, fmt, result)
    result.read = len(parsed) + result.duplicates
    notices = [p for p in parsed if isinstance(p, ParsedNotice)]
    signals = [p for p in parsed if isinstance(p, ParsedSignal)]
    if notices:
        store_notices(session, notices, result)
    if signals:
        store_signals(session, signals, result)
    return result


__all__ = ["FORMATS", "ImportResult", "import_file", "parse_file"]
