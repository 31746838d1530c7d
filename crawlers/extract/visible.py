"""What the visible page shows of its product: the main heading, the price next to it, the
buy control, stock notes, label/value pairs (spec tables, "SKU: …" lines), breadcrumbs.

Why: about a quarter of real product pages carry no schema.org markup, and much markup is
wrong (an SEO name, the regular price while the page shows a sale price).  Everything here
reads the page's text nodes in document order, once, from the tree the page was parsed
into: "near the heading" is a distance in that order.
"""

from __future__ import annotations

import operator
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from itertools import accumulate, compress, repeat

from lxml import etree

from crawlers.extract import availability as avail
from crawlers.extract import scan as _scan
from crawlers.extract.labels import label_of, label_prefixes
from crawlers.extract.money import parse_price
from crawlers.extract.scan import PageScan, scan_page
from crawlers.extract.seller_link import seller_link
from crawlers.extract.text import clean_text

#: Elements whose text a shopper does not read.
INVISIBLE = ("script", "style", "noscript", "template", "svg", "head", "iframe", "object")
_CURRENCY = (r"(?:US\$|C\$|A\$|NZ\$|HK\$|S\$|NT\$|R\$|CA\$|AU\$|[$€£¥￥₩₹₽₺₫฿₱₴₪₸₾₼]|zł|"
             r"Kč|円|元|원|Rp\.?|RM|kr\.?|kn|Kn|KN|CHF|EUR|USD|GBP|JPY|CNY|RMB|KRW|INR|RUB|TRY|VND|"
             r"THB|IDR|PLN|BRL|MXN|CAD|AUD|SEK|NOK|DKK|KZT|UAH|CZK|HUF|RON|лв|руб\.?|р\.|"
             r"тг|грн|TL|đ|Ft|lei|Dhs|KM|din)")
PRICE_TEXT = re.compile(rf"{_CURRENCY}\s*\d|\d[\d.,'\s]*\s*{_CURRENCY}(?![A-Za-z])")
#: PRICE_TEXT's two halves, each of which Python's regex engine runs quickly: an amount
#: with its currency after it, tried only at a run of number characters' first digit and
#: without backtracking into the run (no currency starts with a number character, so the
#: currency can only follow the whole run), and a currency before an amount, whose
#: alternatives each start with one literal character, so the search skips every other
#: character.  PRICE_TEXT searched whole tried its sixty currencies at every character, and
#: again at every length of every run of digits.
_AMOUNT_CURRENCY = re.compile(rf"(?<!\d)\d[\d.,'\s]*+{_CURRENCY}(?![A-Za-z])")
_CURRENCY_AMOUNT = re.compile(
    _CURRENCY.replace("[$€£¥￥₩₹₽₺₫฿₱₴₪₸₾₼]", "|".join(re.escape(c) for c in "$€£¥￥₩₹₽₺₫฿₱₴₪₸₾₼"))
    + r"\s*\d")


def shows_price(text: str) -> bool:
    """Whether *text* shows an amount with a currency (PRICE_TEXT.search, faster)."""
    return _AMOUNT_CURRENCY.search(text) is not None or \
        _CURRENCY_AMOUNT.search(text) is not None

_DIGITS = re.compile(r"\d+")
#: Runs of a number as written ("1 299,00", "12 .99"): one per price.
_NUMBERS = re.compile(r"\d[\d.,'\s]*")
_NUMBER_ONLY = re.compile(r"^[\d.,'\s]+(?:[.,][-–]+)?$")
#: An amount with its cents ("5499.00", "1,299.00", "5499.00-6799.00"), as a price element
#: without a currency shows it (a bare integer could be a count or a rating).
_AMOUNT_SHAPE = re.compile(r"^\s*\d[\d.,']*[.,]\d{2}(?:\s*[-–~]\s*\d[\d.,']*[.,]\d{2})?\s*$")
#: How many texts after the heading its own price element is looked for in.
_NEAR = 30
#: A range of prices as marketplaces show a product with variants at several prices
#: ("149.00 - 159.00", "10.90 ~ 25.90"): read as its lowest, the cheapest variant's price
#: (as markup's lowPrice is).
_RANGE_ONLY = re.compile(r"^\s*\d[\d.,']*\s*[-–~〜～]\s*\d[\d.,']*\s*$")
#: A whole-units price written "20,-" / "20.–" (German, Austrian, Nordic shops).
_DASH_CENTS = re.compile(r"(?<=\d)[.,][-–]+(?=\s|$|\D)")
#: A discount badge ("-50%", "−30 %").
_DISCOUNT = re.compile(r"^\s*[-−–]\s?\d{1,2}\s?%\s*$")
_OLD = re.compile(r"old|was|strike|regular|list-?price|listprice|list_price|price-?list|"
                  r"original|compare|crossed|rrp|uvp|msrp|retail|marketprice|market-price|"
                  r"previous")
#: Class words of amounts that are no price of the product at all (a saving, an instalment,
#: a shipping threshold, a unit price, a coupon, points, the mini-cart's subtotal, a
#: seller's deposit): never its price, not even as the last resort a list-price-styled
#: amount is.
_NOT_PRICE = re.compile(r"save|saving|instal|monthly|per-?month|finance|shipping|delivery|"
                        r"unit-?price|price-?per|coupon|reward|point|cashback|subtotal|"
                        r"cart-?total|basket-?total|minicart|mini-cart|deposit|bail")
#: Texts of amounts that are no price: a threshold ("over £30", "spend $50"), a rate
#: ("1點=1元"), shipping, a saving.
_NOT_PRICE_TEXT = re.compile(r"^\(?\s*[+\-−]\s*\D{0,3}\d|\bover\b|\bspend\b|\babove\b|\border(?:s)? of\b|=|\bsave\b|"
                             r"\byou save\b|shipping|delivery|送料|运费|運費|배송비|適用|적립|"
                             r"point|ポイント|積分|点数|點數", re.IGNORECASE)
