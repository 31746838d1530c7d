"""Linking imported rows (complaints) to the listings and sellers they are about.

By listing URL first (as pasted, or without query and fragment); else by seller (external id or
exact name, within the platform when one is given); and a complaint that names only a product
("Tongle blocks", "充电宝") is linked to a listing when one listing's title — among the
seller's, else the platform's, else all — matches the text clearly: fuzzy score ≥ 0.85 and at
least 0.05 ahead of any other listing.  An ambiguous text links to no listing (it still counts
for the seller): a complaint pinned on the wrong listing would raise the wrong listing's risk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sampler.risk.normalise import fold, has_cjk
from store.filings import url_variants
from store.models import Listing, ListingStatus, Platform, Seller
from store.search import listing_text_condition

#: A product text links to a listing at this fuzzy score or above ...
PRODUCT_LINK_THRESHOLD = 0.85
#: ... when no other listing comes within this margin of it.
PRODUCT_LINK_MARGIN = 0.05
#: Listings read per searched word (blocking keeps linking linear, not listings × complaints).
PRODUCT_CANDIDATES = 5000


@dataclass(frozen=True)
class Link:
    """What an imported row was linked to, and how (``url``, ``seller``, ``product``)."""

    listing_id: int | None
    seller_id: int | None
    platform_id: int | None
    via: str | None = None
    score: float | None = None


def product_score(product: str, title: str) -> float:
    """How well a complaint's product text describes a listing title, in [0, 1]: every word of
    the text in the title scores 1 (token set); Chinese text, written without spaces, is
    compared by its best-matching stretch of the title."""
    a, b = fold(product), fold(title)
    if not a or not b:
        return 0.0
    score = fuzz.token_set_ratio(a, b)
    if has_cjk(a):
        score = max(score, fuzz.partial_ratio(a, b))
    return float(score) / 100


class Linker:
    """Resolves (listing URL, platform, seller) to row ids, caching what it looked up."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._platforms: dict[str, int | None] = {}

    def platform_id(self, platform: str | None) -> int | None:
        if not platform:
            return None
        key = platform.strip().lower()
        if key not in self._platforms:
            self._platforms[key] = self.session.scalar(select(Platform.id).where(or_(
                func.lower(Platform.code) == key, func.lower(Platform.name) == key)))
        return self._platforms[key]

    def link(self, url: str | None, platform: str | None, seller: str | None,
             product: str | None = None) -> Link:
        """The listing, seller and platform a row is about; any may be None."""
        platform_id = self.platform_id(platform)
        if url:
            row = self.session.execute(
                select(Listing.id, Listing.seller_id, Listing.platform_id)
                .where(Listing.url.in_(url_variants(url))).limit(1)).first()
            if row is not None:
                return Link(row[0], row[1], row[2], "url")
        seller_id: int | None = None
        if seller:
            name = seller.strip()
            query = select(Seller.id, Seller.platform_id).where(
                or_(Seller.external_id == name, Seller.name == name))
            if platform_id is not None:
                query = query.where(Seller.platform_id == platform_id)
            rows = self.session.execute(query.limit(2)).all()
            if len(rows) == 1:
                seller_id, platform_id = rows[0][0], rows[0][1]
        if product and product.strip():
            found = self.by_product(product, platform_id, seller_id)
            if found is not None:
                listing_id, listing_seller, listing_platform, score = found
                return Link(listing_id, seller_id or listing_seller, listing_platform,
                            "product", round(score, 3))
        if seller_id is not None:
            return Link(None, seller_id, platform_id, "seller")
        return Link(None, None, platform_id)

    def by_product(self, product: str, platform_id: int | None, seller_id: int | None
                   ) -> tuple[int, int | None, int, float] | None:
        """The one listing whose title clearly matches *product*, within the seller's (else
        the platform's, else all) active listings; None when none or several do."""
        words = sorted({w for w in re.findall(r"\w{3,}", fold(product))}, key=len,
                       reverse=True)[:3]
        if not words:
            return None
        query = select(Listing.id, Listing.seller_id, Listing.platform_id, Listing.title).where(
            Listing.status != ListingStatus.REMOVED,
            or_(*(listing_text_condition(self.session, w) for w in words)))
        if seller_id is not None:
            query = query.where(Listing.seller_id == seller_id)
        elif platform_id is not None:
            query = query.where(Listing.platform_id == platform_id)
        scored = sorted(((product_score(product, title or ""), lid, sid, pid)
                         for lid, sid, pid, title in
                         self.session.execute(query.limit(PRODUCT_CANDIDATES * len(words)))),
                        reverse=True)
        if not scored or scored[0][0] < PRODUCT_LINK_THRESHOLD:
            return None
        if len(scored) > 1 and scored[1][0] > scored[0][0] - PRODUCT_LINK_MARGIN:
            return None
        score, lid, sid, pid = scored[0]
        return lid, sid, pid, score
