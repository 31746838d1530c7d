"""EU Safety Gate (formerly RAPEX): the weekly report in its current and older layouts, the weekly
index, and alerts as JSON.

Layouts read:

- **current weekly report** (``/api/download/weeklyReport/detail/xml/{id}``): root
  ``<Safety-Gate>``, a header (``report_language``, ``report_date`` DD/MM/YYYY, ``report_year``,
  ``report_week``, ``report_addendum``) and one ``<notifications>`` element per alert (plural,
  ``xsi:type="webReportXmlWeeklyReportDetail…ContentDto"``) with ``order``, ``caseNumber``,
  ``reference`` (the alert's URL), ``category``, ``product``, ``brand``, ``name``,
  ``type_numberOfModel``, ``batchNumber``, ``barcode``, ``riskType``, ``danger``, ``measures``,
  ``URLrecall``, ``description``, ``notifyingCountry``, ``countryOfOrigin``, ``type``, ``level``,
  ``pictures/picture``, ``onlineTrader``, ``companyRecallCode``, ``productionDates``;
- **weekly index** (``/api/download/weeklyReport/list/xml/en``): ``<Safety-Gate>`` with repeated
  ``<weeklyReport>`` (reference ``Report-2026-39``, publicationDate, URL of the detail) — read by
  ``parse_index`` for ``spotcheck signals fetch``; given to an import it is refused with why;
- **older RAPEX export**: ``<notification>`` elements (any namespace) with the same fields or
  their variant spellings (typeNumberOfModel, measuresTaken, productType, productCategory, …);
- **alerts JSON**: an array of alert objects (or ``{"content"|"alerts"|"notifications": […]}``)
  using the same field names.

Values are mostly CDATA; a missing value is ``xsi:nil="true"``, an empty element or an empty
CDATA, whatever the indentation.  Every element of an alert is kept in ``raw`` (unknown ones too);
barcodes, model numbers, batch numbers, marketplaces (ASIN or URL), pictures, measures and risk
types are split into lists (``sg_fields``).

The XML parser is hardened: no DTD loading, no entity expansion, no network, and a document type
declaration is refused outright.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from sampler.risk.importers.base import ParsedNotice, Problems, json_alerts, parse_date
from sampler.risk.importers.sg_fields import (
    split_barcodes,
    split_list,
    split_measures,
    split_online,
)
from sampler.risk.normalise import split_models

SOURCE = "safety-gate"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSI_NIL = f"{{{XSI}}}nil"
XSI_TYPE = f"{{{XSI}}}type"
#: Spellings of the same field in older exports -> the current name.
ALIASES = {"typeNumberOfModel": "type_numberOfModel", "type_numberofmodel": "type_numberOfModel",
           "measuresTaken": "measures", "productType": "product",
           "productCategory": "category", "urlRecall": "URLrecall", "riskLevel": "level",
           "batchNumber_barcode": "batchNumber_barcode"}
HEADER = ("report_language", "report_date", "report_year", "report_week", "report_addendum")


@dataclass(frozen=True)
class WeeklyReportRef:
    """One entry of the weekly index: a published weekly report and where its detail is."""

    reference: str
    published: dt.date | None
    url: str | None
    report_id: str | None


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _value(el: etree._Element) -> str | None:
    """The element's text, None for xsi:nil, an empty element or an empty CDATA."""
    if el.get(XSI_NIL) in ("true", "1"):
        return None
    text = "".join(el.itertext()).strip()
    return text or None


def _element_fields(el: etree._Element) -> dict[str, Any]:
    """Every child of an alert element: text, or a list of texts for a repeated or nested one
    (``pictures/picture``)."""
    values: dict[str, Any] = {}
    for child in el:
        name = _local(child.tag)
        if not name:
            continue
        name = ALIASES.get(name, name)
        nested = [c for c in child if _local(c.tag)]
        if nested:
            value: Any = [v for v in (_value(c) for c in nested) if v is not None]
        else:
            value = _value(child)
        if name in values:  # a repeated element: keep every value
            prev = values[name]
            values[name] = (prev if isinstance(prev, list) else [prev]) + (
                value if isinstance(value, list) else [value])
        else:
            values[name] = value
    if el.get(XSI_TYPE):
        values["xsiType"] = el.get(XSI_TYPE)
    return values