_CURRENT = re.compile(r"sale|special|current|now|final|actual|offer|our|deal|selling|promo|"
                      r"main|product-?price|pdp|buybox|price-?box|price_?value|amount")
_PER_UNIT = re.compile(r"/\s*(?:kg|g|l|ml|oz|lb|m|cm|each|unit|st|stk|pc|pcs|100\s?\w+)\b|\bper\b"
                       r"|\bab\b|\bfrom\b|\bstarting\b|起|から|부터|\bà partir\b|\bdesde\b|每|당\s",
                       re.IGNORECASE)
#: "From"/"starting at" prices: a product with variants, its cheapest.
_FROM = re.compile(r"^\s*(?:from|ab|à partir de|a partir de|desde|da|vanaf|od|от)\b"
                   r"|起\s*$|から\s*$|부터\s*$|^\s*(?:only\s+)?from\b", re.IGNORECASE)
#: Labels written before a list price ("RRP:", "Was", "UVP", "原价", "정가", "通常価格").
_OLD_LABEL = re.compile(r"\b(?:rrp|was|list price|regular price|reg\.?|uvp|statt|"
                        r"prix barré|prix conseillé|pvp|msrp|retail price|compare at)\s*:?\s*$|"
                        r"(?:原价|原價|定价|定價|市场价|市場價|参考价|정가|소비자가|通常価格|"
                        r"希望小売価格|参考価格|定価)\s*[:：]?\s*$", re.IGNORECASE)
#: A currency written alone, next to a bare number ("원", "元", "円~": Korean and Japanese
#: shops write "~" after the amount of a deal whose options cost more).
_CURRENCY_ALONE = re.compile(rf"^\s*{_CURRENCY}\s*\.?\s*[~〜～]?\s*$")
#: A short label ending in the currency, the amount in its own element ("最低價$" "99",
#: "Price: €" "12.99").
_LABEL_CURRENCY = re.compile(rf"^[^\d]{{0,16}}(?<![A-Za-z]){_CURRENCY}\s*$")
_STOCK_ATTR = re.compile(r"stock|availab|inventory|sold-?out|lieferbar|verfugbar|dispon",
                         re.IGNORECASE)
_BREADCRUMB = re.compile(r"breadcrumb", re.IGNORECASE)
#: Topics of class/id values (kept here for callers that named them so).
TOPICS = _scan.TOPICS
topics_of = _scan.topics_of


#: How many text nodes after the main heading the product's own facts are looked for in.
WINDOW = 400


@dataclass
class Visible:
    """The visible page's facts, each with the element kind it came from."""

    heading: str | None = None
    price: Decimal | None = None
    price_symbol: str | None = None
    old_price: Decimal | None = None
    prices: list[Decimal] = field(default_factory=list)
    buy: bool | None = None
    availability: str | None = None
    availability_source: str | None = None
    pairs: dict[str, str] = field(default_factory=dict)
    inline: dict[str, str] = field(default_factory=dict)
    breadcrumbs: list[str] = field(default_factory=list)
    text_sample: str = ""
    #: The document's <title>, cut before a " | Shop name" suffix.
    doc_title: str | None = None
    #: All visible text, joined (bounded): whether a value is shown on the page at all.
    text: str = ""
    #: Enabled buy controls on the page (several: a listing grid's, not one product's).
    buy_count: int = 0
    #: The enabled buy controls themselves (the first few), to tell a product's own control
    #: from those of the cards of a listing or of a page's bundle offers.
    buy_controls: list[etree._Element] = field(default_factory=list)
    #: Elements showing a price, anywhere on the page (for finding product cards).
    price_owners: list[etree._Element] = field(default_factory=list)
    #: A link the page marks as its seller's (class, id, itemprop naming a seller).
    seller_link: str | None = None
    #: The element of the chosen price.
    price_owner: etree._Element | None = None
    #: Whether a discount badge ("-50%") is shown beside the chosen price.
    discounted: bool = False


def _attrs(el: etree._Element, depth: int = 3) -> str:
    """Class, id and itemprop of *el* and its nearest ancestors, for scoring a text."""
    return " ".join(_attr_parts(el, depth))


def _attr_parts(el: etree._Element, depth: int = 3) -> list[str]:
    """_attrs of *el* and each of its ancestors, one string each (the first two of three
    are _attrs(el, 2))."""
    parts = []
    cur: etree._Element | None = el
    for _ in range(depth):
        if cur is None or not isinstance(cur.tag, str):
            break
        parts.append(f"{cur.tag} {cur.get('class', '')} {cur.get('id', '')} "
                     f"{cur.get('itemprop', '')} {cur.get('data-testid', '')}")
        cur = cur.getparent()
    return parts


#: Class words saying a price is struck through ("pdp-price_type_deleted", "price--strike"):
#: as plain a list price as a ``<del>``, whatever other words ("pdp", "sale") the class has.
_STRUCK_CLASS = re.compile(r"(?:^|[\s_-])(?:deleted|strike|strikethrough|line-?through|"
                           r"crossed(?:-?out)?)(?:$|[\s_-])", re.IGNORECASE)


def _struck(el: etree._Element) -> bool:
    cur: etree._Element | None = el
    for level in range(4):
        if cur is None:
            return False
        if cur.tag in ("del", "s", "strike"):
            return True
        if level < 2 and _STRUCK_CLASS.search(cur.get("class") or ""):
            return True
        style = cur.get("style") or ""
        if "line-through" in style:
            return True
        cur = cur.getparent()
    return False


