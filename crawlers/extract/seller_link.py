"""The link a product page marks as its seller's, among the elements whose class, id,
itemprop or aria-label names a seller (crawlers.extract.scan's ``seller`` topic).

Why: taking the first link under any such element attached a crawl's listings to bogus
sellers on real pages: a "Save this seller" button (``#``), a "see other merchants" script
(``javascript:``), a QR code or a captcha (links without text), a shop's menu or store locator
in its header, a "seller centre" for merchants in its top bar.  A seller's link here goes to
a page (not ``#``, ``/``, a script or a help page), shows text (the seller's name), and sits
in the page's content, not in its header, navigation or footer.
"""

from __future__ import annotations

import re

from lxml import etree

#: Elements whose links are the site's own (menus, account, help), never a product's seller.
CHROME = frozenset(("header", "nav", "footer"))
#: Ids and class words of the same landmarks on pages that do not use those tags (a
#: ``<div id="banner">`` holding a store locator named ``storeName``).
CHROME_NAMES = frozenset(("header", "banner", "footer", "nav", "navbar", "navigation", "menu",
                          "masthead", "topbar", "site-header", "site-footer", "global-header"))
#: A help or support page (Amazon's "/gp/help/customer/…"), unless its query names the seller
#: (Amazon's seller profile is "/gp/help/seller/at-a-glance.html?seller=A11W…").
_HELP = re.compile(r"/(?:help|faq|support)(?:[/._-]|$)", re.IGNORECASE)
_NAMES_SELLER = re.compile(r"[?&](?:seller|merchant|vendor|shop|store)(?:_?id)?=",
                           re.IGNORECASE)
#: How many seller-named elements, and links in each, are looked at.
MAX_ELEMENTS, MAX_LINKS = 20, 4


def seller_link(elements: list[etree._Element]) -> str | None:
    """The first link under *elements* (in document order) that can be the seller's page."""
    for el in elements[:MAX_ELEMENTS]:
        if _in_chrome(el):
            continue
        links = [el] if el.tag == "a" else el.iter("a")
        for n, a in enumerate(links):
            if n >= MAX_LINKS:
                break
            href = (a.get("href") or "").strip()
            if is_seller_href(href) and "".join(a.itertext()).strip():
                return href
    return None


def is_seller_href(href: str) -> bool:
    """Whether *href* can lead to a seller's page: a page, not the site's root, an anchor,
    a script, a mail/phone link or a help page."""
    if not href or href in ("/", ";") or href.startswith(("#", ";")):
        return False
    if href.lower().startswith(("javascript:", "mailto:", "tel:", "data:")):
        return False
    return not (_HELP.search(href.split("?", 1)[0]) and not _NAMES_SELLER.search(href))


def _in_chrome(el: etree._Element) -> bool:
    """Whether *el* sits in the page's header, navigation or footer."""
    cur: etree._Element | None = el
    while cur is not None:
        if cur.tag in CHROME or cur.get("role") in ("navigation", "banner", "contentinfo"):
            return True
        if (cur.get("id") or "").lower() in CHROME_NAMES or not CHROME_NAMES.isdisjoint(
                (cur.get("class") or "").lower().split()):
            return True
        cur = cur.getparent()
    return False
