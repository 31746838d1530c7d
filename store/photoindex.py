"""Near-identical product photos among those stored: every photo's PDQ hashes (whole and
crop variants) in one multi-index (store.hashindex), searched from a photo or a new print.

Why the variants on both sides: a copy cut at its edges is near one of the original's crop
variants, and an original is near one of a cut copy's... only when the copy's variants are
searched too; taking the smallest distance over (query variant × stored variant) pairs makes
the relation symmetric, so a notice picture finds a listing photo whichever one was cropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.hashindex import HammingIndex
from store.models import ProductImage
from store.photos import NEAR_DUPLICATE_BITS, PDQ_BITS, PDQ_MIN_QUALITY

#: Index ids are ``image id × VARIANTS + variant`` (0: whole photo, 1-9: crop variants).
VARIANTS = 16


@dataclass(frozen=True)
class Copy:
    """A stored photo near a query, at its smallest PDQ distance."""

    image_id: int
    distance: int


def hashes_of(pdq: str, crops: Iterable[str]) -> list[bytes]:
    """A stored photo's PDQ hashes (hex), whole photo first."""
    return [bytes.fromhex(pdq), *(bytes.fromhex(c) for c in crops)][:VARIANTS]


class PhotoIndex:
    """The near-duplicate index of a set of product images."""

    def __init__(self, engine: str = "numpy") -> None:
        self.index = HammingIndex(PDQ_BITS, engine=engine)
        self.hashes: dict[int, list[bytes]] = {}

    @classmethod
    def of_store(cls, session: Session, engine: str = "numpy") -> PhotoIndex:
        """Every stored photo of sufficient quality (a flat picture links nothing)."""
        out = cls(engine)
        rows = session.execute(select(ProductImage.id, ProductImage.pdq, ProductImage.pdq_crops)
                               .where(ProductImage.pdq_quality >= PDQ_MIN_QUALITY)).all()
        out.add((i, hashes_of(p, c or [])) for i, p, c in rows)
        return out

    def add(self, photos: Iterable[tuple[int, list[bytes]]]) -> None:
        ids: list[int] = []
        codes: list[bytes] = []
        for image_id, hashes in photos:
            self.hashes[image_id] = hashes
            for v, h in enumerate(hashes[:VARIANTS]):
                ids.append(image_id * VARIANTS + v)
                codes.append(h)
        if ids:
            self.index.add(np.array(ids, dtype=np.int64), codes)

    def copies(self, hashes: list[bytes], radius: int = NEAR_DUPLICATE_BITS,
               exclude: int | None = None) -> list[Copy]:
        """Stored photos within *radius* of a photo with these PDQ *hashes*, nearest first."""
        best: dict[int, int] = {}
        for h in hashes[:VARIANTS]:
            for hit in self.index.search(h, radius):
                image_id = hit.id // VARIANTS
                if image_id != exclude and hit.distance < best.get(image_id, radius + 1):
                    best[image_id] = hit.distance
        return sorted((Copy(i, d) for i, d in best.items()),
                      key=lambda c: (c.distance, c.image_id))

    def copies_of(self, image_id: int, radius: int = NEAR_DUPLICATE_BITS) -> list[Copy]:
        """Stored photos near the stored photo *image_id* (itself left out)."""
        hashes = self.hashes.get(image_id)
        return [] if hashes is None else self.copies(hashes, radius, exclude=image_id)