_WORDS = re.compile(r"\w+")
#: Where a document title's shop-name suffix starts (" | Acme", " – Acme", " - Acme").
_TITLE_SUFFIX = re.compile(r"\s+[|–—]\s+|\s+-\s+(?=[^-]*$)")
_HEADING_ATTR = re.compile(r"title|name|product")


def read_visible(tree: etree._Element, html: str = "", scan: PageScan | None = None
                 ) -> Visible:
    """The visible facts of a parsed page (*scan*: the page's walk, when the caller made it
    already).  The tree is not changed; the text of scripts, styles and templates is
    skipped."""
    out = Visible()
    walk = scan if scan is not None else scan_page(tree, microdata=False)
    texts = walk.texts
    title_el = walk.title
    doc_title = (title_el.text or "") if title_el is not None else ""
    out.doc_title = clean_text(_TITLE_SUFFIX.split(doc_title)[0], 1000) or None
    heading_el, heading_at = _main_heading(walk, doc_title)
    if heading_el is not None:
        out.heading = clean_text(" ".join(heading_el.itertext()), 1000) or None
    # The texts joined with a NUL between them (lxml's text never holds one), so that a
    # question asked of every text is one regex pass in C: which texts hold a digit,
    # which may be labels.  *starts*: where each text starts in *joined*.
    strings = [t for t, _ in texts]
    joined = "\x00" + "\x00".join(strings)
    starts = list(accumulate(map(operator.add, map(len, strings), repeat(1)), initial=1))
    # Which short texts hold a digit, and which of them show a price: asked once here,
    # for the cards' prices and for the product's (each regex was run twice before).
    numeric = [i for i in _texts_matching(_DIGIT_TEXT, joined, starts)
               if len(strings[i]) <= 60]
    priced = _showing_price(strings, numeric)
    out.price_owners = [texts[i][1] for i in priced[:600]]
    # Whether an element's own class or id names a block of other products, asked for the
    # prices and the buy controls, whose ancestors are shared.
    other_products: dict[etree._Element, bool] = {}
    _prices(out, texts, max(heading_at, 0), heading_at >= 0, numeric, set(priced),
            (joined, starts), other_products)
    if heading_el is None and not walk.headings and out.price_owner is not None:
        out.heading = _named_title_before(texts, out.price_owner)
    _pairs(out, texts, _label_candidates(strings, joined, starts))
    _buy(out, walk.buttons + walk.topics["buy"] + _buy_links(texts), other_products)
    _stock(out, walk.topics["stock"])
    if out.availability is None:
        _stated(out, texts, heading_el, heading_at, (joined, starts), other_products)
    _breadcrumbs(out, walk.topics["breadcrumb"])
    out.seller_link = seller_link(walk.topics["seller"])
    start = max(heading_at, 0)
    out.text_sample = " ".join(strings[start:start + 80])[:2000]
    out.text = " ".join(strings)[:500_000]
    return out


def _showing_price(strings: list[str], indices: list[int]) -> list[int]:
    """Those of *indices* whose text shows a price (shows_price), in order: the texts
    joined with a NUL between them (neither half of PRICE_TEXT matches across one, and a NUL
    is no digit, letter nor space, as the start and end of a text are not) and each half
    searched once in C, instead of each text in turn (a call or two per text with a
    digit)."""
    if not indices:
        return []
    ends = list(accumulate(len(strings[i]) + 1 for i in indices))
    joined = "\x00".join(strings[i] for i in indices)
    hit = {bisect_right(ends, m.start()) for pattern in (_AMOUNT_CURRENCY, _CURRENCY_AMOUNT)
           for m in pattern.finditer(joined)}
    return [indices[k] for k in sorted(hit)]


#: A text holding a digit, in the joined texts (the rest of the text consumed, so one match
#: per text).
_DIGIT_TEXT = re.compile(r"\d[^\x00]*")
#: The first three characters of each text, in the joined texts.
_HEADS = re.compile(r"\x00([^\x00]{0,3})")
_BRANDED_TEXT = re.compile(r"型[^\x00]*")


def _texts_matching(pattern: re.Pattern[str], joined: str, starts: list[int]) -> list[int]:
    """The indices of the texts in which *pattern* (which cannot match across a NUL and
    consumes the rest of its text) matches, in order."""
    return [bisect_right(starts, m.start()) - 1 for m in pattern.finditer(joined)]


def _label_candidates(strings: list[str], joined: str, starts: list[int]) -> list[int]:
    """The indices of the texts that may be a label: those starting as a label does (their
    first three characters, lower case, in label_prefixes()) and those holding a
    brand-prefixed model label ("Apple型号")."""
    heads = "\x00".join(_HEADS.findall(joined)).lower().split("\x00")
    found = list(compress(range(len(strings)), map(label_prefixes().__contains__, heads)))
    if "型" in joined:
        branded = [i for i in _texts_matching(_BRANDED_TEXT, joined, starts)
                   if _BRANDED_MODEL_IN.search(strings[i][:40])]
        if branded:
            found = sorted(set(found).union(branded))
    return found


def _words(text: str) -> set[str]:
    return set(_WORDS.findall(text.lower()))


def _main_heading(walk: PageScan, title: str = "") -> tuple[etree._Element | None, int]:
    """The page's main heading: of its h1s, the one whose words the document's <title>
    shares most (a page has h1s for badges and sections too), then one whose class or id
    names a title or product; an h2 or h3 so named when there is no h1."""
    best: tuple[etree._Element | None, int] = (None, -1)
    best_score = -1.0
    title_words = _words(title)
    # A page with many h1s uses them for its cards' titles (Korean deal sites, some
    # themes): its own name may then be an h2, and the <title> tells which.
    levels = ("h1", "h2") if sum(el.tag == "h1" for el, _ in walk.headings) > 3 else ("h1",)
    for el, at in walk.headings:
        if el.tag not in levels:
            continue
        text = " ".join(el.itertext()).strip()
        if not (2 <= len(text) <= 400):
            continue
        attrs = f"{el.get('class', '')} {el.get('id', '')} {el.get('itemprop', '')}"
        score = 2.0 if _HEADING_ATTR.search(attrs.lower()) else 1.0
        words = _words(text)
        if title_words and words:
            score += 2 * len(words & title_words) / len(words)
        if score > best_score:
            best, best_score = (el, at), score
    if best[0] is None:
        for el, at in walk.headings:
            attrs = f"{el.get('class', '')} {el.get('id', '')} {el.get('itemprop', '')}"
            if el.tag != "h1" and _NAMED_HEADING.search(attrs.lower()):
                return el, at
    return best


