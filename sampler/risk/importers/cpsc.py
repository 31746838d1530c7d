"""US CPSC Recalls API JSON (https://www.saferproducts.gov/RestWebServices/Recall?format=json).

The feed is a JSON array of recalls with the API's own field names (RecallID, RecallNumber,
RecallDate, Title, Description, URL, Products[{Name, Model, Type, NumberOfUnits}],
Manufacturers[{Name}], ManufacturerCountries[{Country}], ProductUPCs[{UPC}],
Hazards[{Name, HazardType}], Remedies[{Name}], ...).  We keep the UPCs in ``raw`` but match on
brand, model and name: CPSC itself warns that barcode searches give false positives and
negatives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sampler.risk.importers.base import ParsedNotice, Problems, clip, decode_text, parse_date
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
        notices.append(ParsedNotice(
            source=SOURCE, reference=reference, line=line, published=published,
            title=str(rec.get("Title") or "")[:2000], brand=brand,
            product="; ".join(names) or None, models=models,
            hazard="; ".join(hazards) or clip(rec.get("Description"), 4000),
            country=", ".join(countries) or None, url=clip(rec.get("URL"), 2000),
            raw={"RecallID": rec.get("RecallID"), "RecallNumber": rec.get("RecallNumber"),
                 "Manufacturers": manufacturers, "Hazards": hazards,
                 "HazardTypes": _names(rec.get("Hazards"), "HazardType"),
                 "Remedies": _names(rec.get("Remedies"), "Name"),
                 "ProductTypes": _names(products, "Type"),
                 "NumberOfUnits": _names(products, "NumberOfUnits"),
                 "UPCs": _names(rec.get("ProductUPCs"), "UPC"),
                 "Description": clip(rec.get("Description"), 4000)}))
    return notices
