"""Spreadsheets (CSV or XLSX): complaints, enterprise self-reports, generic notices, spot-check
results and platforms' data submissions of listings and sellers.

Which column is which comes from a TOML mapping (``mapping.py``; shipped ones in
``sampler/risk/mappings/``, or ``--mapping FILE``): an unknown header or a missing required
column is an error naming it, every bad row is named by its line (CSV) or row (XLSX), and a file
that fits another kind better is refused saying which ("looks like an enterprise self-reports
file … --format reports").  Files may be UTF-8 (with BOM), UTF-16 or GB18030/GBK.

complaints         date, platform, seller, listing_url, product, kind, [description]
                   -> risk signals "complaint", linked to the listing (URL) or seller
reports            date, enterprise, brand, product, model, kind (defect|recall), [reference]
                   -> notices of source "report", matched to listings like foreign ones
csv                reference, date, brand, product, [model], [title], [hazard], [country], …
                   -> notices of source "csv" (or the row's source)
spot-check         产品名称, 商标/品牌, 规格型号, 生产日期/批号, 标称生产者, 被抽样单位/销售者,
                   抽查结果, 不合格项目, 检验机构 -> risk signals "spot_check" (1 = failed)
platform-listings  platform, listing_url, title, …, seller, filing_number -> "platform_listing"
platform-sellers   platform, seller, company, filing_number, licence_number -> "platform_seller"
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sampler.risk.importers.base import (
    ParsedNotice,
    ParsedSignal,
    Problems,
    clip,
    parse_date,
    row_key,
)
from sampler.risk.importers.mapping import Mapping, looks_like, shipped
from sampler.risk.importers.sheets import read_sheet
from sampler.risk.normalise import split_models
from store.filings import check_lengths

REPORT_KINDS = {"defect", "recall", "缺陷", "召回"}
MAX_ROWS = 500_000
MAX_CELL = 4000


def _rows(path: Path, data: bytes, fmt: str, problems: Problems,
          mapping: Mapping | None = None) -> list[tuple[int, dict[str, str]]]:
    """The rows of a spreadsheet as {our field: cell}, each with its line, per the mapping."""
    mapping = mapping or shipped(fmt)
    if mapping.header is not None:  # a layout without a header row: every row is a record
        _, rows = read_sheet(path, data, has_header=False)
        header = list(mapping.header)
    else:
        header, rows = read_sheet(path, data)
    if not header:
        problems.add(1, "risk_rows.no_header")
        return []
    other = looks_like(header, mapping) if mapping.source == f"{fmt}.toml" else None
    if other is not None:
        found = sorted({h for h in header if other.field_of(h) in other.distinctive})
        problems.add(1, "risk_rows.looks_like_other", other=other.name,
                     columns=", ".join(found)[:200], expected=mapping.name, kind=other.kind)
        return []
    fields, unknown, missing = mapping.resolve(header)
    for cell in unknown:
        problems.add(1, "risk_rows.unknown_column", column=repr(cell[:60]),
                     mapping=mapping.source)
    for name in missing:
        problems.add(1, "risk_rows.missing_column", name=name,
                     accepted=mapping.accepted(name)[:200])
    if unknown or missing:
        return []
    out: list[tuple[int, dict[str, str]]] = []
    for line, cells in rows:
        if len(cells) > len(fields):
            problems.add(line, "risk_rows.cells_vs_header", cells=len(cells), fields=len(fields))
            continue
        if mapping.header is not None and len(cells) != len(fields):
            problems.add(line, "risk_rows.cells_vs_layout", cells=len(cells),
                         layout=mapping.source, fields=len(fields))
            continue
        row = {f: c.strip()[:MAX_CELL] for f, c in zip(fields, cells, strict=False) if f}
        if mapping.blank_unless and not any(row.get(f) for f in mapping.blank_unless):
            problems.skipped.append(line)
            continue
        for name, value in mapping.defaults.items():
            if not row.get(name):
                row[name] = value
        out.append((line, row))
    return out


def _date(row: dict[str, str], line: int, problems: Problems, required: bool) -> dt.date | None:
    try:
        value = parse_date(row.get("date"))
    except ValueError as exc:
        problems.add(line, "risk_rows.field_value", field="date", detail=str(exc)[:200])
        return None
    if value is None and required:
        problems.add(line, "risk_rows.date_empty")
    return value


def parse_complaints(path: Path, data: bytes, problems: Problems,
                     mapping: Mapping | None = None) -> list[ParsedSignal]:
    out: list[ParsedSignal] = []
    for line, row in _rows(path, data, "complaints", problems, mapping):
        date = _date(row, line, problems, required=True)
        if date is None:
            continue
        if not (row.get("listing_url") or row.get("seller") or row.get("product")):
            problems.add(line, "risk_rows.complaint_needs_subject")
            continue
        content = {k: row.get(k, "") for k in ("date", "platform", "seller", "listing_url",
                                                "product", "kind", "description")}
        content["date"] = date.isoformat()
        out.append(ParsedSignal(
            key=row_key("complaint", content), kind="complaint", source="complaints", line=line,
            observed_at=dt.datetime.combine(date, dt.time(), tzinfo=dt.UTC),
            listing_url=row.get("listing_url") or None, platform=row.get("platform") or None,
            seller=row.get("seller") or None, brand=clip(row.get("brand"), 200),
            product=clip(row.get("product"), 500),
            detail={k: v for k, v in content.items() if v} | {"line": line}))
    return out


def parse_reports(path: Path, data: bytes, problems: Problems,
                  mapping: Mapping | None = None) -> list[ParsedNotice]:
    out: list[ParsedNotice] = []
    for line, row in _rows(path, data, "reports", problems, mapping):
        date = _date(row, line, problems, required=True)
        kind = (row.get("kind") or "").lower()
        if kind not in REPORT_KINDS:
            problems.add(line, "risk_rows.report_kind", kind=repr(row.get("kind", "")[:40]))
            continue
        if date is None:
            continue
        if not row.get("product"):
            problems.add(line, "risk_rows.product_empty")
            continue
        reference = row.get("reference") or row_key(
            "R", {k: row.get(k, "") for k in ("date", "enterprise", "brand", "product", "model",
                                                "kind")})[:18]
        out.append(ParsedNotice(
            source="report", reference=reference, line=line, published=date,
            title=f"{row.get('enterprise', '')}: {row.get('product', '')}"[:2000],
            brand=row.get("brand") or row.get("enterprise") or None,
            product=row.get("product") or None, models=split_models(row.get("model")),
            hazard=row.get("description") or None, country=row.get("country") or None,
            raw={"enterprise": row.get("enterprise"), "kind": kind, "line": line}))
    return out


def parse_generic(path: Path, data: bytes, problems: Problems,
                  mapping: Mapping | None = None) -> list[ParsedNotice]:
    out: list[ParsedNotice] = []
    for line, row in _rows(path, data, "csv", problems, mapping):
        date = _date(row, line, problems, required=False)
        if not row.get("reference"):
            problems.add(line, "risk_rows.reference_empty")
            continue
        if not (row.get("brand") or row.get("product")):
            problems.add(line, "risk_rows.notice_needs_brand_or_product")
            continue
        if line in {x[0] for x in problems.items}:
            continue
        source = (row.get("source") or "csv").lower()[:32]
        out.append(ParsedNotice(
            source=source, reference=row["reference"][:100], line=line, published=date,
            title=row.get("title") or row.get("product") or "", brand=row.get("brand") or None,
            product=row.get("product") or None, models=split_models(row.get("model")),
            hazard=row.get("hazard") or None, country=row.get("country") or None,
            url=row.get("listing_url") or None, raw={"line": line}))
    return out


def _signal(kind: str, source: str, line: int, row: dict[str, str], date: dt.date | None,
            **extra: object) -> ParsedSignal:
    content = {k: v for k, v in row.items() if v}
    when = date or dt.date.today()
    return ParsedSignal(
        key=row_key(kind, content), kind=kind, source=source, line=line,
        observed_at=dt.datetime.combine(when, dt.time(), tzinfo=dt.UTC),
        listing_url=row.get("listing_url") or None, platform=row.get("platform") or None,
        seller=row.get("seller") or row.get("seller_id") or None,
        brand=clip(row.get("brand"), 200), product=clip(row.get("product"), 500),
        detail=content | {"line": line} | dict(extra))


def _norm_value(value: str) -> str:
    return "".join(value.split()).casefold()


def parse_spot_check(path: Path, data: bytes, problems: Problems,
                     mapping: Mapping | None = None) -> list[ParsedSignal]:
    """Spot-check result rows: value 1 for a failed sample, 0 for a passed one."""
    mapping = mapping or shipped("spot-check")
    fails = {_norm_value(v) for v in mapping.extra.get("fail_values", [])}
    passes = {_norm_value(v) for v in mapping.extra.get("pass_values", [])}
    out: list[ParsedSignal] = []
    for line, row in _rows(path, data, "spot-check", problems, mapping):
        result = _norm_value(row.get("result", ""))
        if not row.get("product"):
            problems.add(line, "risk_rows.spot_check_product_empty")
            continue
        if result in fails or (row.get("failed_items") and result not in passes):
            value = 1.0
        elif result in passes:
            value = 0.0
        else:
            problems.add(line, "risk_rows.spot_check_result", result=repr(row.get("result", "")[:40]),
                         passes=", ".join(sorted(passes)), fails=", ".join(sorted(fails)))
            continue
        date = _date(row, line, problems, required=False) if row.get("date") else None
        sig = _signal("spot_check", "spot-check", line, row, date, failed=bool(value))
        sig.value = value
        sig.seller = row.get("seller") or None
        out.append(sig)
    return out


def parse_platform_listings(path: Path, data: bytes, problems: Problems,
                            mapping: Mapping | None = None) -> list[ParsedSignal]:
    """A platform's listings submission; every row must name its listing's URL."""
    out: list[ParsedSignal] = []
    for line, row in _rows(path, data, "platform-listings", problems, mapping):
        if not row.get("listing_url") or not row.get("platform"):
            problems.add(line, "risk_rows.listing_row_needs")
            continue
        if (too_long := check_lengths(row)) is not None:
            problems.add(line, "risk_rows.number_too_long", field=too_long[0],
                         length=too_long[1], allowed=too_long[2])
            continue
        date = _date(row, line, problems, required=False) if row.get("date") else None
        out.append(_signal("platform_listing", "platform", line, row, date))
    for sig in out:
        # information, not risk by itself: the filing number it gives updates the seller
        # (store/filings.py), and an unfiled seller scores as a factor
        sig.value = 0.0
    return out


def parse_platform_sellers(path: Path, data: bytes, problems: Problems,
                           mapping: Mapping | None = None) -> list[ParsedSignal]:
    """A platform's sellers submission with filing and licence numbers."""
    out: list[ParsedSignal] = []
    for line, row in _rows(path, data, "platform-sellers", problems, mapping):
        if not row.get("platform") or not (row.get("seller") or row.get("seller_id")):
            problems.add(line, "risk_rows.seller_row_needs")
            continue
        if (too_long := check_lengths(row)) is not None:
            problems.add(line, "risk_rows.number_too_long", field=too_long[0],
                         length=too_long[1], allowed=too_long[2])
            continue
        date = _date(row, line, problems, required=False) if row.get("date") else None
        sig = _signal("platform_seller", "platform", line, row, date)
        sig.value = 0.0
        out.append(sig)
    return out