#: Class words of an h2/h3 that is a page's main heading when it has no h1 ("product-title",
#: Taobao's "tb-main-title", itemprop "name").
_NAMED_HEADING = re.compile(r"product.?(title|name)|main.?title|item.?(title|name)|\bname\b")


#: Class/id words of an element holding a product's name on pages without any h1-h3 (Korean
#: and Japanese shop platforms name it a "subject": ``goods_subject``, ``dv_title``).
_TITLE_ATTR = re.compile(r"title|subject|product.?name|item.?name|goods.?name", re.IGNORECASE)
#: How many texts before the shown price a named title is looked for in.
_TITLE_BEFORE = 60


def _named_title_before(texts: list[tuple[str, etree._Element]],
                        price_owner: etree._Element) -> str | None:
    """On a page with no heading at all, the product's name: the nearest text before the
    shown price whose element (or its parent) a class or id names a title or subject."""
    at = next((i for i, (_, owner) in enumerate(texts) if owner is price_owner), -1)
    for i in range(at - 1, max(-1, at - _TITLE_BEFORE), -1):
        text, owner = texts[i]
        if not (4 <= len(text) <= 300) or _NUMBER_ONLY.match(text) or \
                label_of(text.partition(":")[0]) is not None:
            continue
        attrs = _attrs(owner, 2)
        if _TITLE_ATTR.search(attrs) and "price" not in attrs.lower():
            return clean_text(text, 1000) or None
    return None


def _prices(out: Visible, texts: list[tuple[str, etree._Element]], start: int,
            anchored: bool, with_digit: list[int], with_price: set[int],
            joined: tuple[str, list[int]], memo: dict[etree._Element, bool]) -> None:
    """The current price nearest after the heading; a struck or "was" price near it is the
    list price.  *with_digit*: the indices of the texts of at most 60 characters holding a
    digit, in order; *with_price*: those of them showing a price (PRICE_TEXT); *joined*:
    the texts joined and where each starts (read_visible); *memo*: _in_other_products'."""
    lo = max(0, start - 40) if anchored else 0
    hi = min(len(texts), start + WINDOW) if anchored else min(len(texts), 3000)
    # Only texts with a digit can be prices: they are visited, up to the title of a block
    # of other products ("Similar products"), found by one regex pass over the window.
    hi = _other_products_title(joined, texts, start + 1, hi)
    best: tuple[float, Decimal, str | None, etree._Element] | None = None
    old: tuple[float, Decimal] | None = None
    old_candidate: tuple[float, Decimal, str | None, etree._Element] | None = None
    seen_owner: set[int] = set()
    from_price: tuple[Decimal, str | None, etree._Element] | None = None
    best_at = -1
    for i in with_digit[bisect_left(with_digit, lo):bisect_left(with_digit, hi)]:
        text, owner = texts[i]
        shows = i in with_price
        if not shows and not (_NUMBER_ONLY.match(text) or _RANGE_ONLY.match(text)):
            continue
        parts = _attr_parts(owner)
        attrs = " ".join(parts)
        lowered = attrs.lower()
        priced = "price" in lowered or "preis" in lowered or "prix" in lowered
        uncurrencied = False
        if not shows:
            if id(owner) in seen_owner:
                continue
            seen_owner.add(id(owner))
            bare = _bare_number_price(texts, i, priced, start, anchored)
            if bare is None:
                continue
            text, uncurrencied = bare
        starting = bool(_FROM.search(text))
        if not starting and _PER_UNIT.search(text):
            continue
        if _NOT_PRICE_TEXT.search(text):
            continue
        amount, symbol = parse_price(_DASH_CENTS.sub("", text))
        if amount is None:
            continue
        out.prices.append(amount)
        if starting:
            # "From £1,049": the price of the cheapest variant, taken only when the page
            # shows no other price for its product.
            if from_price is None:
                from_price = (amount, symbol, owner)
            continue
        if _in_other_products(owner, memo):
            continue
        label = texts[i - 1][0] if i > 0 and len(texts[i - 1][0]) <= 30 else ""
        if _EX_TAX.search(text) or (label and _EX_TAX.search(label)):
            # A price before tax is shown to businesses; the consumer's price is the other.
            continue
        if _never_shown(owner):
            continue
        distance = (i - start) if i >= start else (start - i) * 3 + 20
        near = " ".join(parts[:2]).lower()
        if _NOT_PRICE.search(near) and not priced_here(owner):
            continue
        is_old = _struck(owner) or bool(_OLD.search(near) and not _CURRENT.search(
            (owner.get("class", "") + " " + owner.get("id", "")).lower())) or (
            bool(label) and _OLD_LABEL.search(label) is not None)
        if is_old:
            if old is None or distance < old[0]:
                old = (distance, amount)
                old_candidate = (distance, amount, symbol, owner)
            continue
        score = distance - (30 if priced else 0) - (10 if _CURRENT.search(lowered) else 0) + (
            1000 if uncurrencied else 0)
        if best is None or score < best[0]:
            best = (score, amount, symbol, owner)
            best_at = i
    _settle_price(out, texts, best, best_at, old, old_candidate, from_price)


