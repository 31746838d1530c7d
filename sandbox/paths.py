"""Canonical URL paths per platform style (used by the styles, the truth and the checkout)."""

from __future__ import annotations

from sandbox.catalog import ListingBase


def listing_path(b: ListingBase) -> str:
    """The canonical path of a listing (what rel=canonical and the truth's `url` say)."""
    if b.platform == "mall":
        return f"/item/{b.external_id}.html"
    if b.platform == "spa":
        return f"/item/{b.external_id}"
    return f"/products/{b.slug}-{b.external_id}"


def seller_path(platform: str, seller_id: str) -> str:
    return f"/sellers/{seller_id}" if platform == "shop" else f"/store/{seller_id}"


def category_path(platform: str, slug: str) -> str:
    return f"/collections/{slug}" if platform == "shop" else f"/c/{slug}"
