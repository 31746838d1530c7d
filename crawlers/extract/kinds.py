"""What a page is, from what it holds: a product page (one main product), a listing page
(repeated product cards linking to product pages), a seller page (a storefront's facts), or
just a page to navigate through.

Why: shops lay out their URLs every way (``/shop/<category>/`` categories, ``?pid=`` product
pages); deciding a page's kind from its URL lost whole shops.  A profile's URL patterns stay
an optional hint that can only add confidence (``hint``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from lxml import etree

from crawlers.extract import availability as avail
from crawlers.extract.contacts import facts_from_text
from crawlers.extract.markup import Markup
from crawlers.extract.reconcile import similar
from crawlers.extract.visible import Visible

PRODUCT, LISTING, SELLER, OTHER = "product", "listing", "seller", "other"
OG_PRODUCT = {"product", "og:product", "product.item", "product.group", "products"}
#: How many like cards make a grid.
MIN_CARDS = 3
#: How many buy controls outside the cards one product's page shows at most (add to cart,
#: buy now, add to wish list, a sticky bar's copy, the header's cart...): more are a grid's.
MAX_BUY = 8
#: Stock notes a page shows instead of a price.
NOT_BUYABLE = frozenset((avail.OUT_OF_STOCK, avail.DISCONTINUED, avail.PRE_ORDER))


@dataclass
class Kind:
    kind: str
    confidence: float
    reasons: list[str] = field(default_factory=list)


def product_cards(visible: Visible) -> tuple[list[str], set[etree._Element]]:
    """(the product links of the page's repeated cards, ids of the card elements).  A card
    is the nearest ancestor of a shown price that holds a link; cards alike (same tag and
    class) three times or more are a grid."""
    groups: dict[tuple[str, str], list[tuple[etree._Element, str]]] = {}
    seen: set[etree._Element] = set()
    # Ancestors found to hold no link: the prices of one card share them (each was
    # searched again for every price).
    linkless: set[etree._Element] = set()
    for owner in visible.price_owners:
        cur: etree._Element | None = owner
        for _ in range(7):
            if cur is None or cur.tag in ("body", "html"):
                break
            if cur in seen:
                break  # this card's link was taken for an earlier price
            if cur in linkless:
                cur = cur.getparent()
                continue
            # The first few links of the subtree (a compiled-per-call XPath here was most
            # of the cost of finding cards on a page with hundreds of prices).
            links = [cur] if cur.tag == "a" and cur.get("href") else \
                list(islice((a for a in cur.iter("a") if a.get("href")), 6))
            if links:
                seen.add(cur)
                href = _card_link(links)
                if href:
                    key = (str(cur.tag), cur.get("class", ""))
                    groups.setdefault(key, []).append((cur, href))
                break
            linkless.add(cur)
            cur = cur.getparent()
    out: list[str] = []
    ids: set[etree._Element] = set()
    for cards in groups.values():
        hrefs = {h for _, h in cards}
        if len(hrefs) >= MIN_CARDS:
            out.extend(dict.fromkeys(h for _, h in cards))
            ids.update(c for c, _ in cards)
    return out, ids


def _card_link(links: list[Any]) -> str | None:
    """The card's product link: one around an image or with the longest text."""
    best, best_len = None, -1
    for a in links[:6]:
        href = (a.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        size = len(" ".join(a.itertext()).strip()) + (
            50 if next(a.iter("img"), None) is not None else 0)
        if size > best_len:
            best, best_len = href, size
    return best


def _in_cards(el: etree._Element | None, card_ids: set[etree._Element]) -> bool:
    cur = el
    for _ in range(8):
        if cur is None:
            return False
        if cur in card_ids:
            return True
        cur = cur.getparent()
    return False


def classify(markup: Markup, visible: Visible, product: dict[str, Any] | None, others: int,
             fields: dict[str, Any], cards: list[str], card_ids: set[etree._Element],
             text: str,
             hint: str | None = None) -> Kind:
    """The page's kind.  *product*/*others*: the main markup product and how many other
    products the markup names; *fields*: the reconciled product fields; *text*: the page's
    visible text (for a seller's facts); *hint*: the kind a profile's URL rule expects."""
    reasons: list[str] = []
    score = 0.0
    if product is not None and (product.get("name") or product.get("offers")):
        name = product.get("name")
        matched = isinstance(name, str) and bool(visible.heading) and \
            similar(name, visible.heading or "")
        if others >= MIN_CARDS - 1 and not matched and len(cards) >= MIN_CARDS:
            reasons.append(f"markup names {others + 1} products")
        else:
            score += 0.7
            reasons.append("markup product")
    if "markup product" not in reasons and markup.og.get("og:type", "").lower() in OG_PRODUCT:
        score += 0.6 if markup.og.get("product:price:amount") or markup.og.get(
            "og:price:amount") else 0.5
        reasons.append("og:type product")
    if (visible.heading or visible.doc_title) and visible.price is not None and not _in_cards(visible.price_owner,
                                                                       card_ids):
        # A main heading with its own price (not a card's) plus any one corroborating signal
        # below makes a product page, whatever grid of other products (recommendations,
        # "customers also bought") the page shows beside it.
        score += 0.4
        reasons.append("heading with a price")
        # A disabled buy control counts too: a sold-out product's page is still one.
        outside = visible.buy_count - sum(_in_cards(b, card_ids) for b in visible.buy_controls)
        if visible.buy is not None and outside <= MAX_BUY:
            score += 0.2
            reasons.append("buy control")
        if any(k in visible.pairs for k in ("sku", "gtin", "mpn")):
            score += 0.15
            reasons.append("product id")
        if visible.availability is not None:
            score += 0.15
            reasons.append("stock note")
    elif visible.heading and visible.price is None and len(cards) < MIN_CARDS and \
            visible.availability in NOT_BUYABLE and \
            any(k in visible.pairs for k in ("sku", "gtin", "mpn")):
        # A sold-out product's page often shows no price at all; its heading, a product id
        # and a note that it cannot be bought now still say what it is (no grid: a category
        # whose cards each say "SKU … sold out" is not one).
        score += 0.55
        reasons.append("heading, product id and a sold-out note")
    if hint == PRODUCT:
        score += 0.1
        reasons.append("profile URL rule")
    if score >= 0.55 and (fields.get("title") or "markup product" in reasons):
        return Kind(PRODUCT, min(score, 1.0), reasons)
    facts = facts_from_text(text)
    strong = {"filing_number", "licence_number"} & facts.keys()
    contacts = facts.keys() & {"phone", "email", "wechat", "address"}
    if strong or len(contacts) >= 2:
        return Kind(SELLER, 0.7 if strong else 0.5,
                    [f"seller facts: {', '.join(sorted(facts))}"])
    if len(cards) >= MIN_CARDS or len(markup.item_urls) >= MIN_CARDS or (
            others >= MIN_CARDS - 1 and product is not None):
        return Kind(LISTING, 0.8, [f"{max(len(cards), len(markup.item_urls), others + 1)} "
                                   "product cards"])
    if hint == SELLER and visible.heading:
        return Kind(SELLER, 0.4, ["profile URL rule"])
    return Kind(OTHER, 0.5, reasons)
