"""Building items from what a page or an API record shows, as the profile says.

Functions of the page (or record) and the profile only: no requests, no counts, no store.
The spider decides which builder a page gets (:mod:`crawlers.spiders.platform`) and follows
the links a builder's item names; what one builder makes of a page can be tested from a saved
page alone.  (A CSS profile's product page is built by
:func:`crawlers.extract.listing.css_listing`.)
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from scrapy.http import TextResponse

from crawlers.extract.contacts import facts_from_text
from crawlers.extract.generic import GenericPage
from crawlers.extract.item import generic_fields
from crawlers.extract.jsonpath import map_fields
from crawlers.extract.listing import (
    ListingRecipe,
    canonical_of,
    id_from_url,
    resolve_link,
    seller_id_from_url,
)
from crawlers.extract.page import CANONICAL, Page
from crawlers.identity import url_external_id
from crawlers.items import ListingItem, SellerItem
from crawlers.normalise import canonical_url
from crawlers.profile import Profile

#: Where a seller page's contact facts are looked for (query, characters), and its name
#: when the profile gives no rule.
SELLER_TEXT = ("body ::text", 100_000)
SELLER_NAME = "h1::text"
CONTACTS = ("phone", "email", "wechat", "address")


def page_canonical(recipe: ListingRecipe, page: Page) -> str:
    """The page's canonical URL (its same-site canonical link, else its own URL)."""
    return canonical_of(page.response, recipe.rewrite, page.raw_values(CANONICAL))


def structured_listing(profile: Profile, recipe: ListingRecipe, response: TextResponse,
                       page: Page, found: GenericPage) -> ListingItem:
    """The listing a product page known by its content shows (``structured-data`` and
    ``shop`` profiles): the generic extractor's fields with their sources, the external id
    from the profile's URL or data pattern when it has one, else the page's URL identity
    (:func:`crawlers.identity.url_external_id`); the profile's CSS field rules fill what the
    page's markup and visible text left empty."""
    extract = profile.extract
    fields = generic_fields(found)
    url = canonical_of(response, recipe.rewrite, [found.canonical] if found.canonical else [])
    ext = id_from_url(extract.id_from_url, url) if extract.id_from_url else None
    ext = ext or (fields.get("external_id") if extract.id_from_data else None)
    ext = ext or url_external_id(url)
    seller_url = fields.get("seller_url")
    if not seller_url:
        # Microdata rarely carries the seller's URL: the profile's seller link, else a
        # link the page itself marks as its seller's (found.seller_link).
        for rule in profile.links.seller:
            seller_url = page.select(rule)
            if seller_url:
                break
        seller_url = seller_url or found.seller_link
    seller_id = fields.get("seller_external_id")
    if not seller_id and seller_url:
        seller_id = seller_id_from_url(extract.seller_id_from_url,
                                       urljoin(response.url, seller_url))
    item = ListingItem(
        platform=profile.code, external_id=str(ext), url=url,
        title=fields.get("title") or "", brand=fields.get("brand"),
        model=fields.get("model"), price_text=fields.get("price_text"),
        currency_hint=fields.get("currency_hint"), seller_external_id=seller_id,
        seller_name=fields.get("seller_name"), seller_url=seller_url,
        category=fields.get("category"), origin=fields.get("origin"),
        image_urls=fields.get("image_urls") or [], raw=fields["raw"])
    item.availability = fields.get("availability")
    item.gtin = fields.get("gtin")
    extra = page.fields(extract.fields) if extract.fields else {}
    for key, value in extra.items():
        if value not in (None, "", []) and hasattr(item, key) and \
                getattr(item, key) in (None, "", []):
            setattr(item, key, value)
            item.raw.setdefault("sources", {})[key] = "profile:css"
    return item


def page_seller(profile: Profile, recipe: ListingRecipe, page: Page) -> SellerItem | None:
    """The seller a seller page shows: the profile's seller rules, else the facts found in
    its text (filing and licence numbers, contacts); None when it has no seller id."""
    rules = profile.extract.seller_fields
    fields = page.fields(rules) if rules else {}
    facts = facts_from_text(page.text(*SELLER_TEXT))
    url = page_canonical(recipe, page)
    ext = fields.get("external_id") or seller_id_from_url(profile.extract.seller_id_from_url,
                                                          url)
    if not ext:
        return None
    contacts = {k: str(fields.get(k) or facts.get(k) or "") for k in CONTACTS}
    return SellerItem(
        platform=profile.code, external_id=str(ext),
        name=str(fields.get("name") or page.first(SELLER_NAME) or ""), url=url,
        filing_number=_str(fields.get("filing_number") if rules else
                           facts.get("filing_number")),
        licence_number=_str(fields.get("licence_number") if rules else
                            facts.get("licence_number")),
        contacts={k: v for k, v in contacts.items() if v})


def api_listing(profile: Profile, recipe: ListingRecipe, record: dict[str, Any], url: str
                ) -> ListingItem:
    """The listing an API record describes (the profile's API field mapping); fields the
    mapping names beyond the usual ones are set when the item has them."""
    api = profile.extract.api
    assert api is not None
    f = map_fields(record, api.fields)
    page_url = f.pop("url", None)
    listing_url = (resolve_link(str(page_url), url, recipe.rewrite) if page_url
                   else canonical_url(url))
    images = f.pop("image_urls", None) or []
    item = ListingItem(
        platform=profile.code, external_id=str(f.pop("external_id", "") or ""),
        url=listing_url or url, title=str(f.pop("title", "") or ""),
        price_text=f.pop("price_text", None), currency_hint=_str(f.pop("currency_hint", None)),
        seller_external_id=_str(f.pop("seller_external_id", None)),
        seller_name=_str(f.pop("seller_name", None)),
        image_urls=[str(i) for i in (images if isinstance(images, list) else [images])],
        cert_marks=[str(c) for c in (f.pop("cert_marks", None) or [])],
        raw=record)
    for key, value in f.items():
        if hasattr(item, key) and value not in (None, ""):
            setattr(item, key, str(value))
    return item


def api_seller(profile: Profile, data: dict[str, Any]) -> SellerItem | None:
    """The seller an API seller record describes; None when it has no id."""
    api = profile.extract.api
    assert api is not None
    f = map_fields(data, api.seller_fields)
    ext = _str(f.get("external_id"))
    if not ext:
        return None
    return SellerItem(platform=profile.code, external_id=ext,
                      name=str(f.get("name") or ""), url=_str(f.get("url")),
                      filing_number=_str(f.get("filing_number")),
                      licence_number=_str(f.get("licence_number")),
                      contacts={k: str(f[k]) for k in CONTACTS if f.get(k)})


def _str(value: Any) -> str | None:
    if value in (None, ""):
        return None
    return str(value)
