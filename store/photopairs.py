"""Every pair of stored photos that are copies of each other, found in bulk and kept.

Why not one search per photo: at 10⁶ photos, a search each (store.photoindex) is 10⁶ Python
calls of ~50 ms — some 16 hours.  Here the pass is one self-join on the multi-index
(:func:`store.hashindex.join`): every photo's whole-photo PDQ against every stored PDQ (whole
and crop variants, so a cropped copy is found from either side), candidates laid out and
verified with numpy a batch at a time, then, for pairs beyond the near-duplicate radius, the
pHash second stage (:func:`store.photos.is_copy`) on arrays.  The hashes are read from the
store in batches straight into arrays (no Python object per hash), which bounds memory.

**How exhaustive** depends on the store's size (:func:`flips_for`): the join reads each
query's bucket and its variants with up to *f* flipped bits per 16-bit substring, so every pair
within ``16 · (f + 1) − 1`` bits is found and most farther ones.  A small store gets *f* = 2
(every pair within the 47-bit radius, as the per-photo search found them); the random
collisions a join verifies grow with the square of the store, so a large one gets fewer flips
(10⁶ photos: *f* = 0, every pair within 15 bits; copies farther than that are found when one
of the 16 × 10 × 2 substring pairs of the two photos agrees — bench/bench_images.py measures
recall at each *f* on real copies).

**Giant buckets** (:data:`MAX_BUCKET`): a substring value held by more stored hashes than
that is not read.  On real stores that is one picture copied thousands of times — a brand's
official photo, re-encoded by every reseller — whose pairs cost the square of its count and
say little (sampler.risk.networks leaves common pictures out for the same reason).  Its
copies are still paired through their other, rarer substrings; listings showing the very same
file are linked by the file (sampler.products) without any search.

**Incremental**: photos never change (one row per content), so a pair once found stays one.
Each pass is recorded (:class:`store.models.PhotoPass`: up to which photo, with which
parameters); the next searches only the photos added since — their whole hash against every
stored hash, and every older photo's whole hash against the new photos' hashes, which is every
pair with a new photo in it.  The result equals a full pass with the same parameters (tests),
except that a bucket which turned giant since keeps the pairs found before it did.  When the
parameters change (the store grew past a size where *f* drops) the pass is full again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from store.hashindex import SUBSTRING_BITS, join, substring_counts
from store.models import PhotoPair, PhotoPass, ProductImage, utcnow
from store.photoindex import VARIANTS
from store.photos import (
    CONFIRM_BITS,
    NEAR_DUPLICATE_BITS,
    PDQ_BITS,
    PDQ_MIN_QUALITY,
    PHASH_AGREE_BITS,
)

#: A substring value shared by more stored hashes than this is not read (see above).  Random
#: 16-bit substrings of 10⁷ hashes fill a bucket with ~150; a picture must be copied some
#: 5 000 times, in one substring, to be left out there.
MAX_BUCKET = 5000
#: Candidate pairs a full pass may verify: the most flips whose expected random candidates
#: stay under it are used (10⁶ photos × 10⁷ hashes at 0 flips: ~2.4 × 10⁹, minutes).
CANDIDATE_BUDGET = 3e9
#: Rows read from the store per batch.
READ_BATCH = 50_000
TABLES = PDQ_BITS // SUBSTRING_BITS
#: Flip masks per substring for 0, 1, 2 flips (1, 1 + 16, 1 + 16 + 120).
_MASKS = (1, 17, 137)


def flips_for(photos: int, hashes: int) -> int:
    """The most flips per substring (0-2) whose expected candidates for a full pass of
    *photos* whole-photo hashes against *hashes* stored ones stay within the budget."""
    for f in (2, 1):
        if photos * hashes * TABLES * _MASKS[f] / (1 << SUBSTRING_BITS) <= CANDIDATE_BUDGET:
            return f
    return 0


@dataclass
class PhotoCodes:
    """Every stored photo's hashes as arrays: image ids (ascending), whole-photo PDQ, pHash,
    and every PDQ hash (whole and crop variants) with its photo's position."""

    image_ids: NDArray[np.int64]
    whole: NDArray[np.uint8]
    phash: NDArray[np.uint8]
    has_phash: NDArray[np.bool_]
    #: Per hash: the row (position in ``image_ids``) of its photo.
    hash_rows: NDArray[np.int64]
    hashes: NDArray[np.uint8]

    @classmethod
    def of_store(cls, session: Session, batch: int = READ_BATCH) -> PhotoCodes:
        """Every stored photo of sufficient quality (a flat picture links nothing), read in
        batches."""
        ids: list[NDArray[np.int64]] = []
        per: list[NDArray[np.int64]] = []
        has: list[NDArray[np.bool_]] = []
        whole: list[bytes] = []
        phash: list[bytes] = []
        hashes: list[bytes] = []
        q = (select(ProductImage.id, ProductImage.pdq, ProductImage.pdq_crops, ProductImage.phash)
             .where(ProductImage.pdq_quality >= PDQ_MIN_QUALITY).order_by(ProductImage.id)
             .execution_options(yield_per=batch))
        for part in session.execute(q).partitions():
            ids.append(np.array([r[0] for r in part], dtype=np.int64))
            whole.append(bytes.fromhex("".join(r[1] for r in part)))
            phash.append(bytes.fromhex("".join((r[3] or "0" * 16)[:16] for r in part)))
            has.append(np.array([bool(r[3]) for r in part], dtype=bool))
            per.append(np.array([len([r[1], *(r[2] or [])][:VARIANTS]) for r in part],
                                dtype=np.int64))
            hashes.append(bytes.fromhex("".join(
                h for r in part for h in [r[1], *(r[2] or [])][:VARIANTS])))
        image_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        n = len(image_ids)
        return cls(image_ids=image_ids,
                   whole=np.frombuffer(b"".join(whole), np.uint8).reshape(n, PDQ_BITS // 8),
                   phash=np.frombuffer(b"".join(phash), np.uint8).reshape(n, 8),
                   has_phash=np.concatenate(has) if has else np.zeros(0, dtype=bool),
                   hash_rows=np.repeat(np.arange(n, dtype=np.int64),
                                       np.concatenate(per) if per else np.zeros(0, np.int64)),
                   hashes=np.frombuffer(b"".join(hashes), np.uint8).reshape(-1, PDQ_BITS // 8))

    @classmethod
    def of(cls, photos: list[tuple[int, list[bytes], bytes | None]]) -> PhotoCodes:
        """From (image id, PDQ hashes whole first, pHash or None) — tests, benchmarks."""
        photos = sorted(photos, key=lambda p: p[0])
        n = len(photos)
        return cls(
            image_ids=np.array([p[0] for p in photos], dtype=np.int64),
            whole=np.frombuffer(b"".join(p[1][0] for p in photos), np.uint8).reshape(n, -1),
            phash=np.frombuffer(b"".join(p[2] or bytes(8) for p in photos),
                                np.uint8).reshape(n, 8),
            has_phash=np.array([p[2] is not None for p in photos], dtype=bool),
            hash_rows=np.repeat(np.arange(n, dtype=np.int64),
                                [len(p[1][:VARIANTS]) for p in photos]),
            hashes=np.frombuffer(b"".join(h for p in photos for h in p[1][:VARIANTS]),
                                 np.uint8).reshape(-1, PDQ_BITS // 8))


@dataclass
class Pairs:
    """Photo pairs as arrays: image ids (a < b), PDQ distance, pHash distance (−1: not asked)."""

    a: NDArray[np.int64]
    b: NDArray[np.int64]
    distance: NDArray[np.int64]
    phash_distance: NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.a)

    def as_set(self) -> set[tuple[int, int, int, int]]:
        return set(zip(self.a.tolist(), self.b.tolist(), self.distance.tolist(),
                       self.phash_distance.tolist(), strict=True))


def copy_pairs(codes: PhotoCodes, *, new_from: int | None = None,
               radius: int = NEAR_DUPLICATE_BITS, confirm: int = CONFIRM_BITS,
               flips: int | None = None, max_bucket: int = MAX_BUCKET) -> Pairs:
    """Every pair of photos of *codes* that are copies, or (given *new_from*) every pair with a
    photo whose id is at least *new_from* in it."""
    if flips is None:
        flips = flips_for(len(codes.image_ids), len(codes.hashes))
    reach = max(radius, confirm)
    rows = np.arange(len(codes.image_ids), dtype=np.int64)
    counts = substring_counts(codes.hashes)  # giant buckets are the whole store's
    parts: list[tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]] = []

    def run(q_rows: NDArray[np.int64], s_sel: NDArray[np.int64] | None) -> None:
        s_hashes = codes.hashes if s_sel is None else codes.hashes[s_sel]
        s_rows = codes.hash_rows if s_sel is None else codes.hash_rows[s_sel]
        qi, si, d = join(np.ascontiguousarray(codes.whole[q_rows]), s_hashes, reach,
                         flips=flips, max_bucket=max_bucket, groups=(q_rows, s_rows),
                         counts=counts)
        parts.append((q_rows[qi], s_rows[si], d))

    if new_from is None:
        run(rows, None)
    else:
        new = codes.image_ids >= new_from
        run(rows[new], None)
        run(rows[~new], np.nonzero(new[codes.hash_rows])[0])
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    d = np.concatenate([p[2] for p in parts])
    lo, hi = np.minimum(x, y), np.maximum(x, y)
    # The smallest distance of each pair, whichever side found it.
    order = np.lexsort((d, hi, lo))
    lo, hi, d = lo[order], hi[order], d[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    lo, hi, d = lo[first], hi[first], d[first]
    pd = np.bitwise_count(codes.phash[lo].view(np.uint64) ^ codes.phash[hi].view(np.uint64)
                          ).sum(axis=1, dtype=np.int64)
    both = codes.has_phash[lo] & codes.has_phash[hi]
    far = d > radius
    keep = ~far | (both & (pd <= PHASH_AGREE_BITS))  # store.photos.is_copy, on arrays
    pd = np.where(far, pd, -1)
    return Pairs(codes.image_ids[lo[keep]], codes.image_ids[hi[keep]], d[keep], pd[keep])


def pass_params(codes: PhotoCodes) -> dict[str, Any]:
    """What a pass's result depends on besides the photos (a pass with other parameters is
    not continued incrementally)."""
    return {"flips": flips_for(len(codes.image_ids), len(codes.hashes)),
            "max_bucket": MAX_BUCKET, "radius": NEAR_DUPLICATE_BITS, "confirm": CONFIRM_BITS,
            "variants": VARIANTS, "min_quality": PDQ_MIN_QUALITY}


@dataclass
class PassResult:
    """What a pass did."""

    mode: str
    searched: int
    found: int
    pairs: int
    flips: int

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "searched": self.searched, "found": self.found,
                "pairs": self.pairs, "flips": self.flips}


def update_photo_pairs(session: Session, *, full: bool = False,
                       codes: PhotoCodes | None = None) -> PassResult:
    """Search the photos added since the last pass (every photo when *full*, when there was
    none, or when the parameters changed) and keep the pairs found."""
    codes = codes if codes is not None else PhotoCodes.of_store(session)
    params = pass_params(codes)
    last = session.scalars(select(PhotoPass).order_by(PhotoPass.id.desc()).limit(1)).first()
    upto = int(codes.image_ids.max()) if len(codes.image_ids) else 0
    incremental = not full and last is not None and last.params == params
    if incremental:
        assert last is not None
        new_from = last.upto_image_id + 1
        searched = int((codes.image_ids >= new_from).sum())
        pairs = copy_pairs(codes, new_from=new_from, flips=params["flips"]) if searched \
            else Pairs(*(np.zeros(0, dtype=np.int64),) * 4)
    else:
        session.execute(delete(PhotoPair))
        searched = len(codes.image_ids)
        pairs = copy_pairs(codes, flips=params["flips"])
    rows = [{"image_id": a, "other_image_id": b, "distance": d,
             "phash_distance": None if p < 0 else p}
            for a, b, d, p in zip(pairs.a.tolist(), pairs.b.tolist(), pairs.distance.tolist(),
                                  pairs.phash_distance.tolist(), strict=True)]
    for start in range(0, len(rows), READ_BATCH):
        session.execute(insert(PhotoPair), rows[start:start + READ_BATCH])
    total = session.scalar(select(func.count()).select_from(PhotoPair)) or 0
    mode = "incremental" if incremental else "full"
    session.add(PhotoPass(upto_image_id=max(upto, last.upto_image_id if incremental and last
                                            else 0),
                          mode=mode, params=params, searched=searched, pairs=int(total),
                          built_at=utcnow()))
    session.flush()
    return PassResult(mode, searched, len(pairs), int(total), params["flips"])


def stored_pairs(session: Session) -> Pairs:
    """The pairs kept by the passes so far."""
    rows = session.execute(select(PhotoPair.image_id, PhotoPair.other_image_id,
                                  PhotoPair.distance, PhotoPair.phash_distance)).all()
    arr = np.array([(a, b, d, -1 if p is None else p) for a, b, d, p in rows],
                   dtype=np.int64).reshape(-1, 4)
    return Pairs(arr[:, 0].copy(), arr[:, 1].copy(), arr[:, 2].copy(), arr[:, 3].copy())
