"""Health Canada's recalls and safety alerts (open data, ``HCRSAMOpenData.json``).

The feed is a JSON array of alerts (some copies wrap it as ``{"data": […]}``), one object per
notice with ``NID``, ``Title``, ``Last updated`` (YYYY-MM-DD), ``Organization``, ``Product``,
``Issue``, ``What you should do``, ``Category``, ``Recall class``, ``URL`` and ``Archived``.  It
holds food, drug and vehicle alerts beside consumer products; all are kept and matched alike.
Alerts name no model numbers or barcodes in separate fields, so matching rests on the product
text unless the title carries a model code.

The published file has changed over the years, and a copy of every layout must read the same
(``tests/risk/data/real/health_canada_hcrsam_2024_sample.json`` is a real one):

- 2024 (PHP ``json_encode``): ``Title`` and ``What you should do`` wrapped in literal quotes
  (``"\"Global Medium\""``), slashes escaped, absolute URLs, ``Archived`` ``"No"``/``"Yes"``;
- 2026: no wrapping quotes, URLs relative to recalls-rappels.canada.ca, ``Archived`` ``"0"``/``"1"``,
  sometimes ``Main issue``/``Secondary issue`` beside ``Issue``;
- always: HTML entities (``&amp;``, ``&nbsp;``), zero-width spaces, padded titles, ``Recall
  class`` ``""`` or ``"--"`` when there is none, several categories in one ``Category``
  (``Vehicles - Car, Vehicles - SUV``).

``raw`` keeps the record as the file wrote it; what was read out of it is under
``raw["derived"]`` (``archived`` as a boolean, ``categories`` as a list, and for Transport
Canada notices the make and the recall number, the make also being the notice's brand).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from sampler.risk.importers.base import ParsedNotice, Problems, json_alerts, parse_date
from sampler.risk.normalise import is_model_code, model_key

_RUN = re.compile(r"[A-Za-z0-9]+(?:[-_./][A-Za-z0-9]+)*")

SOURCE = "health-canada"
BASE_URL = "https://recalls-rappels.canada.ca"


_TC_TITLE = re.compile(r"^Transport Canada Recall\s*-\s*(?P<number>[\w-]+)\s*-\s*(?P<make>.+)$")
_ARCHIVED = {"0": False, "no": False, "non": False, "1": True, "yes": True, "oui": True}


def _text(value: Any) -> str | None:
    """Display text: entities decoded, zero-width spaces dropped, blanks collapsed, and the
    literal quotes the 2024 export wrapped titles and advice in removed."""
    if value is None:
        return None
    text = html.unescape(str(value)).replace("\u200b", "").strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return re.sub(r"\s+", " ", text) or None


def _derived(rec: dict[str, Any], title: str) -> dict[str, Any]:
    """What the record says in a form the rest of the system can use."""
    out: dict[str, Any] = {}
    archived = str(rec.get("Archived") or "").strip().lower()
    if archived in _ARCHIVED:
        out["archived"] = _ARCHIVED[archived]
    category = _text(rec.get("Category"))
    if category:
        out["categories"] = [c.strip() for c in category.split(", ") if c.strip()]
    tc = _TC_TITLE.match(title)
    if tc:
        out["transport_canada_recall"] = tc["number"]
        out["make"] = tc["make"].strip()
    return out


def _hazard(rec: dict[str, Any]) -> str | None:
    issue = _text(rec.get("Issue"))
    if issue:
        return issue
    parts = [_text(rec.get(k)) for k in ("Main issue", "Secondary issue", "Bacteria subtype")]
    return " - ".join(p for p in parts if p) or None


def _models(text: str) -> list[str]:
    """Model-code-like runs of the title and product ("VO-M5521"), as written."""
    out: list[str] = []
    for run in _RUN.findall(text):
        if is_model_code(model_key(run)) and any(c.isalpha() for c in run) and run not in out:
            out.append(run)
    return out[:20]


def _alerts(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        for key in ("data", "results", "alerts"):
            if isinstance(value.get(key), list):
                return list(value[key])
        if "NID" in value:
            return [value]
    return None


def parse(path: Path, data: bytes, problems: Problems) -> list[ParsedNotice]:
    notices: list[ParsedNotice] = []
    for number, line, rec in json_alerts(path, data, problems, _alerts,
                                         lambda rec: _text(rec.get("NID"))):
        nid = _text(rec.get("NID"))
        if not nid:
            problems.add(line, "risk_rows.alert_without_nid", number=number)
            continue
        try:
            published = parse_date(_text(rec.get("Last updated")))
        except ValueError as exc:
            problems.add(line, "risk_rows.alert_field_value", reference=nid, field="Last updated",
                         detail=str(exc)[:200])
            continue
        title = _text(rec.get("Title")) or ""
        url = _text(rec.get("URL"))
        if url and url.startswith("/"):
            url = BASE_URL + url
        raw = {k: v for k, v in rec.items() if v not in (None, "", [])}
        raw["line"] = line
        derived = _derived(rec, title)
        if derived:
            raw["derived"] = derived
        recall_class = _text(rec.get("Recall class"))
        advice = _text(rec.get("What you should do"))
        notices.append(ParsedNotice(
            source=SOURCE, reference=nid, line=line, published=published, title=title,
            brand=derived.get("make"), product=_text(rec.get("Product")) or title or None,
            models=_models(" ".join(x for x in (title, _text(rec.get("Product"))) if x)),
            hazard=_hazard(rec), country="Canada", url=url, raw=raw,
            risk_types=[recall_class] if recall_class and recall_class != "--" else [],
            measures=[{"operator": _text(rec.get("Organization")), "measure": advice,
                       "date": None}] if advice else []))
    return notices
