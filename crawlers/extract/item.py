"""A generic page's product as listing fields, with where each came from.

Why a module: the spider builds a ``ListingItem`` from these, and the listing keeps
``raw["sources"]`` (field → ``jsonld`` / ``microdata`` / ``og`` / ``rdfa`` / ``dom:h1`` /
``dom:price`` / ``dom:spec-table`` / ``url`` …) and ``raw["fields"]`` (what the listing row
has no column for: list price, GTIN, MPN, availability, breadcrumbs), so an inspector reading
a listing sees why each value was taken (console listing detail, ``listings --json``).
"""

from __future__ import annotations

from typing import Any

from crawlers.extract.generic import GenericPage
from crawlers.extract.money import format_amount

#: Listing-item field ← the generic field it is read from.
ITEM_FIELDS = {"title": "title", "brand": "brand", "model": "sku", "seller_name": "seller_name",
               "seller_url": "seller_url", "seller_external_id": "seller_external_id",
               "category": "category", "origin": "origin",
               "external_id": "external_id", "availability": "availability",
               "gtin": "gtin"}
#: Generic fields kept in ``raw["fields"]`` (the listing has no column for them).
EXTRA_FIELDS = ("price", "list_price", "currency", "sku", "mpn", "gtin", "availability",
                "product_id", "breadcrumbs")


def generic_fields(page: GenericPage) -> dict[str, Any]:
    """Keyword values for a ``ListingItem`` (plus ``raw``) from a product page."""
    fields = page.fields
    out: dict[str, Any] = {key: fields.get(src) for key, src in ITEM_FIELDS.items()}
    out["model"] = fields.get("sku") or fields.get("mpn")
    out["price_text"] = fields.get("price")  # a Decimal: the pipeline takes it as it is
    out["currency_hint"] = fields.get("currency")
    out["image_urls"] = list(fields.get("image_urls") or [])
    sources = dict(page.sources)
    if fields.get("sku") is None and fields.get("mpn") is not None:
        sources["model"] = sources.get("mpn", "")
    elif "sku" in sources:
        sources["model"] = sources["sku"]
    extra = {}
    for key in EXTRA_FIELDS:
        value = fields.get(key)
        if value is not None:
            extra[key] = format_amount(value) if key in ("price", "list_price") else value
    out["raw"] = {"syntax": "+".join(page.syntaxes) or "dom", "sources": sources,
                  "fields": extra, "kind": {"kind": page.kind, "reasons": page.reasons},
                  "product": page.product}
    if page.product_truncated:
        out["raw"]["truncated"] = True
    return out
