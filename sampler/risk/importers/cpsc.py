"""US CPSC Recalls API JSON (https://www.saferproducts.gov/RestWebServices/Recall?format=json).

The feed is a JSON array of recalls with the API's own field names (RecallID, RecallNumber,
RecallDate, Title, Description, URL, Products[{Name, Model, Type, NumberOfUnits}],
Manufacturers[{Name}], ManufacturerCountries[{Country}], ProductUPCs[{UPC}],
Hazards[{Name, HazardType}], Remedies[{Name}], Retailers, Importers, Distributors, Images,
Injuries, ...).  The whole record is kept in ``raw`` (bounded), names of the repeated fields
beside it.  UPCs with a valid check digit are exact matching keys (``gtins``); CPSC warns that
barcode searches give false positives and negatives, so a barcode match is shown with its key
and still needs a person's confirmation to count in full.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sampler.risk.importers.base import ParsedNotice, Problems, clip, decode_text, parse_date
from sampler.risk.importers.sg_fields import split_barcodes
from sampler.risk.normalise import split_models

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


def _records(text: str, problems: Problems) -> list[tuple[int, Any]]:
    """The array's elements with the line each starts on (for line-numbered errors)."""
    decoder = json.JSONDecoder()
    pos = len(text) - len(text.lstrip())
    if not text[pos:].startswith("["):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.add(exc.lineno, f"not JSON: {exc.msg}")
            return []
        if isinstance(value, dict):  # one recall on its own
            return [(1 + text[:pos].count("\n"), value)]
        problems.add(1, "expected a JSON array of recalls")
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
            problems.add(exc.lineno, f"not JSON: {exc.msg}")
            return out
        out.append((line, value))
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "]":
            return out
        else:
            problems.add(text.count("\n", 0, pos) + 1, "expected ',' or ']' after a recall")
            return out


def parse(path: Path, data: bytes, problems: Problems) -> list[ParsedNotice]:
    text = decode_text(data, path)
    notices: list[ParsedNotice] = []
    for line, rec in _records(text, problems):
        if not isinstance(rec, dict):
            problems.add(line, "a recall must be a JSON object")
            continue
        reference = clip(rec.get("RecallNumber"), 100) or clip(rec.get("RecallID"), 100)
        if not reference:
            problems.add(line, "recall without RecallNumber or RecallID")
            continue
        try:
            published = parse_date(rec.get("RecallDate"))
        except ValueError as exc:
            problems.add(line, f"RecallDate: {exc}")
            continue
        products = rec.get("Products") or []
        if not isinstance(products, list):
            problems.add(line, "Products must be a list")
            continue
        names = _names(products, "Name")
        models: list[str] = []
        for raw_model in _names(products, "Model"):
            models.extend(m for m in split_models(raw_model) if m not in models)
        manufacturers = _names(rec.get("Manufacturers"), "Name")
        hazards = _names(rec.get("Hazards"), "Name")
        countries = _names(rec.get("ManufacturerCountries"), "Country")
        brand = manufacturers[0] if manufacturers else None
        upcs = _upcs(rec.get("ProductUPCs"))
        gtins, _ = split_barcodes("; ".join(upcs))
        raw = {k: v for k, v in rec.items() if v not in (None, "", [], {})}
        raw["line"] = line
        notices.append(ParsedNotice(
            source=SOURCE, reference=reference, line=line, published=published,
            title=str(rec.get("Title") or ""), brand=brand,
            product="; ".join(names) or None, models=models,
            hazard="; ".join(hazards) or clip(rec.get("Description"), 8000),
            country=", ".join(countries) or None, url=clip(rec.get("URL"), 4000),
            raw=raw | {"UPCs": upcs, "Manufacturers": manufacturers,
                       "Retailers": _names(rec.get("Retailers"), "Name"),
                       "Importers": _names(rec.get("Importers"), "Name"),
                       "Distributors": _names(rec.get("Distributors"), "Name"),
                       "HazardTypes": _names(rec.get("Hazards"), "HazardType"),
                       "RemedyNames": _names(rec.get("Remedies"), "Name")},
            gtins=gtins, risk_types=_names(rec.get("Hazards"), "HazardType"),
            pictures=_names(rec.get("Images"), "URL"),
            measures=[{"operator": None, "measure": r, "date": None}
                      for r in _names(rec.get("Remedies"), "Name")]))
    return notices
