"""Near-identical product photos among those stored: every photo's PDQ hashes (whole and
crop variants) in one multi-index (store.hashindex), searched from a photo or a new print.

Why the variants on both sides: a copy cut at its edges is near one of the original's crop
variants, and an original is near one of a cut copy's... only when the copy's variants are
searched too; taking the smallest distance over (query variant × stored variant) pairs makes
the relation symmetric, so a notice picture finds a listing photo whichever one was cropped.

Why two stages: the PDQ index finds exactly what lies within the near-duplicate radius, and
a few real copies lie a little beyond it (a crop that moves the picture against the hash
grid, a watermark over a flat sky).  The same probe of the index also returns most codes up to
:data:`store.photos.CONFIRM_BITS` at no extra cost; those are kept only when the photos' pHash
agrees (:func:`store.photos.is_copy`), so a second, independent hash must vouch for every
copy the first one alone would not have accepted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.hashindex import HammingIndex
from store.models import ProductImage
from store.photos import (
    CONFIRM_BITS,
    NEAR_DUPLICATE_BITS,
    PDQ_BITS,
    PDQ_MIN_QUALITY,
    PhotoPrint,
    all_pdq,
    hamming,
    is_copy,
)

#: Index ids are ``image id × VARIANTS + variant`` (0: whole photo, 1-9: crop variants).
VARIANTS = 16


@dataclass(frozen=True)
class Copy:
    """A stored photo near a query, at its smallest PDQ distance."""

    image_id: int
    distance: int
    #: pHash distance when the second stage was asked (PDQ beyond the radius), else None.
    phash_distance: int | None = None

    @property
    def confirmed_by_phash(self) -> bool:
        """Found beyond the PDQ radius and kept because pHash agreed."""
        return self.phash_distance is not None


def hashes_of(pdq: str, crops: Iterable[str]) -> list[bytes]:
    """A stored photo's PDQ hashes (hex), whole photo first."""
    return [bytes.fromhex(pdq), *(bytes.fromhex(c) for c in crops)][:VARIANTS]


class PhotoIndex:
    """The near-duplicate index of a set of product images."""

    def __init__(self, engine: str = "numpy") -> None:
        self.index = HammingIndex(PDQ_BITS, engine=engine)
        self.hashes: dict[int, list[bytes]] = {}
        self.phashes: dict[int, bytes] = {}

    @classmethod
    def of_store(cls, session: Session, engine: str = "numpy") -> PhotoIndex:
        """Every stored photo of sufficient quality (a flat picture links nothing)."""
        out = cls(engine)
        rows = session.execute(select(ProductImage.id, ProductImage.pdq, ProductImage.pdq_crops,
                                      ProductImage.phash)
                               .where(ProductImage.pdq_quality >= PDQ_MIN_QUALITY)).all()
        out.add(((i, hashes_of(p, c or [])) for i, p, c, _ in rows),
                phashes={i: bytes.fromhex(ph) for i, _, _, ph in rows if ph})
        return out

    def add(self, photos: Iterable[tuple[int, list[bytes]]],
            phashes: Mapping[int, bytes] | None = None) -> None:
        """Photos as (image id, PDQ hashes, whole photo first), with their pHash when known
        (a photo without one is found by the first stage only)."""
        ids: list[int] = []
        codes: list[bytes] = []
        for image_id, hashes in photos:
            self.hashes[image_id] = hashes
            for v, h in enumerate(hashes[:VARIANTS]):
                ids.append(image_id * VARIANTS + v)
                codes.append(h)
        self.phashes.update(phashes or {})
        if ids:
            self.index.add(np.array(ids, dtype=np.int64), codes)

    def add_prints(self, prints: Iterable[tuple[int, PhotoPrint]]) -> None:
        """Photos as (image id, print) — what a fresh hash gives (tests, the benchmark)."""
        items = list(prints)
        self.add(((i, all_pdq(p)) for i, p in items), phashes={i: p.phash for i, p in items})

    def copies(self, hashes: list[bytes], radius: int = NEAR_DUPLICATE_BITS,
               exclude: int | None = None, phash: bytes | None = None,
               confirm: int = CONFIRM_BITS) -> list[Copy]:
        """Stored photos that are copies of a photo with these PDQ *hashes*, nearest first:
        within *radius*, or (given its *phash*) within *confirm* bits with pHash agreeing."""
        reach = max(radius, confirm) if phash is not None else radius
        best: dict[int, int] = {}
        for h in hashes[:VARIANTS]:
            for hit in self.index.search(h, reach, probe=radius):
                image_id = hit.id // VARIANTS
                if image_id != exclude and hit.distance < best.get(image_id, reach + 1):
                    best[image_id] = hit.distance
        out = []
        for image_id, d in best.items():
            if d <= radius:
                out.append(Copy(image_id, d))
                continue
            theirs = self.phashes.get(image_id)
            pd = hamming(phash, theirs) if phash is not None and theirs is not None else None
            if is_copy(d, pd, radius):
                out.append(Copy(image_id, d, pd))
        return sorted(out, key=lambda c: (c.distance, c.image_id))

    def pairs(self, radius: int = NEAR_DUPLICATE_BITS, confirm: int = CONFIRM_BITS
              ) -> dict[tuple[int, int], Copy]:
        """Every pair of stored photos that are copies of each other, as (smaller id, larger
        id) -> the copy (the larger id's photo, its distance).

        One search per photo, not one per hash: each photo's whole-photo hash against every
        stored hash (whole and crop variants), a pair found from whichever side finds it.  A
        cropped copy's whole photo is near one of the original's crop variants, so the pairs
        are those of :meth:`copies_of` but for a few at the edge (bench/bench_images.py's
        photos: recall within 0.006 of the 10 × 10 search), at a tenth of the cost — what
        rebuilding every photo link of a large store needs (bench/bench_products.py)."""
        reach = max(radius, confirm)
        best: dict[tuple[int, int], int] = {}
        for image_id, hashes in self.hashes.items():
            if not hashes:
                continue
            for hit in self.index.search(hashes[0], reach, probe=radius):
                other = hit.id // VARIANTS
                if other == image_id:
                    continue
                key = (min(image_id, other), max(image_id, other))
                if hit.distance < best.get(key, reach + 1):
                    best[key] = hit.distance
        out: dict[tuple[int, int], Copy] = {}
        for (a, b), d in best.items():
            if d <= radius:
                out[(a, b)] = Copy(b, d)
                continue
            pa, pb = self.phashes.get(a), self.phashes.get(b)
            pd = hamming(pa, pb) if pa is not None and pb is not None else None
            if is_copy(d, pd, radius):
                out[(a, b)] = Copy(b, d, pd)
        return out

    def copies_of(self, image_id: int, radius: int = NEAR_DUPLICATE_BITS) -> list[Copy]:
        """Stored photos near the stored photo *image_id* (itself left out)."""
        hashes = self.hashes.get(image_id)
        return [] if hashes is None else self.copies(hashes, radius, exclude=image_id,
                                                     phash=self.phashes.get(image_id))
