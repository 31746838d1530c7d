"""CSV sources: consumer complaints, enterprise self-reports, and a generic notice CSV.

Column names are matched case-insensitively, and Chinese headers are accepted as aliases
(inspectors' spreadsheets are in Chinese).  Files may be UTF-8 (with BOM) or GB18030.

complaints  date, platform, seller, listing_url | url, product, kind, [description]
            -> risk signals of kind "complaint", linked to the listing (by URL) or seller
reports     date, enterprise, brand, product, model, kind (defect|recall), [reference],
            [description] -> notices of source "report", matched to listings like foreign ones
csv         reference, date, brand, product, [model], [title], [hazard], [country], [url],
            [source] -> notices of source "csv" (or the row's source)
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from sampler.risk.importers.base import (
    ParsedNotice,
    ParsedSignal,
    Problems,
    clip,
    decode_text,
    parse_date,
    row_key,
)
from sampler.risk.normalise import split_models

ALIASES: dict[str, str] = {
    "日期": "date", "时间": "date", "平台": "platform", "卖家": "seller", "店铺": "seller",
    "链接": "listing_url", "商品链接": "listing_url", "url": "listing_url",
    "商品": "product", "产品": "product", "产品名称": "product", "类型": "kind", "投诉类型": "kind",
    "描述": "description", "说明": "description", "企业": "enterprise", "企业名称": "enterprise",
    "品牌": "brand", "型号": "model", "models": "model", "编号": "reference",
    "通报编号": "reference", "标题": "title", "危害": "hazard", "国家": "country",
    "来源": "source", "listing url": "listing_url",
}
REQUIRED = {
    "complaints": ("date",),
    "reports": ("date", "enterprise", "product", "kind"),
    "csv": ("reference", "brand", "product"),
}
REPORT_KINDS = {"defect", "recall", "缺陷", "召回"}
#: Columns only one kind of file has: a file showing another kind's and none of its own is
#: refused with the reason (a self-reports file given as complaints would otherwise import, its
#: enterprise column silently dropped).
DISTINCTIVE: dict[str, set[str]] = {
    "complaints": {"listing_url", "seller", "platform"},
    "reports": {"enterprise"},
    "csv": {"reference", "hazard", "source"},
}
KIND_NAMES = {"complaints": "a complaints", "reports": "an enterprise self-reports",
              "csv": "a generic notices"}


def _other_kind(fmt: str, names: list[str]) -> tuple[str, list[str]] | None:
    have = set(names)
    if DISTINCTIVE[fmt] & have:
        return None
    for kind, cols in DISTINCTIVE.items():
        if kind != fmt and cols & have:
            return kind, sorted(cols & have)
    return None
MAX_ROWS = 500_000
MAX_CELL = 4000


def _rows(path: Path, data: bytes, fmt: str, problems: Problems
          ) -> list[tuple[int, dict[str, str]]]:
    text = decode_text(data, path)
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        problems.add(1, "empty file")
        return []
    except csv.Error as exc:
        problems.add(1, f"unreadable CSV header: {exc}")
        return []
    names = []
    for col in header:
        key = col.strip().lower()
        names.append(ALIASES.get(key, ALIASES.get(col.strip(), key.replace(" ", "_"))))
    other = _other_kind(fmt, names)
    if other is not None:
        kind, cols = other
        problems.add(1, f"this looks like {KIND_NAMES[kind]} file (columns {', '.join(cols)}), "
                        f"not {KIND_NAMES[fmt]} file: import it with --format {kind}")
        return []
    missing = [c for c in REQUIRED[fmt] if c not in names]
    if fmt == "complaints" and not {"listing_url", "seller", "product"} & set(names):
        missing.append("listing_url|seller|product")
    if missing:
        problems.add(1, f"missing column(s) {', '.join(missing)} (header: {', '.join(header)[:300]})")
        return []
    out: list[tuple[int, dict[str, str]]] = []
    line = reader.line_num
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(names):
                problems.add(start, f"{len(cells)} cells but the header has {len(names)}")
                continue
            if len(out) >= MAX_ROWS:
                problems.add(start, f"more than {MAX_ROWS} rows; split the file")
                break
            out.append((start, {n: c.strip()[:MAX_CELL] for n, c in zip(names, cells, strict=False)}))
    except csv.Error as exc:
        problems.add(reader.line_num, f"unreadable CSV: {exc}")
    return out


def _date(row: dict[str, str], line: int, problems: Problems, required: bool) -> dt.date | None:
    try:
        value = parse_date(row.get("date"))
    except ValueError as exc:
        problems.add(line, f"date: {exc}")
        return None
    if value is None and required:
        problems.add(line, "date is empty")
    return value


def parse_complaints(path: Path, data: bytes, problems: Problems) -> list[ParsedSignal]:
    out: list[ParsedSignal] = []
    for line, row in _rows(path, data, "complaints", problems):
        date = _date(row, line, problems, required=True)
        if date is None:
            continue
        if not (row.get("listing_url") or row.get("seller") or row.get("product")):
            problems.add(line, "a complaint needs a listing URL, a seller or a product text")
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


def parse_reports(path: Path, data: bytes, problems: Problems) -> list[ParsedNotice]:
    out: list[ParsedNotice] = []
    for line, row in _rows(path, data, "reports", problems):
        date = _date(row, line, problems, required=True)
        kind = (row.get("kind") or "").lower()
        if kind not in REPORT_KINDS:
            problems.add(line, f"kind {row.get('kind')!r} must be defect or recall")
            continue
        if date is None:
            continue
        if not row.get("product"):
            problems.add(line, "product is empty")
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


def parse_generic(path: Path, data: bytes, problems: Problems) -> list[ParsedNotice]:
    out: list[ParsedNotice] = []
    for line, row in _rows(path, data, "csv", problems):
        date = _date(row, line, problems, required=False)
        if not row.get("reference"):
            problems.add(line, "reference is empty")
            continue
        if not (row.get("brand") or row.get("product")):
            problems.add(line, "a notice needs a brand or a product")
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
