"""What a listing is known by: the external id of a product URL, and which query parameters
only track a visit.

A shop's product URL is whatever the shop made it: ``/item/42.html``, ``int.php?pid=428514``,
``/product?id=7&utm_source=feed``, ``/商品/杯子`` written raw or percent-encoded.  Every one of
them must give a listing one stable id, because the permanent random number on which
coordinated samples rest is derived from it (a changed id is a new listing).  So the id is
the page's same-site ``rel=canonical`` link when there is one, else its own URL, both in
w3lib's canonical form (query sorted, percent-encoding normalised, fragment dropped) with the
tracking parameters removed; the id is that URL's path plus its query.  An id is never
rejected for its shape; one longer than the column keeps its head and a digest of the whole.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import unquote_to_bytes, urlsplit

#: Query parameters (exact, lower case) that say how a visitor came, not what the page is.
TRACKING_PARAMS = frozenset({
    "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "fbclid", "msclkid", "yclid", "twclid",
    "ttclid", "igshid", "li_fat_id", "mkt_tok", "mc_cid", "mc_eid", "spm", "scm", "pvid",
    "ref", "ref_", "referrer", "from", "src", "trackid", "track_id", "clickid", "click_id",
    "sessionid", "session_id", "sid", "_t", "ali_trackid", "ali_refid", "abbucket",
    "ws_ab_test", "btsid", "terminal_id", "gatewayadapt", "_randl_shipto", "qid", "sr",
    "_branch_match_id", "icid", "cmpid", "s_cid", "ncid", "zanpid", "ascsubtag", "linkcode",
    "_hsenc", "_hsmi", "_openstat", "srsltid", "_pos", "_sid", "_ss", "_psq", "_fid",
})
#: Prefixes of tracking parameters (Google Analytics, Amazon's page-flow, affiliate, …).
TRACKING_PREFIXES = ("utm_", "pf_rd_", "pd_rd_", "aff_", "algo_", "hsa_", "pk_", "_ga",
                     "mtm_", "matomo_")
#: Longest external id the store keeps (``Listing.external_id``).
MAX_ID = 200
_DIGEST = 16


def is_tracking_param(name: str) -> bool:
    """Whether query parameter *name* only tracks a visit (case-insensitive)."""
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(TRACKING_PREFIXES)


def tracking_params_in(url: str) -> list[str]:
    """The tracking parameter names *url*'s query holds, as written (for w3lib's cleaner,
    which matches names exactly)."""
    if "?" not in url:
        return []
    query = url.split("#", 1)[0].split("?", 1)[1] if "?" in url.split("#", 1)[0] else ""
    # Split as w3lib's url_query_cleaner splits (raw names, "&"-separated).
    return sorted({part.partition("=")[0] for part in query.split("&")
                   if is_tracking_param(part.partition("=")[0])})


def site_of(host: str) -> str:
    """A host without ``www.``: ``www.shop.example`` and ``shop.example`` are one site."""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def same_site(url: str, other: str) -> bool:
    """Whether *url* and *other* are on one site (scheme aside; host up to ``www.``, port)."""
    a, b = urlsplit(url), urlsplit(other)
    try:
        return site_of(a.hostname or "") == site_of(b.hostname or "") and a.port == b.port
    except ValueError:  # a port that is not a number
        return False


def names_a_parent(canonical: str, page_url: str) -> bool:
    """Whether the canonical link *canonical* names a folder above the page *page_url* (its
    site's root, its own directory) rather than the page.

    Why: real shops write ``<link rel="canonical" href="./">`` or ``href="/"`` on every
    product page of a template (a Korean buying agent's deal pages, seen in the development
    set); taken as the listing's name, every such product got the one id ``/`` or
    ``/deal/`` and all but one were lost.  A folder holding the page is never the page."""
    parts, page = urlsplit(canonical), urlsplit(page_url)
    folder = parts.path or "/"
    return (not parts.query and folder.endswith("/") and (page.path or "/") != folder
            and (page.path or "/").startswith(folder))


def bounded_id(text: str, limit: int = MAX_ID) -> str:
    """*text* when it fits *limit*; else its head and a digest of the whole (stable, and two
    long ids that share a head still differ)."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:_DIGEST]
    return f"{text[:limit - _DIGEST - 1]}~{digest}"


#: A run of percent-escapes of non-ASCII bytes (what canonicalisation makes of ``商品``).
_NON_ASCII_ESCAPES = re.compile(r"(?:%[89A-F][0-9A-F])+")


def _readable(match: re.Match[str]) -> str:
    run = match.group(0)
    try:
        return unquote_to_bytes(run).decode("utf-8")
    except UnicodeDecodeError:
        return run  # not UTF-8 (a GBK-escaped path): stays escaped


def url_external_id(canonical: str) -> str:
    """The external id of a listing whose canonical URL (see
    :func:`crawlers.normalise.canonical_url`) is *canonical*: its path and query.

    Escapes of non-ASCII UTF-8 text are shown as the text (``/商品/1``, not
    ``/%E5%95%86%E5%93%81/1``): canonicalisation has made every spelling of such a path the
    same escapes, so decoding them again is one-to-one, and an id a third as long fits the
    store and reads in the console.  ASCII escapes (``%2F``, ``%20``, ``%26``) stay escaped,
    since decoding them would change what the path says."""
    parts = urlsplit(canonical)
    path = parts.path or "/"
    text = f"{path}?{parts.query}" if parts.query else path
    if "%" in text:
        text = _NON_ASCII_ESCAPES.sub(_readable, text)
    return bounded_id(text)

