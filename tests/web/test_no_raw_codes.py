"""Every console page, for every role, in zh-CN: no code of the vocabulary shows as raw text.

A supervisor reads 已送检, not ``sent_to_lab``; a raw code on a page means a label is missing
from store.labels or a template prints a value unlabelled.  The check reads the page's
visible text (tags, attributes, scripts and styles removed), so codes in URLs, form values
and CSS classes are allowed, as they should be.
"""

from __future__ import annotations

import enum
import re
from html.parser import HTMLParser

from store import vocabulary
from store.labels import HEADING_DOMAINS, LABELS, TEXT_LABELS
from tests.web.conftest import Live


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style", "code", "pre"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "pre") and self._skip:
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
    d = live.data
    out = ["/", "/campaigns", f"/campaigns/{d.campaign_id}", "/listings", "/evidence",
           "/purchases", "/cases", "/personas", "/reports", "/audit"]
    out += [f"/plans/{p}" for p in d.plan_ids]
    out += [f"/plans/{p}/estimates" for p in d.plan_ids]
    out += [f"/purchases/{i}" for i in range(1, 8)]
    out += [f"/listings/{i}" for i in d.listing_ids[:3]]
    out += [f"/evidence/{i}" for i in d.capture_ids[:3]]
    out += ["/matches"]
    if d.case_id:
        out.append(f"/cases/{d.case_id}")
    return out


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


def raw_codes(html: str) -> set[str]:
    """The vocabulary codes a person would read raw on this page (empty when none): the
    check every console test of a zh-CN page shares."""
    found = set(_CODE.findall(visible_text(html)))
    found |= {word for _tag, word in _CELL.findall(html) if word in ZH_PAGE_WORDS}
    found |= {code for code in _ACTION_CELL.findall(html) if code in AUDIT_ACTIONS}
    # Strata and domains ("mall/electrical/key", "行业: textiles") label their coded parts.
    found |= set(_STRATUM_PART.findall(visible_text(html)))
    found |= set(_SECTOR_CLASS.findall(visible_text(html)))
    return found


def test_no_raw_code_on_any_page_for_any_role(live: Live) -> None:
    found: dict[str, set[str]] = {}
    for name in ("sam", "sue", "ian", "ada"):
        client = live.login(name, headers={"Accept-Language": "zh-CN"})
        for path in pages(live):
            r = client.get(path)
            if r.status_code != 200:
                continue  # a page the role may not see
            for code in raw_codes(r.text):
                found.setdefault(code, set()).add(path)
    assert found == {}, found


def test_the_check_finds_the_codes_a_page_could_show_raw() -> None:
    """A broken check would pass every page: each kind of raw code must be found."""
    assert raw_codes("<p>层 light_industry/general：15 个商品中抽 4 个</p>") == {"light_industry"}
    assert raw_codes("<p>所需权限: audit.view</p>") == {"audit.view"}
    assert raw_codes('<table><tr><th>brand</th><td>Acme</td></tr></table>') == {"brand"}
    assert raw_codes("<td>sent_to_lab</td><td>plan.submit</td>") == {"sent_to_lab", "plan.submit"}
    assert raw_codes("<p>层 轻工/一般监管类</p><a href='/x?s=light_industry/key'>x</a>") == set()
