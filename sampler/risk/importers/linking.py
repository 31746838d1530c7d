"""Linking imported rows (complaints) to the listings and sellers they are about."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from store.models import Listing, Platform, Seller


def url_variants(url: str) -> list[str]:
    """The URL as given and without query/fragment/trailing slash (how people paste links)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    bare = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    return list(dict.fromkeys([url, bare, bare + "/"]))


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

    def link(self, url: str | None, platform: str | None, seller: str | None
             ) -> tuple[int | None, int | None, int | None]:
        """(listing id, seller id, platform id); any may be None when nothing matches."""
        platform_id = self.platform_id(platform)
        if url:
            row = self.session.execute(
                select(Listing.id, Listing.seller_id, Listing.platform_id)
                .where(Listing.url.in_(url_variants(url))).limit(1)).first()
            if row is not None:
                return row[0], row[1], row[2]
        if seller:
            name = seller.strip()
            query = select(Seller.id, Seller.platform_id).where(
                or_(Seller.external_id == name, Seller.name == name))
            if platform_id is not None:
                query = query.where(Seller.platform_id == platform_id)
            rows = self.session.execute(query.limit(2)).all()
            if len(rows) == 1:
                return None, rows[0][0], rows[0][1]
        return None, None, platform_id
