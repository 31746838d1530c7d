"""Every console page, for every role, in zh-CN: no code of the vocabulary shows as raw text.

A supervisor reads 已送检, not ``sent_to_lab``; a raw code on a page means a label is missing
from store.labels or a template prints a value unlabelled.  The check reads the page's
visible text (tags, attributes, scripts and styles removed), so codes in URLs, form values
and CSS classes are allowed, as they should be; so is what a page quotes as another system
stored it (``<code>``, ``<samp>``: a notice's every field as imported).
"""

from __future__ import annotations

import enum
import re
from html.parser import HTMLParser
from typing import Any

from store import vocabulary
from store.labels import HEADING_DOMAINS, LABELS, TEXT_LABELS
from tests.web.conftest import Live


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style", "code", "pre", "samp"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "pre", "samp") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


#: Codes a person must never read raw: every multi-word code of the labelled enumerations
#: and of the plain-string code tables (single words such as "key" or "open" are ordinary
#: English and would match crawled titles; ZH_PAGE_WORDS below checks those in table cells).
CODES = sorted({code for table in LABELS.values() for code in table if "_" in code} | {
    m.value for e in vars(vocabulary).values()
    if isinstance(e, type) and issubclass(e, enum.StrEnum) and e is not enum.StrEnum
    for m in e if "_" in m.value} | {
    code for domain, table in TEXT_LABELS.items() if domain not in HEADING_DOMAINS
    for code in table if "_" in code} | {
    # codes stored as plain strings (case kinds, artifact and custody kinds, risk factors)
    "failed_sample", "screenshot_full", "screenshot_viewport", "screenshot_before_overlays",
    "screenshot_after_overlays", "screenshot_clipped", "capture_failed", "seller_failed",
    "seller_cases", "order_confirmation", "prohibited_class", "sent_to_lab"} | {
    # permissions a refused access names in the audit log ("audit.view")
    code for code in TEXT_LABELS["permission"]})
_CODE = re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, CODES)) + r")(?![\w/.-])")


def pages(live: Live) -> list[str]:
    """Every page of the console (each GET route that answers HTML), for every row of the
    world that has one: ids read from the database, so a row the seed adds is walked too."""
    from sqlalchemy import select

    from store.models import Campaign, Capture, Case, ForeignNotice, Listing, Plan, Purchase

    with live.db.session() as s:
        def ids(column: Any) -> list[int]:
            return list(s.scalars(select(column).order_by(column)))

        campaigns, plans, purchases = ids(Campaign.id), ids(Plan.id), ids(Purchase.id)
        listings, captures, cases = ids(Listing.id), ids(Capture.id), ids(Case.id)
        notices = ids(ForeignNotice.id)
    out = ["/", "/campaigns", "/listings", "/evidence", "/purchases", "/cases", "/personas",
           "/reports", "/audit", "/matches", "/captures/queue"]
    out += [f"/campaigns/{i}" for i in campaigns]
    out += [f"/plans/{p}" for p in plans] + [f"/plans/{p}/estimates" for p in plans]
    out += [f"/purchases/{i}" for i in purchases]
    out += [f"/listings/{i}" for i in listings[:8]]
    out += [f"/products/{i}" for i in listings[:2]] + [f"/products/copies/{listings[0]}"]
    out += [f"/evidence/{i}" for i in captures]
    out += [f"/notices/{i}" for i in notices] + [f"/cases/{i}" for i in cases]
    return out


#: A time a person reads: the bureau's zone to the second, named (北京时间); a bare minute or
#: a UTC time is a time only a machine should read (a UTC time beside its local one, as
#: evidence shows it, "… 北京时间 (… UTC)", is allowed).
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?"
                   r"(?:Z|[+-]\d{2}:?\d{2}| ?UTC| ?北京时间)?")


def bare_times(html: str) -> set[str]:
    """Times on the page not in the bureau's zone to the second (empty when none)."""
    text = visible_text(html)
    found = set()
    for m in _TIME.finditer(text):
        shown = m.group(0)
        if shown.endswith("北京时间") and re.search(r":\d{2}:\d{2} ?北京时间$", shown):
            continue
        if shown.endswith("UTC") and re.search(r"北京时间 \($", text[:m.start()]):
            continue
        found.add(shown)
    return found


def platform_codes_shown(html: str, codes: set[str]) -> set[str]:
    """Platform codes filling a table cell or a choice on a page, or opening a stratum in a
    cell ("mall/电子电器"): it shows the name."""
    whole = {word for _tag, word in re.findall(r"<(td|option)[^>]*>\s*([\w.-]+)\s*</\1>", html)
             if word in codes}
    return whole | {word for word in re.findall(r"<td[^>]*>\s*([\w.-]+)/", html)
                    if word in codes}


#: Single-word codes that must not fill a whole table cell or badge on a zh-CN page.
CODE_TABLES = (*LABELS.values(),
               *(t for d, t in TEXT_LABELS.items() if d not in HEADING_DOMAINS))
ZH_PAGE_WORDS = {code for table in CODE_TABLES for code in table
                 if "_" not in code and len(code) > 2} - {
    # the audit log's object types are ordinary words ("plan", "user", "file") that other
    # pages show as ids' prefixes and names; the audit page's test checks their labels
    code for domain in ("audit_action", "audit_object") for code in TEXT_LABELS[domain]}