def _text(values: dict[str, Any], name: str) -> str | None:
    value = values.get(name)
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value if v)
    return str(value).strip() or None if value is not None else None


def _is_url(text: str | None) -> bool:
    return bool(text and re.match(r"(?i)^https?://", text))


def alert_to_notice(values: dict[str, Any], line: int, problems: Problems,
                    report: dict[str, Any] | None = None,
                    report_date: dt.date | None = None) -> ParsedNotice | None:
    """One alert's fields (any layout) as a notice; None (with a problem) when unusable."""
    ref_field = _text(values, "reference")
    case = _text(values, "caseNumber")
    # Current layout: reference is the alert's URL and caseNumber the key; older: reference key.
    reference = case if _is_url(ref_field) or not ref_field else ref_field
    if not reference:
        problems.add(line, "risk_rows.alert_without_reference")
        return None
    try:
        published = parse_date(_text(values, "publicationDate") or _text(values, "date")) \
            or report_date
    except ValueError as exc:
        problems.add(line, "risk_rows.alert_field_value", reference=reference, field="date",
                     detail=str(exc)[:200])
        return None
    brand, label = _text(values, "brand"), _text(values, "name")
    product = _text(values, "product") or _text(values, "category")
    batch_text = _text(values, "batchNumber")
    barcode_text = _text(values, "barcode")
    combined = _text(values, "batchNumber_barcode")  # older: one field for both
    gtins, not_gtin = split_barcodes(" ; ".join(x for x in (barcode_text, combined) if x))
    batches = split_list(batch_text)
    if combined:
        batches += [b for b in not_gtin if b not in batches]
    pictures = values.get("pictures") or values.get("picture") or []
    if isinstance(pictures, str):
        pictures = [pictures]
    risk_types = split_list(_text(values, "riskType"), r"[,;]| / ")
    danger = _text(values, "danger")
    url = ref_field if _is_url(ref_field) else _text(values, "URLrecall")
    raw = {k: v for k, v in values.items() if v not in (None, [], "")}
    if report:
        raw["report"] = report
    raw["line"] = line
    return ParsedNotice(
        source=SOURCE, reference=reference, line=line, published=published,
        title=" — ".join(x for x in (brand, label, product) if x),
        brand=brand, product=" ".join(x for x in (label, product) if x) or None,
        models=split_models(_text(values, "type_numberOfModel")),
        hazard="; ".join(x for x in (", ".join(risk_types) or None, danger) if x) or None,
        country=_text(values, "countryOfOrigin"), url=url, raw=raw,
        gtins=gtins, batches=batches, online=split_online(_text(values, "onlineTrader")),
        pictures=[str(p) for p in pictures if p], measures=split_measures(_text(values, "measures")),
        risk_types=risk_types)


def _root(data: bytes, problems: Problems) -> etree._Element | None:
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        problems.add(exc.lineno or 1, "risk_rows.not_xml", detail=exc.msg)
        return None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        problems.add(1, "risk_rows.doctype")
        return None
    return root


def parse_index(data: bytes, problems: Problems) -> list[WeeklyReportRef]:
    """The weekly index (``<Safety-Gate><weeklyReport>…``), oldest first."""
    root = _root(data, problems)
    if root is None:
        return []
    out: list[WeeklyReportRef] = []
    for el in root.iter():
        if _local(el.tag) != "weeklyReport":
            continue
        values = _element_fields(el)
        reference = _text(values, "reference")
        if not reference:
            problems.add(el.sourceline or 1, "risk_rows.weekly_report_without_reference")
            continue
        url = (_text(values, "URL") or _text(values, "url") or "").rstrip(", ") or None
        try:
            published = parse_date(_text(values, "publicationDate"))
        except ValueError as exc:
            problems.add(el.sourceline or 1, "risk_rows.weekly_report_value", reference=reference,
                         detail=str(exc)[:200])
            continue
        m = re.search(r"/detail/xml/(\d+)", url or "")
        out.append(WeeklyReportRef(reference, published, url,
                                   m.group(1) if m else _text(values, "id")))

    def order(r: WeeklyReportRef) -> tuple[int, int]:
        m = re.search(r"(\d{4})-(\d{1,2})", r.reference)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    return sorted(out, key=order)


