"""EU Safety Gate (formerly RAPEX) weekly-report XML.

Each alert is a ``notification`` element with children such as caseNumber, reference, category,
product, brand, name, type_numberOfModel, batchNumber (or batchNumber_barcode), barcode,
riskType, danger, measures, notifyingCountry, countryOfOrigin; missing values are written
``xsi:nil="true"``.  Element names are matched without their namespace and with known variant
spellings (typeNumberOfModel, measuresTaken, productType, productCategory), so the published
variants of the export all read.

The parser is hardened: no DTD loading, no entity expansion, no network (billion-laughs and
external-entity files are refused), and a document type declaration is rejected outright.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from sampler.risk.importers.base import ParsedNotice, Problems, clip, parse_date
from sampler.risk.normalise import split_models

SOURCE = "safety-gate"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
FIELDS = ("caseNumber", "reference", "category", "product", "brand", "name",
          "type_numberOfModel", "batchNumber", "batchNumber_barcode", "barcode", "riskType",
          "danger", "measures", "notifyingCountry", "countryOfOrigin", "description",
          "publicationDate", "date", "riskLevel", "productCategory", "level")
#: Spellings of the same field in the published export variants -> our field name.
ALIASES = {"typeNumberOfModel": "type_numberOfModel", "type_numberofmodel": "type_numberOfModel",
           "measuresTaken": "measures", "productType": "product",
           "productCategory": "category", "batchNumber_barcode": "batchNumber_barcode"}


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _value(el: etree._Element) -> str | None:
    if el.get(XSI_NIL) in ("true", "1"):
        return None
    text = "".join(el.itertext()).strip()
    return text or None


def parse(path: Path, data: bytes, problems: Problems) -> list[ParsedNotice]:
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        problems.add(exc.lineno or 1, f"not well-formed XML: {exc.msg}")
        return []
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        problems.add(1, "a DOCTYPE is not allowed in a Safety Gate file (entity attacks)")
        return []
    report_date = None
    for el in root.iter():
        if _local(el.tag) in ("publicationDate", "weekDate", "reportDate", "date") \
                and el.getparent() is root:
            try:
                report_date = parse_date(_value(el))
            except ValueError:
                report_date = None
            break
    notices: list[ParsedNotice] = []
    found = 0
    for el in root.iter():
        if _local(el.tag) != "notification":
            continue
        found += 1
        line = el.sourceline or 1
        values: dict[str, str | None] = {}
        for child in el:
            name = _local(child.tag)
            name = ALIASES.get(name, name)
            if name in FIELDS and name not in values:
                values[name] = _value(child)
        reference = clip(values.get("reference"), 100) or clip(values.get("caseNumber"), 100)
        if not reference:
            problems.add(line, "notification without reference or caseNumber")
            continue
        try:
            published = parse_date(values.get("publicationDate") or values.get("date")) \
                or report_date
        except ValueError as exc:
            problems.add(line, f"date: {exc}")
            continue
        product = values.get("product") or values.get("category")
        label = values.get("name")
        batch = values.get("batchNumber") or values.get("batchNumber_barcode")
        notices.append(ParsedNotice(
            source=SOURCE, reference=reference, line=line, published=published,
            title=" — ".join(x for x in (values.get("brand"), label, product) if x)[:2000],
            brand=values.get("brand"), product=" ".join(x for x in (label, product) if x) or None,
            models=split_models(values.get("type_numberOfModel")),
            hazard="; ".join(x for x in (values.get("riskType"), values.get("danger")) if x)
            or None,
            country=values.get("countryOfOrigin"), url=None,
            raw={k: v for k, v in values.items() if v is not None} | {"batch": batch}))
    if found == 0 and not problems.items:
        problems.add(root.sourceline or 1, "no <notification> elements: not a Safety Gate report")
    return notices
