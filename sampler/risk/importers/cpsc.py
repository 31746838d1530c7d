"""US CPSC Recalls API JSON (https://www.saferproducts.gov/RestWebServices/Recall?format=json).

The feed is a JSON array of recalls with the API's own field names (RecallID, RecallNumber,
RecallDate, Title, Description, URL, Products[{Name, Model, Type, NumberOfUnits}],
Manufacturers[{Name}], ManufacturerCountries[{Country}], ProductUPCs[{UPC}],
Hazards[{Name, HazardType}], Remedies[{Name}], Retailers, Importers, Distributors, Images,
Injuries, ...).  The whole record is kept in ``raw`` (bounded), names of the repeated fields
beside it.  UPCs with a valid check digit are exact matching keys (``gtins``); CPSC warns that
barcode searches give false positives and negatives, so a barcode match is shown with its key
and still needs a person's confirmation to count in full.

Real responses (tests/risk/data/real) leave ``Products[].Model`` and often ``Manufacturers``
empty: the model numbers and UPCs are written in ``Description`` and the image captions
("MODEL No.: HANS0002", "UPC Code: 8-49398-06563-1"), and the firm is an importer
("HARPPA, Inc., of Denver, Colorado").  So labelled model numbers and check-digit-valid UPCs
are also read from those texts, the brand falls back to the importer or distributor (without
its ", of <place>"), and ``raw["derived"]`` says which keys came from where (beside the lists of names read out of
the record; the record's own fields are never overwritten).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sampler.risk.importers.base import ParsedNotice, Problems, clip, decode_json, parse_date
from sampler.risk.importers.sg_fields import split_barcodes
from sampler.risk.normalise import is_model_code, model_key, split_models
from store.gtin import gtin_valid

SOURCE = "cpsc"


def _names(items: Any, key: str) -> list[str]:
    """The *key* values of a list of objects (the API's shape for every repeated field)."""
    out: list[str] = []
    if isinstance(items, list):
        for item in items[:200]:
            if isinstance(item, dict) and item.get(key) not in (None, ""):
                value = str(item[key]).strip()
                if value and value not in out:
                    out.append(value)
    return out


def _upcs(items: Any) -> list[str]:
    """ProductUPCs as the API writes them: [{"UPC": "…"}] (or bare strings in some copies)."""
    out: list[str] = []
    if isinstance(items, list):
        for item in items[:200]:
            value = item.get("UPC") if isinstance(item, dict) else item
            if value not in (None, "") and str(value).strip() not in out:
                out.append(str(value).strip())
    return out


#: "model", "model number(s)", "model no.", "model #", then a code, and more after , ; and or.
_MODEL_LABEL = re.compile(r"(?i)\bmodel(?:\s+(?:numbers?|nos?\.?)|\s*#)?\s*[:#]?\s*")
_CODE = re.compile(r'"?([A-Za-z0-9][A-Za-z0-9\-./]*[A-Za-z0-9])"?')
_CODE_SEP = re.compile(r"\s*(?:,|;|\band\b|\bor\b)\s*")
#: "UPC 193175488718", "UPC Code: 8-49398-06563-1", "The UPC number is 0-80313-08131-6".
_UPC_TEXT = re.compile(r"(?i)\bUPC(?:\s+(?:codes?|numbers?))?(?:\s+is)?\s*[:#]?\s*"
                       r"(\d[\d\- ]{6,18}\d)")
TEXT_LIMIT = 20000


def firm_name(text: str | None) -> str | None:
    """A firm as CPSC names it, without where it is ("Round 2 LLC, of South Bend, Indiana")."""
    if not text:
        return None
    return re.split(r",\s+of\s+", text, maxsplit=1)[0].strip() or None


def models_in_text(text: str) -> list[str]:
    """Model numbers a recall's text labels as such; only codes with letters and digits (or a
    long number), so "all models and series" or "depending on the model" give nothing."""
    out: list[str] = []
    text = text[:TEXT_LIMIT]
    for label in _MODEL_LABEL.finditer(text):
        pos = label.end()
        while (code := _CODE.match(text, pos)) and is_model_code(model_key(code.group(1))):
            if code.group(1) not in out:
                out.append(code.group(1))
            sep = _CODE_SEP.match(text, code.end())
            if not sep:
                break
            pos = sep.end()
    return out


def upcs_in_text(text: str) -> list[str]:
    """UPCs a recall's text writes after "UPC", kept only with a correct GS1 check digit."""
    out: list[str] = []
    for m in _UPC_TEXT.finditer(text[:TEXT_LIMIT]):
        code = re.sub(r"[\s\-]", "", m.group(1))
        if gtin_valid(code) and code not in out:
            out.append(code)
    return out


def _records(text: str, problems: Problems) -> list[tuple[int, Any]]:
    """The array's elements with the line each starts on (for line-numbered errors)."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text[pos:].startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.add(exc.lineno, "risk_rows.not_json", detail=exc.msg)
            return []
        if isinstance(value, dict):  # one recall on its own
            return [(1 + text[:pos].count("\n"), value)]
        problems.add(1, "risk_rows.expected_recall_array")
        return []
    out: list[tuple[int, Any]] = []
    pos += 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos < len(text) and text[pos] == "]":
            return out
        line = text.count("\n", 0, pos) + 1
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            problems.add(exc.lineno, "risk_rows.not_json", detail=exc.msg)
            return out
        out.append((line, value))
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "]":
            return out
        else:
            problems.add(text.count("\n", 0, pos) + 1, "risk_rows.expected_comma_after_recall")
            return out


def parse(path: Path, data: bytes, problems: Problems) -> list[ParsedNotice]:
    text = decode_json(data, path)
    notices: list[ParsedNotice] = []
    for line, rec in _records(text, problems):
        if not isinstance(rec, dict):
            problems.add(line, "risk_rows.recall_not_object")
            continue
        reference = clip(rec.get("RecallNumber"), 100) or clip(rec.get("RecallID"), 100)
        if not reference:
            problems.add(line, "risk_rows.recall_without_number")
            continue
        try:
            published = parse_date(rec.get("RecallDate"))
        except ValueError as exc:
            problems.add(line, "risk_rows.field_value", field="RecallDate", detail=str(exc)[:200])
            continue
        products = rec.get("Products") or []
        if not isinstance(products, list):
            problems.add(line, "risk_rows.products_not_list")
            continue
        names = _names(products, "Name")
        models: list[str] = []
        for raw_model in _names(products, "Model"):
            models.extend(m for m in split_models(raw_model) if m not in models)
        manufacturers = _names(rec.get("Manufacturers"), "Name")
        hazards = _names(rec.get("Hazards"), "Name")
        countries = _names(rec.get("ManufacturerCountries"), "Country")
        derived: dict[str, Any] = {}
        brand = None
        for firms in ("Manufacturers", "Importers", "Distributors"):
            named = _names(rec.get(firms), "Name")
            if named:
                brand = firm_name(named[0])
                derived["brand_from"] = firms
                break
        upcs = _upcs(rec.get("ProductUPCs"))
        gtins, _ = split_barcodes("; ".join(upcs))
        texts = " \n".join([str(rec.get("Description") or ""),
                            *_names(rec.get("Images"), "Caption")])
        text_models = [m for m in models_in_text(texts) if m not in models]
        text_upcs = [u for u in upcs_in_text(texts)
                     if u.zfill(14) not in gtins and u not in upcs]
        if text_models:
            models += text_models
            derived["models_from_text"] = text_models
        if text_upcs:
            gtins += [u.zfill(14) for u in text_upcs if u.zfill(14) not in gtins]
            derived["upcs_from_text"] = text_upcs
        # The record's own fields stay as the API wrote them (CompanyID and all); the lists read
        # out of them go under "derived", never over an original field.
        derived |= {"UPCs": upcs, "ManufacturerNames": manufacturers,
                    "RetailerNames": _names(rec.get("Retailers"), "Name"),
                    "ImporterNames": _names(rec.get("Importers"), "Name"),
                    "DistributorNames": _names(rec.get("Distributors"), "Name"),
                    "HazardTypes": _names(rec.get("Hazards"), "HazardType"),
                    "RemedyNames": _names(rec.get("Remedies"), "Name")}
        raw = {k: v for k, v in rec.items() if v not in (None, "", [], {})}
        raw["derived"] = {k: v for k, v in derived.items() if v not in (None, [], "")}
        raw["line"] = line
        notices.append(ParsedNotice(
            source=SOURCE, reference=reference, line=line, published=published,
            title=str(rec.get("Title") or ""), brand=brand,
            product="; ".join(names) or None, models=models,
            hazard="; ".join(hazards) or clip(rec.get("Description"), 8000),
            country=", ".join(countries) or None, url=clip(rec.get("URL"), 4000),
            raw=raw,
            gtins=gtins, risk_types=_names(rec.get("Hazards"), "HazardType"),
            pictures=_names(rec.get("Images"), "URL"),
            measures=[{"operator": None, "measure": r, "date": None}
                      for r in _names(rec.get("Remedies"), "Name")]))
    return notices
