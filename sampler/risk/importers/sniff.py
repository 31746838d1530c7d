"""Is this file the kind it was given as?  A refusal says what the file looks like instead.

Cheap checks on the first bytes, before any parsing: a Safety Gate XML given as CPSC JSON, a
CPSC array given as Safety Gate, a spreadsheet given as a feed.  The column-level checks of the
spreadsheets (a self-reports file given as complaints) are in ``tabular``, which reads headers.
"""

from __future__ import annotations

from pathlib import Path

from store.errors import InvalidInput

#: Tell-tale keys of each JSON feed in its first 64 KB.
JSON_MARKERS = {
    "cpsc": ('"RecallNumber"', '"RecallID"'),
    "safety-gate": ('"caseNumber"', '"riskType"', '"notifyingCountry"'),
    "health-canada": ('"NID"', '"Recall class"'),
}
#: The feeds by their publishers' names, and what a file looks like by its first bytes: proper
#: names and format names, read the same in a Chinese and an English refusal.
FEEDS = {"cpsc": "CPSC Recalls API JSON", "safety-gate": "Safety Gate alerts JSON",
         "health-canada": "Health Canada recalls JSON"}
SHAPES = {"xml": "XML", "json": "JSON", "xlsx": "XLSX", "text": "CSV/TXT"}
TABULAR = ("complaints", "reports", "csv", "spot-check", "platform-listings",
           "platform-sellers")


def shape(data: bytes) -> str:
    """'xml', 'json', 'xlsx' or 'text' from the first meaningful byte."""
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "xml"
    if head[:1] in (b"[", b"{"):
        return "json"
    return "text"


def json_kind(data: bytes) -> str | None:
    """Which feed a JSON file is, by the keys it uses; None when none is recognised."""
    head = data[:65536].decode("utf-8", "replace")
    found = [k for k, markers in JSON_MARKERS.items() if any(m in head for m in markers)]
    return found[0] if len(found) == 1 else None


def check_kind(path: Path, data: bytes, fmt: str) -> None:
    """Raise InvalidInput when *data* is plainly not *fmt*, saying what it looks like."""
    kind = shape(data)
    what = SHAPES[kind]
    if fmt == "cpsc" or fmt == "health-canada":
        if kind == "xml":
            raise InvalidInput("risk_import.not_feed_xml", path_name=path.name, what=what,
                               expected=FEEDS[fmt])
        if kind != "json":
            raise InvalidInput("risk_import.not_feed", path_name=path.name, what=what,
                               expected=FEEDS[fmt])
        other = json_kind(data)
        if other is not None and other != fmt:
            raise InvalidInput("risk_import.other_feed", path_name=path.name,
                               found=FEEDS[other],
                               expected=FEEDS[fmt], other=other)
    elif fmt == "safety-gate":
        if kind not in ("xml", "json"):
            raise InvalidInput("risk_import.not_safety_gate", path_name=path.name, what=what)
        other = json_kind(data) if kind == "json" else None
        if other is not None and other != fmt:
            raise InvalidInput("risk_import.other_feed_not_safety_gate", path_name=path.name,
                               found=FEEDS[other], other=other)
    elif fmt in TABULAR and kind in ("xml", "json"):
        raise InvalidInput("risk_import.not_spreadsheet", path_name=path.name, what=what,
                           fmt=fmt)
