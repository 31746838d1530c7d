"""What spiders yield: a listing as seen on a page, a seller as seen on its page.

Plain dataclasses (Scrapy handles them through itemadapter), so the pipelines and the store
writer can be used and tested without a crawl.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class ListingItem:
    """One listing as a page shows it; pipelines fill the normalised fields."""

    platform: str
    external_id: str
    url: str
    title: str = ""
    brand: str | None = None
    model: str | None = None
    #: The price as written ("¥1,299.00"), or a number from structured data.
    price_text: Any = None
    #: An ISO currency code the page states besides the price (priceCurrency), if any.
    currency_hint: str | None = None
    seller_external_id: str | None = None
    seller_name: str | None = None
    seller_url: str | None = None
    category: str | None = None
    origin: str | None = None
    cert_marks: list[str] = field(default_factory=list)
    image_urls: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    #: in_stock | out_of_stock | pre_order | discontinued (store.vocabulary.Availability), or
    #: None when the page does not say; a change is a listing change (a new snapshot).
    availability: str | None = None
    #: The GTIN (EAN/UPC barcode) as the page writes it; the pipelines keep it only in its
    #: 14-digit normal form with a valid check digit (store.gtin), else None.
    gtin: str | None = None
    #: The listing's photos as fetched by crawlers.photos (store.images.Photo.as_dict each,
    #: in the page's order); None: not fetched (photos off, or the same URLs as stored).
    photos: list[dict[str, Any]] | None = None
    # -- filled by the pipelines ----------------------------------------------------------
    price: Decimal | None = None
    currency: str | None = None
    sector: str = "other"
    supervision_class: str = "general"
    class_reasons: list[Any] = field(default_factory=list)
    #: Validated, normalised and classified already (by crawlers.extract.listing's
    #: css_listing): the pipelines only act on ``rejection``.
    prepared: bool = False
    #: (reason, detail) of the pipeline stage that rejected a prepared item.
    rejection: tuple[str, str] | None = None


@dataclass
class SellerItem:
    """A seller (storefront) as its page shows it: filing/licence numbers and contacts."""

    platform: str
    external_id: str
    name: str = ""
    url: str | None = None
    filing_number: str | None = None
    licence_number: str | None = None
    contacts: dict[str, str] = field(default_factory=dict)


@dataclass
class RemovalCheck:
    """The outcome of re-fetching a listing that a full crawl did not see."""

    platform: str
    external_id: str
    #: "removed" (404/410 or a removed page) or "error" (could not tell: stays possibly removed).
    outcome: str
    detail: str = ""