def _bare_number_price(texts: list[tuple[str, etree._Element]], i: int, priced: bool,
                       start: int, anchored: bool) -> tuple[str, bool] | None:
    """(the price text, whether it lacks a currency) that the bare number *texts[i]* is part
    of, or None.  Its element's parent when that is a price element holding just the price
    split in parts ("$" "12" ".99"), else the currency written right before or after it
    ("868,480" "원", "2320" "元"); a "%" after it is a discount, not a price."""
    text, owner = texts[i]
    if priced:
        parent = owner.getparent() if owner.getparent() is not None else owner
        whole = clean_text(" ".join(parent.itertext()), 80)
        if len(whole) <= 24 and "%" not in whole and \
                len(_NUMBERS.findall(whole)) == 1 and shows_price(whole):
            return whole, False
    found = _with_currency(texts, i)
    if found is not None:
        return found, False
    if anchored and 0 <= i - start <= _NEAR and priced_here(owner) and \
            _AMOUNT_SHAPE.match(text):
        # The heading's own price element showing an amount and no currency: the
        # symbol is an icon or was lost ("?" where a GBK page saved "¥").  Taken
        # only when no price with a currency is found.
        return text, True
    return None


def _settle_price(out: Visible, texts: list[tuple[str, etree._Element]],
                  best: tuple[float, Decimal, str | None, etree._Element] | None, best_at: int,
                  old: tuple[float, Decimal] | None,
                  old_candidate: tuple[float, Decimal, str | None, etree._Element] | None,
                  from_price: tuple[Decimal, str | None, etree._Element] | None) -> None:
    """Settle the candidates _prices found into *out*: a lone "regular"-styled price, then a
    "From" price, stands in for a missing current one; a price right after a discount badge
    is the one paid; the list price is kept only when above the price."""
    if best is None and old_candidate is not None:
        # Only a "regular"-styled price is shown: it is the price.
        best, old = old_candidate, None
    if best is None and from_price is not None:
        best = (0.0, *from_price)
    if best is not None and best_at >= 0:
        after = _after_discount(texts, best_at, best[1])
        if after is not None:
            # "EUR219.99  -50%  EUR110.00": the price after the discount badge is the one
            # paid, the one before it the list price, whatever their classes say.
            if old is None or best[1] > old[1]:
                old = (best[0], best[1])
            best = (best[0], after[0], after[1], after[2])
    if best is not None:
        out.price, out.price_symbol, out.price_owner = best[1], best[2], best[3]
        if best_at >= 0:
            out.discounted = any(_DISCOUNT.match(t) for t, _ in
                                 texts[max(0, best_at - 3):best_at + 4])
    if old is not None and (out.price is None or old[1] > out.price):
        out.old_price = old[1]


def _other_products_title(joined: tuple[str, list[int]], texts: list[tuple[str, etree._Element]],
                          lo: int, hi: int) -> int:
    """The index of the first text from *lo* to *hi* that titles other products ("Similar
    products", "其他人也看了": what follows is their prices), else *hi*.  One regex pass in
    C over the joined texts: asked of each text in turn, the question was a fifth of the
    time spent finding the price."""
    if lo >= hi:
        return hi
    text, starts = joined
    end = starts[hi] - 1 if hi < len(starts) - 1 else len(text)
    for match in _OTHER_HEADING_AT.finditer(text, starts[lo] - 1, end):
        i = bisect_right(starts, match.start() + 1) - 1
        if len(texts[i][0]) <= 40:
            return i
    return hi


#: Labels of a price before tax ("excl. VAT", "Brez DDV:", "ohne MwSt.", "HT").
_EX_TAX = re.compile(r"\b(?:excl?\.?|excluding|ex|without|ohne|zzgl\.?|brez|bez|sin|senza|"
                     r"sem|hors|exkl\.?|utan|uden|uten|ilman)\s*(?:\.\s*)?(?:vat|tax|mwst\.?|"
                     r"ust\.?|ddv|dph|dpv|pdv|iva|tva|moms|mva|alv|btw|taxes?)\b|\bHT\b|"
                     r"\bnetto\b|不含税|未税|税抜|税別|부가세\s*별도", re.IGNORECASE)
#: Titles of sections showing other products.
_OTHER_HEADING = re.compile(
    r"^\s*(?:similar|related|recommended|recently viewed|customers (?:also|who)|you may also|"
    r"you might also|people also|others also|frequently bought|more from|"
    r"ähnliche|kunden kauften|das könnte|produits similaires|vous aimerez|"
    r"productos (?:relacionados|similares)|también te|prodotti (?:simili|correlati)|"
    r"podobn[ie]|sorodni|související|súvisiace|podobné|powiązane|"
    r"其他人也看了|猜你喜欢|相关商品|相關商品|看了又看|为你推荐|為你推薦|推荐商品|推薦商品|"
    r"関連商品|この商品を見た人|おすすめ商品|함께 본|추천 상품|연관 상품|다른 고객|"
    # Vietnamese, Thai, Indonesian and Malay, Filipino
    r"sản phẩm (?:liên quan|tương tự)|có thể bạn (?:cũng )?thích|khách hàng cũng|"
    r"สินค้าที่เกี่ยวข้อง|สินค้าแนะนำ|สินค้าที่คล้ายกัน|"
    r"produk (?:terkait|serupa|berkaitan)|mungkin (?:kamu|anda) (?:juga )?suka|"
    r"mga kaugnay na produkto)",
    re.IGNORECASE)
#: _OTHER_HEADING at the start of a text in the joined texts (after its NUL).
_OTHER_HEADING_AT = re.compile("\x00" + _OTHER_HEADING.pattern.removeprefix("^"), re.IGNORECASE)
#: Blocks showing other products (recommendations, carousels, "customers also bought",
#: sponsored placements): their prices are not this product's.
_OTHER_PRODUCTS = re.compile(r"carousel|recommend|related|similar|p13n|upsell|up-sell|"
                             r"cross-?sell|also-?(?:bought|viewed|like)|sponsored|"
                             r"recently-?viewed|you-?may-?(?:also-?)?like")


