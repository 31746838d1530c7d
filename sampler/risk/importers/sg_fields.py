"""Safety Gate's composite text fields split into the keys an inspector matches on.

The weekly export writes several values into one text: ``measures`` runs label/value pairs
together without separators ("Type of economic operator taking notified measure(s):
ManufacturerCategory of measure(s): Recall of the product from end usersDate of entry into
force: 22/05/2026"), ``onlineTrader`` lists marketplaces as ``Amazon(ASIN: B0FCXZZ57X) /
Other(Shein (sj2305…)) / ``, ``riskType`` is a comma list, ``barcode`` and ``batchNumber`` may
hold several codes.  These functions turn each into a list of clean values; the original text is
kept beside them in the notice's ``raw``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from store.gtin import normalise_gtin

#: The labels of ``measures``: (our key, label as published).  Both operator spellings are live.
MEASURE_LABELS = (
    ("operator", "Type of economic operator taking notified measure(s):"),
    ("operator", "Type of economic operator to whom the measure(s) were ordered:"),
    ("measure", "Category of measure(s):"),
    ("date", "Date of entry into force:"),
)
_MEASURE_RE = re.compile("|".join(f"(?P<l{i}>{re.escape(label)})"
                                  for i, (_, label) in enumerate(MEASURE_LABELS)))
_ASIN = re.compile(r"\bASIN\s*[:#]?\s*([A-Z0-9]{10})\b", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s()<>\"']+", re.IGNORECASE)
#: At most this many entries are kept of any list field (a notice lists a few, not thousands).
MAX_ITEMS = 200


def _date(text: str) -> str | None:
    text = text.strip().rstrip(".")
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def split_measures(text: str | None) -> list[dict[str, str | None]]:
    """``measures`` as [{operator, measure, date}], date ISO or None ("Unknown").

    A text without labels is one measure ("Withdrawal of the product from the market").
    """
    if not text or not text.strip():
        return []
    hits = list(_MEASURE_RE.finditer(text))
    if not hits:
        return [{"operator": None, "measure": text.strip(), "date": None}]
    out: list[dict[str, str | None]] = []
    current: dict[str, str | None] = {}
    lead = text[:hits[0].start()].strip()
    if lead:
        current["measure"] = lead
    for i, hit in enumerate(hits):
        index = int(next(k for k, v in hit.groupdict().items() if v is not None)[1:])
        key = MEASURE_LABELS[index][0]
        end = hits[i + 1].start() if i + 1 < len(hits) else len(text)
        value = text[hit.end():end].strip().strip(";,").strip()
        if key in current:  # a label seen again starts the next measure
            out.append(current)
            current = {}
        current[key] = (_date(value) if key == "date" else value) or None
        if len(out) >= MAX_ITEMS:
            break
    if current:
        out.append(current)
    return [{"operator": m.get("operator"), "measure": m.get("measure"), "date": m.get("date")}
            for m in out]


def _top_level_split(text: str, sep: str) -> list[str]:
    """Split on *sep* outside parentheses ("Other(A / B) / Amazon(…)" is two parts)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def split_online(text: str | None) -> list[dict[str, str | None]]:
    """``onlineTrader`` as [{marketplace, asin, url, item, text}] (one per marketplace named).

    ``Amazon(ASIN: B0FCXZZ57X)`` gives marketplace Amazon and the ASIN; ``Other(Shein
    (sj23050389953853544))`` gives marketplace Shein and item sj2305…; a URL anywhere is kept.
    """
    if not text or not text.strip():
        return []
    out: list[dict[str, str | None]] = []
    for part in _top_level_split(text, "/ ") if "(" in text else _top_level_split(text, " / "):
        part = part.strip(" /")
        if not part:
            continue
        m = re.match(r"^([^()]*?)\s*\((.*)\)\s*$", part, re.S)
        market, detail = (m.group(1).strip(), m.group(2).strip()) if m else (part, "")
        item = None
        inner = re.match(r"^([^()]*?)\s*\(([^()]*)\)\s*$", detail)
        if market.lower() in ("other", "others", "") and inner:
            market, item = inner.group(1).strip(), inner.group(2).strip()
        elif market.lower() in ("other", "others", "") and detail and not _URL.search(detail):
            market = detail
        asin = _ASIN.search(detail or part)
        url = _URL.search(part)
        if url and market.lower() in ("other", "others", ""):
            market = norm_url(url.group(0)).split("/", 1)[0]  # the shop's host names it
        out.append({"marketplace": market or None, "asin": asin.group(1).upper() if asin else None,
                    "url": url.group(0).rstrip(".,;") if url else None,
                    "item": item or None, "text": part})
        if len(out) >= MAX_ITEMS:
            break
    return out


def split_list(text: str | None, pattern: str = r"[,;\n]| / |、|，|；") -> list[str]:
    """A comma/semicolon list as clean, distinct values."""
    if not text:
        return []
    out: list[str] = []
    for part in re.split(pattern, text):
        part = part.strip(" .")
        if part and part not in out:
            out.append(part)
        if len(out) >= MAX_ITEMS:
            break
    return out


def split_barcodes(text: str | None) -> tuple[list[str], list[str]]:
    """(valid GTINs as 14 digits, everything else) of a barcode field.

    Codes are separated by commas, semicolons, slashes or line breaks; spaces and hyphens inside
    one code are dropped ("4 006381 333931" is one EAN-13).  Only codes with a correct GS1
    check digit are matching keys: a date or a lot number in the field must not match a product.
    """
    gtins: list[str] = []
    other: list[str] = []
    for part in split_list(text, r"[,;/\n|]|、|，|；"):
        code = normalise_gtin(part)  # 14 digits: one key space for every length
        if code is not None:
            if code not in gtins:
                gtins.append(code)
        elif part not in other:
            other.append(part)
    return gtins, other


def online_keys(online: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Exact matching keys of an onlineTrader list: ("asin", B0…) and ("url", normalised URL)."""
    keys: list[tuple[str, str]] = []
    for entry in online:
        if entry.get("asin"):
            keys.append(("asin", str(entry["asin"]).upper()))
        if entry.get("url"):
            keys.append(("url", norm_url(str(entry["url"]))))
    return keys


def norm_url(url: str) -> str:
    """A URL as a key: no scheme, no 'www.', no query or fragment, no trailing slash, lower-case
    host ("https://www.Shop.example/item/1?ref=x" → "shop.example/item/1")."""
    url = url.strip()
    url = re.sub(r"^[a-z][a-z0-9+.-]*://", "", url, flags=re.I)
    url = url.split("#", 1)[0].split("?", 1)[0].rstrip("/")
    host, _, path = url.partition("/")
    host = host.lower()
    if host.startswith("www."):
        host = host[4:]
    return f"{host}/{path}" if path else host


def asin_of_url(url: str | None) -> str | None:
    """The ASIN of an Amazon product URL (/dp/B0…, /gp/product/B0…), else None."""
    if not url:
        return None
    m = re.search(r"/(?:dp|gp/product|gp/aw/d)/([A-Z0-9]{10})(?:[/?]|$)", url, re.I)
    return m.group(1).upper() if m and "amazon." in url.lower() else None
