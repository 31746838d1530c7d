"""Item pipelines: validate → normalise → classify (→ store: :mod:`crawlers.storage`).

Each stage has one job.  A rejected item is dropped with a reason that is counted on the
crawl run (``errors["rejected:<reason>"]``), so an operator can see *why* a platform yields
fewer listings than expected instead of guessing.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawlers.classify import default_classifier
from crawlers.identity import bounded_id
from crawlers.items import ListingItem, SellerItem
from crawlers.normalise import (
    MAX_IMAGES,
    MAX_SHORT,
    MAX_TITLE,
    MAX_URL,
    bounded_raw,
    canonical_url,
    clean_text,
    is_http,
    join_url,
    parse_price,
)
from store.gtin import normalise_gtin
from store.vocabulary import Availability

MAX_PRICE = Decimal("1e11")
#: What pages write where a listing has no certification mark.
NO_MARKS = frozenset({"无", "—", "-", "None", "none", "N/A", "n/a"})


class Rejected(DropItem):
    """An item not worth storing; ``reason`` is a short stable key for the counts."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class _Stage:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler)

    @property
    def spider(self) -> Any:
        return self.crawler.spider


class ValidatePipeline(_Stage):
    """Reject items that cannot be stored meaningfully; count each with its reason."""

    def process_item(self, item: Any) -> Any:
        try:
            if isinstance(item, ListingItem):
                if item.prepared:
                    if item.rejection is not None:
                        raise Rejected(*item.rejection)
                else:
                    validate_listing(item)
            elif isinstance(item, SellerItem):
                self._seller(item)
        except Rejected as exc:
            self.spider.session.reject(exc.reason)
            raise
        return item

    def _seller(self, item: SellerItem) -> None:
        if not clean_text(item.external_id, 300):
            raise Rejected("bad_seller_id", "")


class NormalisePipeline(_Stage):
    """Bound and clean every field; parse the price; make URLs absolute and canonical."""

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ListingItem):
            self._listing(item)
        elif isinstance(item, SellerItem):
            item.external_id = bounded_id(clean_text(item.external_id, 10_000))
            item.name = clean_text(item.name, 500)
            item.url = canonical_url(item.url) if item.url else None
            item.filing_number = clean_text(item.filing_number, 64) or None
            item.licence_number = clean_text(item.licence_number, 64) or None
            item.contacts = {clean_text(k, 32): clean_text(v, 300)
                             for k, v in list(item.contacts.items())[:20] if clean_text(v)}
        return item

    def _listing(self, item: ListingItem) -> None:
        if item.prepared:
            return
        try:
            normalise_listing(item, self.spider.profile.extract.default_currency)
        except Rejected as exc:
            self.spider.session.reject(exc.reason)
            raise


class ClassifyPipeline(_Stage):
    """Sector and supervision class from the rules file, with reasons."""

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ListingItem) and not item.prepared:
            classify_listing(item)
        return item


# -- the stages as functions of one listing (crawlers.extract.listing runs them elsewhere) --

def validate_listing(item: ListingItem) -> None:
    """Raise :class:`Rejected` for a listing that cannot be stored meaningfully."""
    # Any id a page gives is kept (crawlers.identity): queries, percent-escapes and
    # non-ASCII included; only an empty one is no id.
    ext = clean_text(item.external_id, 300)
    if not ext:
        raise Rejected("no_external_id", item.url)
    if not is_http(item.url):
        raise Rejected("bad_url", item.url[:80])
    if not clean_text(item.title, MAX_TITLE):
        raise Rejected("no_title", ext[:80])


def normalise_listing(item: ListingItem, default_currency: str) -> None:
    """Bound and clean every field, parse the price, make URLs absolute and canonical;
    :class:`Rejected` for an impossible price."""
    item.external_id = bounded_id(clean_text(item.external_id, 10_000))
    item.url = canonical_url(item.url)
    item.title = clean_text(item.title, MAX_TITLE)
    item.brand = clean_text(item.brand) or None
    item.model = clean_text(item.model) or None
    item.category = clean_text(item.category) or None
    item.origin = clean_text(item.origin, 100) or None
    item.seller_external_id = clean_text(item.seller_external_id) or None
    item.seller_name = clean_text(item.seller_name, 500) or None
    if item.seller_url:
        item.seller_url = canonical_url(join_url(item.url, item.seller_url))
    marks = {clean_text(part, 32) for c in item.cert_marks[:50]
             for part in re.split(r"[,，、;/|]", str(c))}
    item.cert_marks = sorted(m for m in marks if m and m not in NO_MARKS)
    images = []
    for url in item.image_urls[:MAX_IMAGES]:
        absolute = join_url(item.url, clean_text(url, MAX_URL))
        if is_http(absolute):
            images.append(absolute)
    item.image_urls = images
    amount, currency = parse_price(item.price_text, item.currency_hint, default_currency)
    if amount is not None and (amount < 0 or amount > MAX_PRICE):
        raise Rejected("bad_price", str(item.price_text)[:40])
    item.price, item.currency = amount, currency
    item.raw = bounded_raw(item.raw)
    item.price_text = clean_text(item.price_text, 100) if item.price_text is not None \
        else None
    item.currency_hint = clean_text(item.currency_hint, 8) or None
    item.availability = normal_availability(item.availability)
    item.gtin = normalise_gtin(item.gtin)
    if item.brand and len(item.brand) >= MAX_SHORT:
        item.brand = item.brand[:MAX_SHORT]


#: Availability values a listing may carry.
AVAILABILITIES = frozenset(a.value for a in Availability)


def normal_availability(value: Any) -> str | None:
    """*value* when it is one of :data:`AVAILABILITIES` (any case), else None."""
    if value is None:
        return None
    text = clean_text(value, 32).lower().replace("-", "_").replace(" ", "_")
    return text if text in AVAILABILITIES else None


def classify_listing(item: ListingItem) -> None:
    result = default_classifier().classify(item.title, item.category or "")
    item.sector = result.sector.value
    item.supervision_class = result.supervision_class.value
    item.class_reasons = result.reasons


def prepare_listing(item: ListingItem, default_currency: str) -> ListingItem:
    """Validate, normalise and classify *item* as the pipelines would, and mark it prepared;
    a rejection is recorded on the item, for the pipelines to count."""
    try:
        validate_listing(item)
        normalise_listing(item, default_currency)
        classify_listing(item)
    except Rejected as exc:
        item.rejection = (exc.reason, exc.detail)
    item.prepared = True
    return item