def _in_other_products(el: etree._Element,
                       memo: dict[etree._Element, bool] | None = None) -> bool:
    """Whether *el* sits in a block of other products (its class or id, or an
    ancestor's, up to ten levels).  *memo*: each element's own answer, kept across the
    calls for one page (the candidates of a page share most of their ancestors)."""
    cur: etree._Element | None = el
    for _ in range(10):
        if cur is None:
            return False
        own = memo.get(cur) if memo is not None else None
        if own is None:
            value = f"{cur.get('class', '')} {cur.get('id', '')}"
            own = len(value) > 1 and _OTHER_PRODUCTS.search(value.lower()) is not None
            if memo is not None:
                memo[cur] = own
        if own:
            return True
        cur = cur.getparent()
    return False


def _after_discount(texts: list[tuple[str, etree._Element]], at: int, amount: Decimal
                    ) -> tuple[Decimal, str | None, etree._Element] | None:
    """The lower price written right after a discount badge that follows the price at
    *at* ("EUR219.99" "-50%" "EUR110.00"), else None."""
    for j in range(at + 1, min(len(texts), at + 3)):
        badge = _DISCOUNT.match(texts[j][0])
        if badge:
            percent = Decimal(_DIGITS.search(texts[j][0]).group())  # type: ignore[union-attr]
            for k in range(j + 1, min(len(texts), j + 3)):
                text, owner = texts[k]
                if len(text) <= 40 and shows_price(text):
                    lower, symbol = parse_price(_DASH_CENTS.sub("", text))
                    # The badge's arithmetic must hold ("-50%" of 219.99 is 110), so a
                    # "you save €11" after "-11%" is not taken for the price.
                    expected = amount * (100 - percent) / 100
                    if lower is not None and lower < amount and \
                            abs(lower - expected) <= max(Decimal(1), amount / 30):
                        return lower, symbol, owner
                    return None
            return None
    return None


def priced_here(el: etree._Element) -> bool:
    """Whether *el*'s own class or id names a price (a ``price`` inside a ``delivery-info``
    box is still a price; the box's other amounts are not)."""
    own = f"{el.get('class', '')} {el.get('id', '')}".lower()
    return "price" in own and not _NOT_PRICE.search(own)


def _with_currency(texts: list[tuple[str, etree._Element]], i: int) -> str | None:
    """The bare number ``texts[i]`` with the currency written next to it, or None when
    neither neighbour is a currency (or the number is a percentage)."""
    number = texts[i][0]
    after = texts[i + 1][0] if i + 1 < len(texts) else ""
    if after.startswith("%"):
        return None
    if after and len(after) <= 6 and _CURRENCY_ALONE.match(after):
        return f"{number} {after}"
    before = texts[i - 1][0] if i > 0 else ""
    if before and len(before) <= 6 and _CURRENCY_ALONE.match(before):
        return f"{before} {number}"
    if before and len(before) <= 20 and _LABEL_CURRENCY.match(before):
        return f"{before} {number}"
    return None


#: A brand-prefixed model label in a text ("Apple型号: iPhone 11"), see labels.BRANDED_MODEL.
_BRANDED_MODEL_IN = re.compile(r"(?:型号|型號|型番)\s*[:：]|(?:型号|型號|型番)$")


def _pairs(out: Visible, texts: list[tuple[str, etree._Element]], candidates: list[int]
           ) -> None:
    """Label/value pairs: a known label ("Brand", "品牌", "Artikelnummer") followed by its
    value in the same text ("SKU: 123") or the next one (a table row, a dt/dd).
    *candidates*: the indices of the texts that may be labels (_label_candidates)."""
    for i in candidates:
        text, owner = texts[i]
        if len(text) > 120:
            continue
        if owner.tag == "option":
            # A form's choices ("상품명", "상품ID", "판매자ID"): no label of a value.
            continue
        head, sep, tail = text.partition(":") if ":" in text else text.partition("：")
        field_name = label_of(head if sep else text)
        if field_name is None:
            continue
        value = tail.strip() if sep else ""
        same_text = bool(value)
        if not value and owner.tag == "a":
            # A link saying just a label is a choice (a search box's "상품ID" field), not
            # the label of the text after it; "Brand: Acme" in a link still is a pair.
            continue
        if not value and i + 1 < len(texts):
            value = texts[i + 1][0]
            if label_of(value.partition(":")[0]) is not None:
                continue
        value = clean_text(value.lstrip(":：#").strip(), 200)
        if not value or len(value) > 120:
            continue
        # "SKU: 123 Kettle" in one text is inline (its value may run on); a label and its
        # value in two texts ("Kód produktu:" | "GARNI 570 EASY II") is a table row.
        target = out.inline if same_text else out.pairs
        target.setdefault(field_name, value)
        out.pairs.setdefault(field_name, value)


#: Button labels, class names and stock notes repeat across a shop's pages (and within a
#: listing page hundreds of times): their reading is memoised.
_cue = lru_cache(maxsize=8192)(avail.from_text)
_is_buy_label = lru_cache(maxsize=8192)(avail.is_buy_label)


@lru_cache(maxsize=8192)
def _buy_attrs(attrs: str) -> bool:
    return bool(avail.BUY_ATTR.search(attrs))