_CELL = re.compile(r"<(td|th|span)[^>]*>\s*([a-z]+)\s*</\1>")
#: An audit action ("plan.submit") filling a table cell: the audit page shows its label (a
#: permission named in an event's details, "permission: evidence.view", is not an action).
_ACTION_CELL = re.compile(r"<td[^>]*>\s*([a-z_]+(?:\.[a-z_]+)+)\s*</td>")
AUDIT_ACTIONS = frozenset(TEXT_LABELS["audit_action"])


_PARTS = sorted(code for kind in (vocabulary.Sector, vocabulary.SupervisionClass)
                for code in LABELS[kind])
_STRATUM_PART = re.compile(r"(?:(?<=[\w-]/)|(?<=: ))(" + "|".join(_PARTS) + r")(?=$|[/\s])")
#: A sector and class pair anywhere in the text ("层 light_industry/general"): the sector.
_SECTOR_CLASS = re.compile(
    r"(?<![\w-])(" + "|".join(sorted(LABELS[vocabulary.Sector])) + r")/(?:"
    + "|".join(sorted(LABELS[vocabulary.SupervisionClass])) + r")(?![\w-])")


#: How a notice match matched, as stored ("brand+model", "model:ME-E7800"): a page labels
#: the method and each key's kind.
_MATCH_CODE = re.compile(r"(?<![\w/.-])(exact-key|brand\+model|(?:model|brand|gtin|listing-gtin|"
                         r"asin):(?=\S))")


def raw_codes(html: str) -> set[str]:
    """The vocabulary codes a person would read raw on this page (empty when none): the
    check every console test of a zh-CN page shares."""
    found = set(_CODE.findall(visible_text(html)))
    found |= set(_MATCH_CODE.findall(visible_text(html)))
    found |= {word for _tag, word in _CELL.findall(html) if word in ZH_PAGE_WORDS}
    found |= {code for code in _ACTION_CELL.findall(html) if code in AUDIT_ACTIONS}
    # Strata and domains ("mall/electrical/key", "行业: textiles") label their coded parts.
    found |= set(_STRATUM_PART.findall(visible_text(html)))
    found |= set(_SECTOR_CLASS.findall(visible_text(html)))
    return found


def test_no_raw_code_on_any_page_for_any_role(live: Live) -> None:
    from sqlalchemy import select

    from store.models import ForeignNotice, Listing, ListingSnapshot, NoticeMatch, Platform
    from tests.web.test_product_page import _product

    _product(live)  # a product of two listings and a foreign notice: their pages exist
    with live.db.session() as s:
        platform_codes = set(s.scalars(select(Platform.code)))
        for listing in s.scalars(select(Listing).limit(3)):
            # as a crawl leaves them: availability, where each field came from, snapshots
            listing.availability = "in_stock"
            listing.raw = {"sources": {"availability": "json-ld"},
                           "fields": {"availability": "in_stock"}}
            s.add(ListingSnapshot(listing_id=listing.id, version=99, content_hash="0" * 64,
                                  changes=["created"]))
        notice = s.scalars(select(ForeignNotice)).first()
        assert notice is not None
        notice.raw = {"brand": "Acme", "recall_date": "2026-01-01T00:00:00"}  # as imported
        first = s.scalars(select(Listing).order_by(Listing.id)).first()
        assert first is not None
        s.add(NoticeMatch(notice_id=notice.id, listing_id=first.id, score=0.9,
                          status="proposed", detail={"evidence": {
                              "method": "brand+model", "keys": ["model:M-1", "brand:acme"]}}))
    found: dict[str, set[str]] = {}
    seen: set[str] = set()
    for name in ("sam", "sue", "ian", "ada"):
        client = live.login(name, headers={"Accept-Language": "zh-CN"})
        for path in pages(live):
            r = client.get(path)
            if r.status_code != 200:
                continue  # a page the role may not see
            seen.add(path.rstrip("0123456789"))
            shown = (raw_codes(r.text) | bare_times(r.text)
                     | platform_codes_shown(r.text, platform_codes))
            for code in shown:
                found.setdefault(code, set()).add(path)
    assert found == {}, found
    # the walk reaches every kind of page (a broken world or login would walk none)
    assert {"/products/", "/products/copies/", "/notices/", "/captures/queue", "/evidence/",
            "/purchases/", "/plans/", "/cases/", "/audit"} <= seen, sorted(seen)


def test_the_check_finds_the_codes_a_page_could_show_raw() -> None:
    """A broken check would pass every page: each kind of raw code must be found."""
    assert raw_codes("<p>层 light_industry/general：15 个商品中抽 4 个</p>") == {"light_industry"}
    assert raw_codes("<p>所需权限: audit.view</p>") == {"audit.view"}
    assert raw_codes('<table><tr><th>brand</th><td>Acme</td></tr></table>') == {"brand"}
    assert raw_codes("<td>sent_to_lab</td><td>plan.submit</td>") == {"sent_to_lab", "plan.submit"}
    assert raw_codes("<td>brand+model: model:M-1</td>") == {"brand+model", "model:"}
    assert raw_codes("<p>层 轻工/一般监管类</p><a href='/x?s=light_industry/key'>x</a>") == set()
    assert bare_times("<td>2026-12-07 02:03</td><td>2026-12-07T02:03:04+00:00</td>") == {
        "2026-12-07 02:03", "2026-12-07T02:03:04+00:00"}
    assert bare_times("<td>2026-12-07 10:03:04 北京时间 (2026-12-07 02:03:04 UTC)</td>") == set()
    assert platform_codes_shown("<td>mall</td><option value='mall'>商城</option>",
                                {"mall"}) == {"mall"}
    assert platform_codes_shown("<td>shop/电子电器</td><td>商城/电子电器</td>",
                                {"shop", "mall"}) == {"shop"}
