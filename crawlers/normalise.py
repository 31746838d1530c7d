"""Turning what a page says into comparable values: canonical URLs, prices, bounded text.

Crawled content is hostile: every string is cut to a bound, NUL and other C0 control
characters (which PostgreSQL refuses and terminals obey) are dropped, bidi controls and
zero-width characters (which make stored text read differently from what it is) removed, and raw structured data
is kept only up to a size, so one page cannot bloat the database.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

from price_parser import Price
from w3lib.url import canonicalize_url, url_query_cleaner

from crawlers.identity import tracking_params_in
from store.text import strip_format

#: Bounds on stored fields (characters), and on the raw structured data (bytes of JSON).
MAX_TITLE = 1000
MAX_SHORT = 200
MAX_URL = 2000
MAX_IMAGES = 20
MAX_RAW_BYTES = 32_000


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")

#: Currency symbols and words price-parser reports, to ISO 4217 codes.
CURRENCY_CODES: dict[str, str] = {
    "$": "USD", "US$": "USD", "US $": "USD", "USD": "USD", "€": "EUR", "EUR": "EUR",
    "£": "GBP", "GBP": "GBP", "¥": "", "￥": "CNY", "元": "CNY", "CNY": "CNY", "RMB": "CNY",
    "円": "JPY", "JPY": "JPY", "₩": "KRW", "원": "KRW", "KRW": "KRW", "HK$": "HKD",
    "HKD": "HKD",
}


def clean_text(value: Any, limit: int = MAX_SHORT) -> str:
    """*value* as one line of text: controls dropped, whitespace collapsed, cut to *limit*."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = " ".join(str(v) for v in value if v is not None)
    text = str(value)
    # Most values are clean already.  A printable string has no control character and no
    # whitespace but the ASCII space (every other one is a separator or control), so it
    # only needs its spaces looked at.
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text[:limit]
    return _SPACE.sub(" ", _CONTROL.sub("", strip_format(text))).strip()[:limit]


#: A URL w3lib's canonicalisation leaves as it is: http(s), a lower-case ASCII host, a port
#: without leading zeros, a path of characters that need no escaping, no query, no
#: fragment (dot segments are ruled out separately).
#: The host is a name whose last label starts with a letter, or an IPv4 address in full: a
#: host ending in a number is an IPv4 address in some short form ("127.1", "0"), which
#: w3lib writes out in full ("127.0.0.1", "0.0.0.0").
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_ALREADY_CANONICAL = re.compile(
    r"https?://(?:(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)*[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
    rf"|(?:{_OCTET}\.){{3}}{_OCTET})"
    r"(?::[1-9][0-9]{0,4})?/[A-Za-z0-9_.~!$&'()*+,;=:@/-]*\Z")


def canonical_url(url: str) -> str:
    """The URL a listing is known by: tracking parameters stripped, query sorted, no fragment.

    A URL already in that form is returned as it is (most links of a shop are); the others
    are canonicalised by w3lib, cached: every page of a platform links the same categories
    and sellers, and w3lib's canonicalisation was a tenth of a crawl's parsing time.
    """
    if already_canonical(url):
        return url
    return _canonicalised(url)


def already_canonical(url: str) -> bool:
    """Whether w3lib's canonicalisation (and ours) would return *url* unchanged, decided
    without parsing it: http(s), a plain host, a path needing no escaping, nothing else.

    A ``;`` in the last segment starts path parameters, which w3lib rewrites (an empty one,
    ``/a;``, is dropped), so such a URL takes the slow path."""
    return (len(url) <= MAX_URL and "/." not in url and ";" not in url[url.rfind("/"):]
            and _ALREADY_CANONICAL.match(url) is not None)


@lru_cache(maxsize=32_768)
def _canonicalised(url: str) -> str:
    # Query parameters that identify a visit, not a page (crawlers.identity), dropped.
    cleaned = url_query_cleaner(url, tracking_params_in(url), remove=True,
                                keep_fragments=False)
    return canonicalize_url(cleaned)[:MAX_URL]