def _buy_links(texts: list[tuple[str, etree._Element]]) -> list[etree._Element]:
    """Links drawn as buy controls: whose whole label is a buy label ("Add to cart", "Kupi",
    "立即購買") and which run a script rather than go to a page (``href`` empty, ``#…`` or
    ``javascript:…``).  Shops draw their buy control as a plain link as often as a button,
    with no class naming it.  The whole label, not a phrase in it: a link's text is a product
    name or an article title as often.  And not a link to a page: a header's "장바구니"
    (cart) link goes to the cart, where the same word on a control puts the item in it."""
    return [el for text, el in texts
            if el.tag == "a" and len(text) <= 30 and text.lower() in avail.BUY_LABELS
            and _scripted(el.get("href"))]


def _scripted(href: str | None) -> bool:
    """Whether a link with this ``href`` stays on the page (a control, not navigation)."""
    href = (href or "").strip()
    return not href or href.startswith("#") or href[:11].lower() == "javascript:"


def _buy(out: Visible, controls: list[etree._Element],
         memo: dict[etree._Element, bool] | None = None) -> None:
    enabled = disabled = False
    for el in controls[:400]:
        wrapper = ""
        if el.tag not in ("button", "input", "a"):
            # A wrapper named for buying (``<div class="buyBtn"><a href="javascript:…">加入購物車
            # </a></div>``): its one link or button is the control, and the wrapper's name
            # names it (an icon's or a "free delivery" label says nothing).
            inner = [c for c in el if c.tag in ("a", "button")]
            if len(inner) != 1 or len(el) > 2:
                continue
            wrapper = f"{el.get('class', '')} {el.get('id', '')}"
            el = inner[0]
        if el.tag == "input" and el.get("type") == "hidden":
            continue
        # An image button's label is its alt text (HTML), like a button's its value.
        label = (el.get("value") or el.get("alt")) if el.tag == "input" \
            else " ".join(el.itertext())
        label = clean_text(label or el.get("aria-label") or el.get("title") or "", 80)
        attrs = f"{el.get('class', '')} {el.get('id', '')} {el.get('name', '')} {wrapper}"
        is_buy = _is_buy_label(label) or _buy_attrs(attrs)
        if is_buy and (_in_other_products(el, memo) or hidden(el)):
            # A recommended product's "Add to basket" says nothing of this one's stock,
            # nor does a hidden one (a bundle offer's, a variant's not chosen).
            continue
        if not is_buy:
            cue = _cue(label) if len(label) <= 40 else None
            if cue in (avail.OUT_OF_STOCK, avail.PRE_ORDER, avail.DISCONTINUED) and \
                    out.availability is None:
                out.availability, out.availability_source = cue, "dom:button"
            continue
        off = el.get("disabled") is not None or el.get("aria-disabled") == "true" or \
            "disabled" in el.get("class", "").lower()
        if off:
            disabled = True
        else:
            enabled = True
            out.buy_count += 1
            if len(out.buy_controls) < 20:
                out.buy_controls.append(el)
            cue = _cue(label)
            if cue == avail.PRE_ORDER and out.availability is None:
                out.availability, out.availability_source = cue, "dom:button"
    out.buy = True if enabled else (False if disabled else None)


_HIDDEN_CLASS = re.compile(r"(^|[\s_-])(hidden|hide|d-none|is-hidden|invisible|sr-only)($|[\s_-])")


def hidden(el: etree._Element) -> bool:
    """Whether *el* or an ancestor is hidden by its markup (``hidden``, ``display:none``,
    a "hidden" class): pages keep both "in stock" and "sold out" notes and show one."""
    cur: etree._Element | None = el
    for _ in range(6):
        if cur is None:
            return False
        style = (cur.get("style") or "").replace(" ", "").lower()
        if cur.get("hidden") is not None or "display:none" in style or \
                "visibility:hidden" in style or cur.get("aria-hidden") == "true" or \
                _HIDDEN_CLASS.search((cur.get("class") or "").lower()):
            return True
        cur = cur.getparent()
    return False


#: Class tokens that hide an element at every screen size (not "hidden-xs", "d-md-none").
_HIDE_TOKENS = frozenset(("hide", "hidden", "d-none", "is-hidden", "invisible"))


def _never_shown(el: etree._Element) -> bool:
    """Whether *el* or one of its five nearest ancestors is hidden whatever the screen (the
    ``hidden`` attribute, ``display:none``, a "hide" class): a price there is a template's
    or a closed panel's (a trade-in offer, a bundle), not the one the page shows."""
    cur: etree._Element | None = el
    for _ in range(6):
        if cur is None:
            return False
        if cur.get("hidden") is not None:
            return True
        style = cur.get("style")
        if style and "none" in style and "display:none" in style.replace(" ", "").lower():
            return True
        classes = cur.get("class")
        if classes and not _HIDE_TOKENS.isdisjoint(classes.lower().split()):
            return True
        cur = cur.getparent()
    return False


def _stock(out: Visible, elements: list[etree._Element]) -> None:
    """A stock note's availability, when the shown notes agree (a page showing both "in
    stock" and "sold out" notes leaves it to the buy control and the markup)."""
    cues: set[str] = set()
    # Rows of an offers table (several sellers, variants), each with its own stock note:
    # they say nothing of the product's own availability.
    # A row's list is its table (rows may sit in a tbody each) or its list element; the
    # elements themselves are counted, not their id(): lxml makes a new proxy object at each
    # getparent(), and an unheld proxy's id can be reused by another element's.
    # A row inside another noted row (a variants table inside a seller's offer row) is such a
    # row too, and so is the row holding it.
    noted = [el for el in elements[:40] if el.tag in ("tr", "li")]
    lists = Counter(_row_list(el) for el in noted)
    rows = {p for p, n in lists.items() if n >= 2 and p is not None}
    held = set(noted)
    for el in noted:
        outer = next((up for up in el.iterancestors("tr", "li") if up in held), None)
        if outer is not None:
            rows.update(r for r in (_row_list(el), _row_list(outer)) if r is not None)
    for el in elements[:40]:
        if el.tag in INVISIBLE or el.tag in ("button", "input"):
            continue
        if el.tag in ("tr", "li") and _row_list(el) in rows:
            continue
        state = _STOCK_CLASS.search(el.get("class", "").lower())
        if state and not hidden(el):
            # A class naming the state ("stock_IN_STOCK", "out-of-stock"): a page listing
            # several offers marks each; mixed states leave it to the markup and buttons.
            # An id names a slot, not a state: Amazon's empty "dp-out-of-stock-top" slot
            # sits on every page, in stock or not.
            cues.add(avail.IN_STOCK if state.group(1) else avail.OUT_OF_STOCK)
        text = clean_text(" ".join(el.itertext()), 200)
        cue = _cue(text) if 0 < len(text) <= 150 else None
        if cue and not hidden(el):
            cues.add(cue)
    if len(cues) == 1:
        out.availability, out.availability_source = cues.pop(), "dom:stock-note"


