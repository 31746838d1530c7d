"""The crawl's fast paths give exactly what the slow, reference code gives.

Canonical URLs, joined links and cleaned text take shortcuts for the common case (a clean
site-absolute link, an already canonical URL, text with nothing to clean); each shortcut is
held here to the code it stands in for — w3lib's canonicalisation, ``urllib.parse.urljoin``,
the regex cleaning — on generated inputs made of the characters where they could differ.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from hypothesis import example, given, settings
from hypothesis import strategies as st
from w3lib.url import canonicalize_url, url_query_cleaner

from crawlers.identity import tracking_params_in
from crawlers.normalise import (
    _CONTROL,
    _SPACE,
    MAX_URL,
    canonical_url,
    clean_text,
    join_url,
    origin_of,
)
from store.text import strip_format
from tests.conftest import examples

#: Characters that matter to URL parsing, escaping and dot segments, plus some that do not.
URL_CHARS = st.sampled_from([*"aZ09-._~/?#;:@!$&'()*+,=%[] \t\n\\é中\x00", "..", "./"])
HOSTS = st.sampled_from(["h.test", "127.0.0.1:8080", "H.test", "xn--fiqs8s.cn", "a-b.c",
                         "h.test:080", "h.test:", "u:p@h.test", "[::1]:80", "é.cn", "h..x", ""])
SCHEMES = st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "", "//"])


def _w3lib(url: str) -> str:
    cleaned = url_query_cleaner(url, tracking_params_in(url), remove=True, keep_fragments=False)
    return canonicalize_url(cleaned)[:MAX_URL]


def _reference_clean(value: str, limit: int) -> str:
    return _SPACE.sub(" ", _CONTROL.sub("", strip_format(value))).strip()[:limit]


@settings(max_examples=examples(3000), deadline=None)
@given(SCHEMES, HOSTS, st.lists(URL_CHARS, max_size=20).map("".join))
@example("http://", "h.test", "/item/1.html")
@example("http://", "h.test", "/a/../b")
@example("http://", "h.test", "")
@example("http://", "", "0/")  # a host ending in a number is IPv4: w3lib writes 0.0.0.0
@example("http://", "127.1", "/x")
@example("http://", "h.test", "/;")  # an empty path parameter: w3lib drops it
@example("http://", "h.test", "/a;b=1")
def test_canonical_urls_are_w3libs(scheme: str, host: str, rest: str) -> None:
    url = scheme + host + rest
    try:
        expected = _w3lib(url)
    except ValueError:
        return  # w3lib refuses it; the fast path only takes URLs it accepts (below)
    assert canonical_url(url) == expected


def test_canonical_fast_path_is_taken() -> None:
    from crawlers.normalise import _canonicalised

    _canonicalised.cache_clear()
    assert canonical_url("http://127.0.0.1:8001/item/10000000.html") == \
        "http://127.0.0.1:8001/item/10000000.html"
    assert _canonicalised.cache_info().misses == 0  # w3lib was not asked
    assert canonical_url("http://h.test/i/1?utm_source=x&b=2&a=1") == "http://h.test/i/1?a=1&b=2"
    assert _canonicalised.cache_info().misses == 1
    assert canonical_url("http://127.1/x") == "http://127.0.0.1/x"  # short IPv4: slow path
    assert _canonicalised.cache_info().misses == 2


@settings(max_examples=examples(5000), deadline=None)
@given(SCHEMES, HOSTS, st.lists(URL_CHARS, max_size=8).map("".join),
       st.lists(URL_CHARS, max_size=12).map("".join))
@example("http://", "h.test", "/x", "/img/1.svg")
@example("http://", "h.test", "/x", "/a?")
@example("http://", "h.test", "", "/a")
@example("http://", "h.test", "/x", "/a/./b")
def test_joined_links_are_urljoins(scheme: str, host: str, path: str, href: str) -> None:
    base = scheme + host + path
    try:
        expected = urljoin(base, href)
    except ValueError:
        return  # urllib refuses the base (e.g. a bad IPv6 host); so does the slow path
    assert join_url(base, href) == expected


def test_origins() -> None:
    assert origin_of("http://127.0.0.1:8001/item/1.html?x#y") == "http://127.0.0.1:8001"
    assert origin_of("https://u:p@h.test?q") == "https://u:p@h.test"
    assert origin_of("http://h.test") is None  # no path: urljoin decides
    assert origin_of("http://[::1]/") is None
    assert origin_of("ftp://h.test/") is None
    assert join_url("http://h.test/a/b.html", "/img/1.svg") == "http://h.test/img/1.svg"


@settings(max_examples=examples(3000), deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab 中\t\n\r\x00\x07\x7f\x85\xa0\u3000\u200b\u2028 ")),
               max_size=30), st.integers(min_value=0, max_value=40))
@example("plain text", 200)
@example(" lead", 200)
@example("trail ", 200)
@example("two  spaces", 200)
def test_clean_text_is_the_regex_cleaning(text: str, limit: int) -> None:
    assert clean_text(text, limit) == _reference_clean(text, limit)
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", clean_text(text, limit))


@settings(max_examples=examples(2000), deadline=None)
@given(st.sampled_from(["http://", "https://", "HTTP://"]), HOSTS,
       st.lists(URL_CHARS, max_size=10).map("".join),
       st.lists(URL_CHARS, max_size=10).map("".join),
       st.sampled_from(["GET", "POST"]), st.sampled_from([b"", b"q=1"]))
@example("http://", "h.test", "/a?b=1&a=2", "/a?a=2&b=1", "GET", b"")
@example("http://", "h.test", "/a", "/a#top", "GET", b"")
def test_dupefilter_finds_scrapys_duplicates(scheme: str, host: str, a: str, b: str,
                                             method: str, body: bytes) -> None:
    """Two requests are duplicates for the crawl's filter exactly when Scrapy's would say so."""
    from scrapy import Request
    from scrapy.dupefilters import RFPDupeFilter

    from crawlers.dupefilter import CanonicalURLDupeFilter

    try:
        first = Request(scheme + host + a, method=method, body=body)
        second = Request(scheme + host + b, method=method, body=body)
        RFPDupeFilter().request_seen(first)
        RFPDupeFilter().request_seen(second)
    except ValueError:
        return  # not a URL Scrapy takes
    ours, scrapys = CanonicalURLDupeFilter(), RFPDupeFilter()
    assert ours.request_seen(first) is scrapys.request_seen(first) is False
    assert ours.request_seen(second) is scrapys.request_seen(second)


def test_dupefilter_remembers_across_a_job_directory(tmp_path: Path) -> None:
    from scrapy import Request

    from crawlers.dupefilter import CanonicalURLDupeFilter

    seen = CanonicalURLDupeFilter(str(tmp_path))
    assert not seen.request_seen(Request("http://h.test/item/1.html"))
    assert not seen.request_seen(Request("http://h.test/s?q=1", method="POST", body=b"x"))
    seen.close("finished")
    again = CanonicalURLDupeFilter(str(tmp_path))
    assert again.request_seen(Request("http://h.test/item/1.html"))
    assert again.request_seen(Request("http://h.test/s?q=1", method="POST", body=b"x"))
    assert not again.request_seen(Request("http://h.test/item/2.html"))


class _Spider:
    allowed_domains = ["h.test", "127.0.0.1", "xn--fiqs8s.cn"]


def _offsite_pair() -> tuple[Any, Any]:
    from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware as Stock

    from crawlers.middlewares import OffsiteMiddleware

    ours, stock = OffsiteMiddleware(None), Stock(None)
    ours._update_host_regex(_Spider)
    stock._update_host_regex(_Spider)
    return ours, stock


#: One pair for every example: the remembered hosts build up as in a crawl.
_OFFSITE = _offsite_pair()


@settings(max_examples=examples(3000), deadline=None)
@given(SCHEMES, HOSTS | st.sampled_from(["sub.h.test", "h.test.evil", "evilh.test",
                                          "H.TEST:1", "h.test\t", "x@h.test", "h.test@x"]),
       st.lists(URL_CHARS, max_size=12).map("".join))
@example("http://", "h.test", "/item/1.html")
@example("http://", "h.test.evil", "/")
def test_offsite_decisions_are_scrapys(scheme: str, host: str, rest: str) -> None:
    from scrapy import Request

    try:
        request = Request(scheme + host + rest)
    except ValueError:
        return  # not a URL Scrapy requests
    ours, stock = _OFFSITE
    assert ours.should_follow(request, _Spider) == stock.should_follow(request, _Spider)


def test_offsite_remembers_hosts_and_notices_new_domains() -> None:
    from scrapy import Request

    ours, _ = _offsite_pair()
    assert ours.should_follow(Request("http://h.test/a"), _Spider)
    assert not ours.should_follow(Request("http://other.test/a"), _Spider)
    assert ours._hosts == {"h.test": True, "other.test": False}

    class Moved(_Spider):
        allowed_domains = ["other.test"]

    assert ours.should_follow(Request("http://other.test/b"), Moved)
    assert not ours.should_follow(Request("http://h.test/b"), Moved)
