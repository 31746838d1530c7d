"""A listing built from a CSS-profile product page, validated, normalised and classified.

Why here and not in the spider and the pipelines: on a static shop, turning a page's field
values into a stored-ready listing (cleaning every field, parsing the price, classifying the
title against the rules file) is a tenth of the crawl's CPU, all of it on the reactor's
thread.  As one pure function of the page, the profile's recipe and the card the listing was
found on, it is answered like any other question about a page (the ``listing`` op in
:mod:`crawlers.extract.page`).  The pipelines then see a *prepared* item and only count what
it says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import TextResponse

from crawlers.extract.fields import extract_fields, raw_values
from crawlers.identity import names_a_parent, same_site
from crawlers.items import ListingItem
from crawlers.normalise import canonical_url, is_http, join_url, origin_of

CANONICAL = 'link[rel="canonical"]::attr(href)'


@dataclass(frozen=True)
class ListingRecipe:
    """What of a profile building a listing needs (hashable: it is part of an op)."""

    platform: str
    fields: tuple[tuple[str, str], ...]
    id_from_url: str = ""
    seller_id_from_url: str = ""
    rewrite: tuple[tuple[str, ...], ...] = ()
    default_currency: str = "CNY"

    def __hash__(self) -> int:
        # Computed once: the recipe is part of an op, looked up for every product page, and
        # a frozen dataclass hashes all its (nested) fields at every lookup.
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.platform, self.fields, self.id_from_url,
                           self.seller_id_from_url, self.rewrite, self.default_currency))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __getstate__(self) -> dict[str, Any]:
        # String hashes differ between processes: an unpickled copy computes its own.
        return {k: v for k, v in self.__dict__.items() if k != "_hash"}


def recipe_of(profile: Any) -> ListingRecipe:
    extract = profile.extract
    return ListingRecipe(
        platform=profile.code, fields=tuple(extract.fields.items()),
        id_from_url=extract.id_from_url, seller_id_from_url=extract.seller_id_from_url,
        rewrite=tuple(tuple(rule) for rule in profile.links.rewrite),
        default_currency=extract.default_currency)


@lru_cache(maxsize=4096)
def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


@lru_cache(maxsize=65_536)
def _resolve(href: str, base: str, rewrite: tuple[tuple[str, ...], ...]) -> str | None:
    absolute = join_url(base, href)
    if not is_http(absolute):
        return None
    for pattern, repl in rewrite:
        absolute = re.sub(pattern, repl, absolute)
    return canonical_url(absolute)


def resolve_link(href: str, base: str, rewrite: tuple[tuple[str, ...], ...]) -> str | None:
    """*href* made absolute against *base*, rewritten by the profile's rules, canonical;
    None for what is not http(s)."""
    href = href.strip()
    if href.startswith("/") and not href.startswith("//"):
        # Site-absolute links ("/item/1.html"), most of them repeats: resolved once per
        # site rather than once per page that carries them.
        origin = origin_of(base)
        return _resolve(href, origin + "/" if origin else _origin(base), rewrite)
    return _resolve(href, base, rewrite)


def id_from_url(pattern: str, url: str) -> str | None:
    if not pattern:
        return None
    m = re.search(pattern, url)
    return (m.group(1) if m and m.groups() else m.group(0)) if m else None


def seller_id_from_url(pattern: str, url: str) -> str | None:
    """A seller's id from its page's URL: the profile's pattern when it has one, else the
    URL's path (and query) — no guessing from what the path looks like (a ``/shop/<x>/``
    path is as often a category as a storefront)."""
    if pattern:
        m = re.search(pattern, url)
        return (m.group(1) if m.groups() else m.group(0)) if m else None
    parts = urlsplit(canonical_url(url))
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def canonical_of(response: TextResponse, rewrite: tuple[tuple[str, ...], ...],
                 found: list[str] | None = None) -> str:
    """The page's canonical URL (its ``rel=canonical`` link, else its own URL)."""
    if found is None:
        found = raw_values(response, CANONICAL)
    href = found[0] if found else None
    url = resolve_link(href, response.url, rewrite) if href else None
    if url is not None and not same_site(url, response.url):
        url = None  # another site's page is not this shop's name for the listing
    elif url is not None and names_a_parent(url, response.url):
        url = None  # a folder above the page ("./", "/") is no name of the product
    return url or canonical_url(response.url)


def css_listing(response: TextResponse, recipe: ListingRecipe,
                card: dict[str, Any] | None) -> tuple[ListingItem | None, str | None]:
    """(the prepared listing, the seller link as the page wrote it) of a product page;
    (None, None) when the page names no listing id."""
    from crawlers.pipelines import prepare_listing

    fields: dict[str, Any] = dict(card or {})
    for key, value in extract_fields(response, dict(recipe.fields)).items():
        if value not in (None, "", []):
            fields[key] = value
    url = canonical_of(response, recipe.rewrite)
    ext = fields.pop("external_id", None) or id_from_url(recipe.id_from_url, url)
    if not ext:
        return None, None
    seller_url = fields.pop("seller_url", None)
    seller_id = fields.pop("seller_external_id", None)
    if seller_url and not seller_id:
        seller_id = seller_id_from_url(recipe.seller_id_from_url,
                                       join_url(response.url, seller_url))
    item = ListingItem(platform=recipe.platform, external_id=str(ext), url=url,
                       seller_url=seller_url, seller_external_id=seller_id,
                       raw={"fields": fields, "syntax": "css"})
    for key, value in fields.items():
        if hasattr(item, key) and key not in {"raw", "platform", "url", "prepared",
                                              "rejection"}:
            setattr(item, key, value)
    return prepare_listing(item, recipe.default_currency), seller_url
