"""The bulk photo pass: the self-join finds exactly what comparing every pair finds under its
rule (near-threshold pairs included), at two flips it finds what the per-photo search found,
and an incremental pass after new photos equals a full pass."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import insert, select

from store.db import Database
from store.hashindex import join, join_brute_force
from store.models import PhotoPass, ProductImage
from store.photoindex import PhotoIndex
from store.photopairs import PhotoCodes, copy_pairs, stored_pairs, update_photo_pairs

#: Distances planted around every edge that matters: exact reach of 0, 1 and 2 flips
#: (15, 31, 47 bits) and the second stage's 71.
EDGES = (0, 1, 14, 15, 16, 17, 30, 31, 32, 33, 46, 47, 48, 49, 70, 71, 72, 73)


def _flip(code: np.ndarray, d: int, rng: np.random.Generator) -> np.ndarray:
    bits = np.unpackbits(code.copy())
    bits[rng.choice(len(bits), size=d, replace=False)] ^= 1
    return np.packbits(bits)


def _codes(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random stored codes with neighbours of 40 queries at every edge distance, and a giant
    bucket (60 codes sharing their first substring)."""
    rng = np.random.default_rng(seed)
    stored = [rng.integers(0, 256, size=(3000, 32), dtype=np.uint8)]
    queries = rng.integers(0, 256, size=(40, 32), dtype=np.uint8)
    stored.append(np.array([_flip(q, d, rng) for q in queries for d in EDGES], dtype=np.uint8))
    giant = rng.integers(0, 256, size=(60, 32), dtype=np.uint8)
    giant[:, :2] = queries[0, :2]
    stored.append(giant)
    return queries, np.concatenate(stored)


@pytest.mark.parametrize("flips", [0, 1, 2])
@pytest.mark.parametrize("max_bucket", [None, 30])
def test_join_equals_brute_force(flips: int, max_bucket: int | None) -> None:
    queries, stored = _codes(seed=flips)
    got = join(queries, stored, 71, flips=flips, max_bucket=max_bucket, batch=5000)
    want = join_brute_force(queries, stored, 71, flips=flips, max_bucket=max_bucket)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)
    # The pigeonhole guarantee: every pair within 16 · (flips + 1) − 1 bits is there.
    exact = 16 * (flips + 1) - 1
    d_all = np.bitwise_count(queries[:, None, :] ^ stored[None, :, :]).sum(axis=2)
    qi, si = np.nonzero(d_all <= exact)
    if max_bucket is None:
        found = set(zip(got[0].tolist(), got[1].tolist(), strict=True))
        assert set(zip(qi.tolist(), si.tolist(), strict=True)) <= found
    assert len(qi) >= 40 * sum(1 for d in EDGES if d <= exact)
    # Pairs inside one group are left out, and only those.
    groups = (np.arange(len(queries)), np.arange(len(stored)) % 7)
    qg, sg, _ = join(queries, stored, 71, flips=flips, max_bucket=max_bucket, groups=groups)
    outside = groups[0][got[0]] != groups[1][got[1]]
    np.testing.assert_array_equal(qg, got[0][outside])
    np.testing.assert_array_equal(sg, got[1][outside])
    assert not outside.all()


def _photos(seed: int, n: int, first_id: int = 1, originals: list[tuple[np.ndarray, bytes]]
            | None = None) -> list[tuple[int, list[bytes], bytes | None]]:
    """Photos with 9 crop variants ~20 bits off their whole hash; a third are copies (of an
    earlier photo here or of *originals*) at distances around 47 and 71, some without pHash."""
    rng = np.random.default_rng(seed)
    pool = list(originals or [])
    out = []
    for k in range(n):
        if pool and k % 3 == 0:
            base, ph = pool[int(rng.integers(0, len(pool)))]
            whole = _flip(base, int(rng.choice(EDGES)), rng)
            phash = _flip(np.frombuffer(ph, np.uint8), int(rng.choice([5, 20, 21, 40])), rng)
        else:
            whole = rng.integers(0, 256, size=32, dtype=np.uint8)
            phash = rng.integers(0, 256, size=8, dtype=np.uint8)
        crops = [_flip(whole, 20, rng).tobytes() for _ in range(9)]
        pool.append((whole, phash.tobytes()))
        out.append((first_id + k, [whole.tobytes(), *crops],
                    None if k % 7 == 6 else phash.tobytes()))
    return out


def test_bulk_pass_at_two_flips_finds_what_the_per_photo_search_found() -> None:
    photos = _photos(seed=4, n=600)
    index = PhotoIndex()
    index.add([(i, h) for i, h, _ in photos], phashes={i: p for i, _, p in photos if p})
    old = {(a, b, c.distance, -1 if c.phash_distance is None else c.phash_distance)
           for (a, b), c in index.pairs().items()}
    new = copy_pairs(PhotoCodes.of(photos), flips=2, max_bucket=10**9).as_set()
    assert new == old
    assert len(old) >= 100 and any(p >= 0 for *_, p in old)  # both stages were exercised


def _store(db: Database, photos: list[tuple[int, list[bytes], bytes | None]]) -> None:
    with db.engine.begin() as conn:
        conn.execute(insert(ProductImage), [
            {"id": i, "sha256": f"{i:064x}", "size": 1, "width": 1, "height": 1,
             "format": "JPEG", "pdq": h[0].hex(), "pdq_quality": 100,
             "pdq_crops": [c.hex() for c in h[1:]], "phash": p.hex() if p else ""}
            for i, h, p in photos])


@pytest.mark.parametrize("flips", [0, 2])
def test_an_incremental_pass_equals_a_full_pass(sqlite_db: Database, flips: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import store.photopairs as pp

    monkeypatch.setattr(pp, "flips_for", lambda photos, hashes: flips)
    first = _photos(seed=7, n=400)
    _store(sqlite_db, first)
    with sqlite_db.session() as s:
        assert update_photo_pairs(s).mode == "full"
        before = stored_pairs(s).as_set()
    later = _photos(seed=8, n=200, first_id=1000,
                    originals=[(np.frombuffer(h[0], np.uint8), p or bytes(8))
                               for _, h, p in first])
    _store(sqlite_db, later)
    with sqlite_db.session() as s:
        result = update_photo_pairs(s)
        assert (result.mode, result.searched) == ("incremental", 200)
        incremental = stored_pairs(s).as_set()
        again = update_photo_pairs(s)  # nothing new: nothing searched, nothing lost
        assert (again.mode, again.searched) == ("incremental", 0)
        assert stored_pairs(s).as_set() == incremental
    with sqlite_db.session() as s:
        assert update_photo_pairs(s, full=True).mode == "full"
        full = stored_pairs(s).as_set()
        passes = [(p.mode, p.upto_image_id) for p in s.scalars(select(PhotoPass)
                                                              .order_by(PhotoPass.id))]
    assert incremental == full
    assert before < full and any(b >= 1000 > a for a, b, *_ in full - before)
    assert passes == [("full", 400), ("incremental", 1199), ("incremental", 1199),
                      ("full", 1199)]