#: How many texts after the main heading (or the shown price, on a page without one) a
#: plain note stating the product's stock is looked for in: the product's own area (its
#: price, variants, buy box), not its description, reviews or other products further on.
_NOTE_NEAR = 60
#: Elements whose text is never the product's stock note: the site's navigation and footer,
#: a side column.
_CHROME = frozenset(("nav", "footer", "aside", "a", "option", "label"))
#: Class/id words of blocks whose stock words are not the product's: reviews and questions,
#: a variant picker (one size sold out), menus.
_NOT_PRODUCT_NOTE = re.compile(r"review|comment|rating|testimonial|question|answer|faq|"
                               r"swatch|variant|size|menu|navigation|footer|wishlist|notify|"
                               r"newsletter")
#: Source of a plain note's availability.
STATED = "dom:stock-text"


def _stated(out: Visible, texts: list[tuple[str, etree._Element]],
            heading: etree._Element | None, heading_at: int,
            joined: tuple[str, list[int]], memo: dict[etree._Element, bool]) -> None:
    """A plain short text near the product's heading and price stating it cannot be bought
    ("Sold out", "This item is out of stock", "缺货", "품절"), in no element named for stock:
    its availability, with source STATED.

    Why: many shops write "Sold out" in a bare paragraph or badge; read only from elements
    whose class names stock, such a page was read as in stock because it shows a price.
    The same words in other products' cards, reviews, the navigation, a variant picker or a
    sentence ("notify me when sizes sell out") are not the product's, nor is a note that a
    second visible note contradicts ("In stock" beside it)."""
    anchor = heading_at
    if anchor < 0 and out.price_owner is not None:
        anchor = next((i for i, (_, owner) in enumerate(texts) if owner is out.price_owner), -1)
    if anchor < 0:
        return
    lo = max(0, anchor - 3)
    stop = _other_products_title(joined, texts, anchor + 1,
                                 min(len(texts), anchor + _NOTE_NEAR))
    found: set[str] = set()
    for text, owner in texts[lo:stop]:
        if len(text) > 60 or _cue(text) is None:
            continue
        value = _states(text)
        if value is None or not _product_note(owner, heading, memo):
            continue
        found.add(value)
    gone = found & {avail.OUT_OF_STOCK, avail.DISCONTINUED}
    if len(gone) == 1 and avail.IN_STOCK not in found:
        out.availability, out.availability_source = gone.pop(), STATED


_states = lru_cache(maxsize=8192)(avail.states)


def _product_note(el: etree._Element, heading: etree._Element | None,
                  memo: dict[etree._Element, bool]) -> bool:
    """Whether a note in *el* may speak for the product: shown, not the heading itself,
    not inside a link (a card), the navigation, a footer, reviews, a variant picker, a
    block of other products, nor one of several rows each with a link or a price (a grid's
    card, an offers table's row)."""
    if hidden(el) or _in_other_products(el, memo):
        return False
    cur: etree._Element | None = el
    for level in range(12):
        if cur is None:
            return True
        if cur is heading or cur.tag in _CHROME:
            return False
        if level < 6:
            attrs = f"{cur.get('class', '')} {cur.get('id', '')}".lower()
            if len(attrs) > 1 and _NOT_PRODUCT_NOTE.search(attrs):
                return False
            if cur.tag in ("li", "article", "tr") and _offer_row(cur):
                return False
        cur = cur.getparent()
    return True


def _offer_row(row: etree._Element) -> bool:
    """Whether *row* (an ``li``, ``article`` or ``tr``) is one of several rows each linking
    elsewhere or showing a price of its own: a grid's card, a seller's or a variant's offer,
    whose stock is its own (a spec table's "Availability | Sold out" row is not one)."""
    if row.tag == "tr":
        table = _row_list(row)
        many = table is not None and len(table.xpath(".//tr")) >= 2
    else:
        parent = row.getparent()
        many = parent is not None and sum(1 for c in parent if c.tag == row.tag) >= 2
    if not many:
        return False
    return row.find(".//a[@href]") is not None or \
        shows_price(clean_text(" ".join(row.itertext()), 300))


def _row_list(row: etree._Element) -> etree._Element | None:
    """The table of a ``tr`` (whatever tbody it sits in), the list of an ``li``."""
    if row.tag == "tr":
        for up in row.iterancestors("table"):
            return up
    return row.getparent()


_STOCK_CLASS = re.compile(r"(?<![a-z])(?:(in[-_ ]?stock|instock)|(out[-_ ]?of[-_ ]?stock|"
                          r"outofstock|sold[-_]?out|soldout))(?![a-z])")


def _breadcrumbs(out: Visible, elements: list[etree._Element]) -> None:
    for el in elements[:3]:
        names = [clean_text(" ".join(a.itertext()), 100) for a in el.iter("a")]
        names = [n for n in names if n]
        if len(names) >= 1:
            out.breadcrumbs = names[:12]
            return