#: The scheme and host of an http(s) URL, as urlsplit finds them (an ASCII host without
#: brackets or whitespace, ended by the path, query or fragment).
_ORIGIN = re.compile(r"(https?://[!$&'()*+,\-.0-9:;=@A-Z_a-z~%]+)[/?#]")
#: A site-absolute link that urljoin only appends to the base's origin: a path with no dot
#: segment, no parameters, query or fragment markers, and none of the characters urlsplit
#: removes.
_SITE_PATH = re.compile(r"/(?!/)[^?#;\t\r\n]*\Z")


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, or None when it is not that simple."""
    m = _ORIGIN.match(url)
    return m.group(1) if m else None


def is_http(url: str) -> bool:
    """Whether *url* is an http(s) URL (as urlsplit reads its scheme)."""
    return url.startswith(("http://", "https://")) or urlsplit(url).scheme in {"http", "https"}


def join_url(base: str, href: str) -> str:
    """``urljoin(base, href)``, exactly; a site-absolute link ("/item/1.html") on an http(s)
    page is joined without parsing either URL (a listing page has a dozen such links)."""
    if href[:1] == "/" and "/." not in href and _SITE_PATH.match(href):
        origin = origin_of(base)
        if origin is not None:
            return origin + href
    return urljoin(base, href)


def parse_price(text: Any, currency_hint: str | None = None,
                default_currency: str = "CNY") -> tuple[Decimal | None, str | None]:
    """Amount and ISO currency of a price as a shop writes it (``¥1,299.00``, ``12,99 €``).

    *currency_hint* (an ISO code the page states elsewhere, e.g. ``priceCurrency``) wins over
    the symbol; a bare ``¥`` is CNY when written with fen, else *default_currency*.
    """
    if text is None or text == "":
        return None, _iso(currency_hint)
    if isinstance(text, int | float | Decimal) and not isinstance(text, bool):
        try:
            return Decimal(str(text)), _iso(currency_hint) or default_currency
        except InvalidOperation:
            return None, None
    raw = clean_text(text, 100)
    hint = _iso(currency_hint)
    price = Price.fromstring(raw, currency_hint=hint or None,
                             decimal_separator=_decimal_separator(raw))
    amount = price.amount
    if amount is not None and re.match(r"^\s*[-−]\s*\D{0,4}\d", raw):
        amount = -amount  # price-parser drops the sign; a negative price is a red flag
    code = hint or CURRENCY_CODES.get((price.currency or "").strip())
    if code is None and price.currency:
        code = (price.currency or "").strip().upper() if len(price.currency.strip()) == 3 else ""
    if code == "":  # a bare ¥: yuan are written with fen (¥12.90), yen never are (¥1,980)
        code = "CNY" if re.search(r"[.,]\d{2}\b", raw) else default_currency
    if code is None:
        code = default_currency
    return amount, code or None


def _decimal_separator(raw: str) -> str | None:
    """"12,99 €" has a decimal comma; "1,299" and "₩ 12,900" do not (price-parser guesses)."""
    match = re.search(r"\d[\d.,\s]*\d|\d", raw)
    if not match:
        return None
    digits = match.group(0)
    if "," in digits and "." in digits:
        return "," if digits.rfind(",") > digits.rfind(".") else "."
    if "," in digits:
        tail = digits.rsplit(",", 1)[1]
        return "," if len(tail) == 2 else "."
    return "."


def _iso(code: str | None) -> str | None:
    if not code:
        return None
    code = code.strip()
    mapped = CURRENCY_CODES.get(code, code.upper())
    return mapped if re.fullmatch(r"[A-Z]{3}", mapped or "") else None


def bounded_raw(data: Any, limit: int = MAX_RAW_BYTES) -> dict[str, Any]:
    """Raw structured data to store: as it is when small, else a marked, cut excerpt."""
    try:
        text = json.dumps(data, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = json.dumps(str(data), ensure_ascii=False)
    text = text.replace("\\u0000", "")
    if len(text.encode("utf-8")) <= limit:
        loaded = json.loads(text)
        return loaded if isinstance(loaded, dict) else {"data": loaded}
    return {"truncated": True, "bytes": len(text.encode("utf-8")),
            "excerpt": text.encode("utf-8")[: limit // 2].decode("utf-8", "ignore")}


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of a listing's content fields (canonical JSON), to detect changes."""
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, default=str,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