def _parse_xml(data: bytes, problems: Problems) -> list[ParsedNotice]:
    root = _root(data, problems)
    if root is None:
        return []
    children = {_local(c.tag) for c in root}
    if "weeklyReport" in children and "notifications" not in children:
        problems.add(root.sourceline or 1, "risk_rows.weekly_index")
        return []
    notices: list[ParsedNotice] = []
    if _local(root.tag) == "Safety-Gate":  # the current weekly report
        header = {name: _value(el) for el in root if (name := _local(el.tag)) in HEADER}
        try:
            report_date = parse_date(header.get("report_date"))
        except ValueError as exc:
            problems.add(1, "risk_rows.field_value", field="report_date", detail=str(exc)[:200])
            return []
        report = {k: v for k, v in header.items() if v is not None}
        alerts = [el for el in root if _local(el.tag) == "notifications"]
        if not alerts and "notification" not in {_local(e.tag) for e in root.iter()}:
            problems.add(root.sourceline or 1, "risk_rows.report_without_notifications")
            return []
        for el in alerts:
            notice = alert_to_notice(_element_fields(el), el.sourceline or 1, problems, report,
                                     report_date)
            if notice is not None:
                notices.append(notice)
        if alerts:
            return notices
    # the older RAPEX layout
    report_date = None
    for el in root:
        if _local(el.tag) in ("publicationDate", "weekDate", "reportDate", "date"):
            try:
                report_date = parse_date(_value(el))
            except ValueError:
                report_date = None
            break
    found = 0
    for el in root.iter():
        if _local(el.tag) != "notification":
            continue
        found += 1
        notice = alert_to_notice(_element_fields(el), el.sourceline or 1, problems, None,
                                 report_date)
        if notice is not None:
            notices.append(notice)
    if found == 0 and not problems.items:
        problems.add(root.sourceline or 1, "risk_rows.not_safety_gate_report",
                     element=_local(root.tag)[:60])
    return notices


def _json_alerts(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in ("content", "alerts", "notifications", "results", "data", "items"):
            if isinstance(value.get(key), list):
                return list(value[key])
        if "caseNumber" in value or "reference" in value:
            return [value]
    return None


def _flatten(obj: dict[str, Any]) -> dict[str, Any]:
    """JSON alert fields as the XML names them (pictures as a list of URLs, aliases applied)."""
    out: dict[str, Any] = {}
    for key, value in obj.items():
        name = ALIASES.get(key, key)
        if isinstance(value, list):
            value = [v.get("url") or v.get("picture") or json.dumps(v, sort_keys=True)
                     if isinstance(v, dict) else v for v in value]
            value = [str(v) for v in value if v not in (None, "")]
        elif isinstance(value, dict):
            value = json.dumps(value, sort_keys=True, ensure_ascii=False)
        elif value is not None:
            value = str(value).strip() or None
        out[name] = value
    return out


def _parse_json(path: Path, data: bytes, problems: Problems) -> list[ParsedNotice]:
    notices: list[ParsedNotice] = []
    for _number, line, obj in json_alerts(
            path, data, problems, _json_alerts,
            lambda obj: obj.get("caseNumber") or obj.get("reference")):
        notice = alert_to_notice(_flatten(obj), line, problems)
        if notice is not None:
            notices.append(notice)
    return notices


def parse(path: Path, data: bytes, problems: Problems) -> list[ParsedNotice]:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head[:1] in (b"[", b"{"):
        return _parse_json(path, data, problems)
    return _parse_xml(data, problems)
