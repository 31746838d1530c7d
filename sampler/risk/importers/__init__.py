"""Importing risk information: foreign notices, enterprise self-reports and complaints.

``import_file(session, path, fmt)`` reads one file of a known format, checks all of it, and
writes it atomically (all or nothing) and idempotently (a second import adds nothing).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from sampler.risk.importers import cpsc, health_canada, safety_gate, tabular
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
from sampler.risk.importers.mapping import load_mapping
from sampler.risk.importers.sniff import check_kind
from store.errors import InvalidInput

#: Formats and what they hold.
FORMATS: dict[str, str] = {
    "cpsc": "US CPSC Recalls API JSON",
    "safety-gate": "EU Safety Gate weekly report (XML, current and RAPEX layouts) or alerts JSON",
    "health-canada": "Health Canada recalls and safety alerts JSON (HCRSAMOpenData.json)",
    "complaints": "consumer complaints CSV",
    "reports": "enterprise self-reports CSV (defects, recalls)",
    "csv": "generic notice CSV",
    "spot-check": "spot-check result table (监督抽查结果; CSV or XLSX)",
    "platform-listings": "platform's listings submission (平台报送商品数据; CSV or XLSX)",
    "platform-sellers": "platform's sellers submission (平台报送商家数据; CSV or XLSX)",
}
#: Spreadsheet formats (a --mapping file may say which column is which).
SHEETS = ("complaints", "reports", "csv", "spot-check", "platform-listings", "platform-sellers")


def parse_file(path: str | Path, fmt: str, result: ImportResult | None = None,
               mapping: str | Path | None = None) -> list[ParsedNotice] | list[ParsedSignal]:
    """Parse a whole file, raising InvalidInput with every problem's line number.

    Refuses an empty file, a file of another kind than *fmt* (with the reason), and notices
    repeated with different contents; identical repeats are counted in *result*.
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise InvalidInput("risk_import.unknown_format", fmt=repr(str(fmt)[:40]),
                           formats=", ".join(FORMATS))
    data = read_bytes(path)
    check_kind(path, data, fmt)
    problems = Problems(path)
    parsed: list[ParsedNotice] | list[ParsedSignal]
    sheet_map = None
    if mapping is not None:
        if fmt not in SHEETS:
            raise InvalidInput("risk_import.mapping_not_for_feed", sheets=", ".join(SHEETS),
                               fmt=fmt)
        sheet_map = load_mapping(mapping)
        if sheet_map.kind != fmt:
            raise InvalidInput("risk_import.mapping_other_kind", source=sheet_map.source,
                               kind=sheet_map.kind, fmt=fmt)
    if fmt == "cpsc":
        parsed = cpsc.parse(path, data, problems)
    elif fmt == "safety-gate":
        parsed = safety_gate.parse(path, data, problems)
    elif fmt == "health-canada":
        parsed = health_canada.parse(path, data, problems)
    elif fmt == "complaints":
        parsed = tabular.parse_complaints(path, data, problems, sheet_map)
    elif fmt == "reports":
        parsed = tabular.parse_reports(path, data, problems, sheet_map)
    elif fmt == "spot-check":
        parsed = tabular.parse_spot_check(path, data, problems, sheet_map)
    elif fmt == "platform-listings":
        parsed = tabular.parse_platform_listings(path, data, problems, sheet_map)
    elif fmt == "platform-sellers":
        parsed = tabular.parse_platform_sellers(path, data, problems, sheet_map)
    else:
        parsed = tabular.parse_generic(path, data, problems, sheet_map)
    if parsed and isinstance(parsed[0], ParsedNotice):
        notices = [bound_notice(p) for p in parsed if isinstance(p, ParsedNotice)]
        parsed = dedupe_notices(notices, problems, result)
    problems.raise_if_any()
    if result is not None:
        result.skipped = list(problems.skipped)
    if not parsed:
        raise InvalidInput("risk_import.no_records", path_name=path.name, fmt=fmt)
    return parsed


def import_file(session: Session, path: str | Path, fmt: str,
                mapping: str | Path | None = None) -> ImportResult:
    """Import *path* as *fmt* into the session's transaction; nothing is written on error.

    *mapping*: a TOML file saying which spreadsheet column is which (spreadsheet formats).
    """
    result = ImportResult(path=str(path), format=fmt)
    parsed = parse_file(path, fmt, result, mapping)
    result.read = len(parsed) + result.duplicates
    notices = [p for p in parsed if isinstance(p, ParsedNotice)]
    signals = [p for p in parsed if isinstance(p, ParsedSignal)]
    if notices:
        store_notices(session, notices, result)
    if signals:
        store_signals(session, signals, result)
    return result


#: ``base``, ``safety_gate`` and ``sg_fields`` are the modules the fetchers and the matcher
#: read notices with.
__all__ = ["FORMATS", "SHEETS", "ImportResult", "base", "import_file", "parse_file",
           "safety_gate", "sg_fields"]
