"""Storing product photos: the file once (artifacts), its hashes once (``product_image``), and
which listing or notice shows it where (``listing_image`` / ``notice_image``).

Why one module: the crawl (listing photos) and the notice import (notice pictures) store
photos the same way, and both must be safe when two writers store the same bytes at once (an
insert that loses the race finds the winner's row).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.artifacts import ArtifactStore
from store.models import ListingImage, NoticeImage, ProductImage
from store.photos import PhotoPrint, PhotoRefused, fingerprint

#: At most this many photos are kept of one listing or notice.
MAX_PHOTOS = 6
#: At most this many bytes are fetched for one photo, and for all photos of one listing.
MAX_PHOTO_BYTES = 4 << 20
MAX_LISTING_PHOTO_BYTES = 12 << 20


@dataclass(frozen=True)
class Photo:
    """A photo as fetched: where from, and what it is (or why not)."""

    url: str
    sha256: str | None = None
    size: int = 0
    print: PhotoPrint | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A plain form (crosses processes with the crawl's items)."""
        p = self.print
        return {"url": self.url, "sha256": self.sha256, "size": self.size, "error": self.error,
                "print": None if p is None else {
                    "width": p.width, "height": p.height, "format": p.format,
                    "pdq": p.pdq_hex, "pdq_quality": p.pdq_quality, "phash": p.phash_hex,
                    "pdq_crops": [c.hex() for c in p.pdq_crops]}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Photo:
        p = data.get("print")
        return cls(url=data["url"], sha256=data.get("sha256"), size=int(data.get("size") or 0),
                   error=data.get("error"), print=None if p is None else PhotoPrint(
                       width=p["width"], height=p["height"], format=p["format"],
                       pdq=bytes.fromhex(p["pdq"]), pdq_quality=p["pdq_quality"],
                       phash=bytes.fromhex(p["phash"]),
                       pdq_crops=tuple(bytes.fromhex(c) for c in p.get("pdq_crops") or [])))


def keep_photo(artifacts: ArtifactStore, url: str, data: bytes) -> Photo:
    """Hash *data* and keep its file; a refused photo is a :class:`Photo` with its error."""
    if len(data) > MAX_PHOTO_BYTES:
        return Photo(url=url, error=f"too large: {len(data)} bytes")
    try:
        printed = fingerprint(data)
    except PhotoRefused as exc:
        return Photo(url=url, error=str(exc)[:200])
    stored = artifacts.put(data)
    return Photo(url=url, sha256=stored.sha256, size=stored.size, print=printed)


def ensure_images(session: Session, photos: list[Photo]) -> dict[str, int]:
    """``product_image`` ids by SHA-256 for the fetched *photos* (rows inserted when new)."""
    fresh = {p.sha256: p for p in photos if p.sha256 and p.print is not None}
    if not fresh:
        return {}
    wanted = sorted(fresh)
    ids = dict(session.execute(select(ProductImage.sha256, ProductImage.id)
                               .where(ProductImage.sha256.in_(wanted))).all())
    missing = [fresh[s] for s in wanted if s not in ids]
    if missing:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
            else sqlite.insert
        rows = []
        for p in missing:
            pr = p.print
            assert pr is not None and p.sha256 is not None
            rows.append({"sha256": p.sha256, "size": p.size, "width": pr.width,
                         "height": pr.height, "format": pr.format[:8], "pdq": pr.pdq_hex,
                         "pdq_quality": pr.pdq_quality, "phash": pr.phash_hex,
                         "pdq_crops": [c.hex() for c in pr.pdq_crops]})
        table: Any = ProductImage.__table__
        session.execute(insert(table).on_conflict_do_nothing(
            index_elements=["sha256"]), rows)
        ids.update(session.execute(select(ProductImage.sha256, ProductImage.id).where(
            ProductImage.sha256.in_([p.sha256 for p in missing]))).all())
    return ids


def set_listing_photos(session: Session, listing_id: int, photos: list[Photo]) -> None:
    """Make *photos* (in order) the listing's photos, replacing what it showed before."""
    _set(session, ListingImage, "listing_id", listing_id, photos)


def set_notice_photos(session: Session, notice_id: int, photos: list[Photo]) -> None:
    """Make *photos* (in order) the notice's pictures."""
    _set(session, NoticeImage, "notice_id", notice_id, photos)


def _set(session: Session, model: Any, owner: str, owner_id: int, photos: list[Photo]) -> None:
    ids = ensure_images(session, photos)
    session.execute(delete(model).where(getattr(model, owner) == owner_id))
    for position, p in enumerate(photos[:MAX_PHOTOS]):
        session.add(model(**{owner: owner_id}, position=position, url=p.url[:2000],
                          image_id=ids.get(p.sha256 or ""),
                          error=None if p.sha256 and p.print else (p.error or "not fetched")[:200]))
    session.flush()


def listing_photo_urls(session: Session, listing_id: int) -> list[str]:
    """The URLs of the photos stored for a listing, in order (empty: none yet)."""
    return list(session.scalars(select(ListingImage.url).where(
        ListingImage.listing_id == listing_id).order_by(ListingImage.position)))
