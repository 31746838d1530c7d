"""The near-duplicate index finds exactly what brute force finds, on random codes with
planted neighbours at every distance up to and past the radius, with both engines."""

from __future__ import annotations

import numpy as np
import pytest

from store.hashindex import HammingIndex, brute_force


def _data(bits: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random codes, plus for each of 20 queries neighbours at distances 0..bits/3."""
    rng = np.random.default_rng(seed)
    nbytes = bits // 8
    codes = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
    queries = rng.integers(0, 256, size=(20, nbytes), dtype=np.uint8)
    planted = []
    for q in queries:
        for d in range(0, bits // 3, 3):
            bitsflip = rng.choice(bits, size=d, replace=False)
            c = np.unpackbits(q.copy())
            c[bitsflip] ^= 1
            planted.append(np.packbits(c))
    codes = np.concatenate([codes, np.array(planted, dtype=np.uint8)])
    ids = rng.permutation(len(codes)).astype(np.int64) * 7 + 3  # ids are the caller's
    return codes, ids, queries


@pytest.mark.parametrize("engine", ["numpy", "faiss"])
@pytest.mark.parametrize("bits, radius", [(256, 47), (256, 31), (256, 60), (64, 11), (64, 6)])
def test_index_equals_brute_force(engine: str, bits: int, radius: int) -> None:
    codes, ids, queries = _data(bits, 20_000, seed=bits + radius)
    index = HammingIndex(bits, engine=engine)
    index.add(ids[:5000], codes[:5000])
    index.add(ids[5000:], codes[5000:])  # added in two parts: one index
    assert len(index) == len(codes)
    total = 0
    for q in queries:
        got = index.search(q, radius)
        want = brute_force(codes, ids, q, radius)
        assert got == want
        total += len(want)
    assert total >= 20 * (radius // 3)  # the planted neighbours were there to find


def test_engines_agree_on_real_sized_codes_and_empty_index() -> None:
    assert HammingIndex(256, engine="numpy").search(bytes(32), 40) == []
    with pytest.raises(ValueError):
        HammingIndex(60)
    codes, ids, queries = _data(256, 3000, seed=5)
    a, b = HammingIndex(256, engine="numpy"), HammingIndex(256, engine="faiss")
    a.add(ids, codes)
    b.add(ids, codes)
    for q in queries:
        assert a.search(q.tobytes(), 47) == b.search(q.tobytes(), 47)


def test_photo_index_finds_copies_either_way_round() -> None:
    """A cropped copy finds its original and the original finds the cropped copy (variants on
    both sides); another photo is found by neither."""
    from pathlib import Path

    from PIL import Image

    from sandbox.photo_copies import cropped, jpeg, watermarked
    from store.photoindex import PhotoIndex
    from store.photos import all_pdq, fingerprint

    photos = sorted((Path(__file__).parent.parent / "photos").glob("*.jpg"))
    index = PhotoIndex()
    originals = {}
    for i, path in enumerate(photos):
        originals[i] = fingerprint(path.read_bytes())
    copies = {}
    for i, path in enumerate(photos):
        with Image.open(path) as img:
            copies[100 + i] = fingerprint(jpeg(watermarked(cropped(img.convert("RGB"), i), i)))
    index.add((k, all_pdq(v)) for k, v in {**originals, **copies}.items())
    for i in originals:
        assert [c.image_id for c in index.copies_of(i)] == [100 + i]
        assert [c.image_id for c in index.copies_of(100 + i)] == [i]
    assert index.copies(all_pdq(originals[0]), exclude=0) == index.copies_of(0)
    # The whole-store pass (one search per photo) finds the same pairs.
    assert set(index.pairs()) == {(i, 100 + i) for i in originals}


def test_a_probe_smaller_than_the_radius_is_exact_up_to_the_probe() -> None:
    """The first stage of the two-stage photo search: probed for 47 bits, kept up to 71 —
    exact within 47, never a code beyond 71, and most planted codes between the two found."""
    codes, ids, queries = _data(256, 20_000, seed=71)
    rng = np.random.default_rng(72)
    far = []
    for q in queries:  # planted between the probe and the radius
        for d in range(50, 72, 4):
            c = np.unpackbits(q.copy())
            c[rng.choice(256, size=d, replace=False)] ^= 1
            far.append(np.packbits(c))
    codes = np.concatenate([codes, np.array(far, dtype=np.uint8)])
    ids = np.concatenate([ids, np.arange(10**6, 10**6 + len(far), dtype=np.int64)])
    index = HammingIndex(256)
    index.add(ids, codes)
    band_found = band_all = 0
    for q in queries:
        got = index.search(q, 71, probe=47)
        assert [h for h in got if h.distance <= 47] == brute_force(codes, ids, q, 47)
        assert all(h.distance <= 71 for h in got)
        band = {h.id for h in brute_force(codes, ids, q, 71) if h.distance > 47}
        band_all += len(band)
        band_found += len(band & {h.id for h in got})
    assert band_all >= 20 * 6 and band_found >= 0.9 * band_all


def test_the_second_stage_keeps_a_far_candidate_only_when_phash_agrees() -> None:
    """A photo 60 PDQ bits from another is a copy when their pHash agrees (and only then);
    one 40 bits away is a copy on PDQ alone; one 90 bits away never is."""
    from store.photoindex import PhotoIndex
    from store.photos import CONFIRM_BITS, NEAR_DUPLICATE_BITS, PHASH_AGREE_BITS, is_copy

    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, size=32, dtype=np.uint8)

    def flipped(code: np.ndarray, d: int, bits: int = 256) -> bytes:
        c = np.unpackbits(code.copy())
        c[rng.choice(bits, size=d, replace=False)] ^= 1
        return np.packbits(c).tobytes()

    ph = rng.integers(0, 256, size=8, dtype=np.uint8)
    index = PhotoIndex()
    index.add([(1, [base.tobytes()]), (2, [flipped(base, 40)]), (3, [flipped(base, 60)]),
               (4, [flipped(base, 60)]), (5, [flipped(base, 90)]), (6, [flipped(base, 60)])],
              phashes={1: ph.tobytes(), 2: flipped(ph, 30, 64), 3: flipped(ph, 10, 64),
                       4: flipped(ph, 30, 64), 5: ph.tobytes()})  # 6 has no pHash
    found = {c.image_id: c for c in index.copies_of(1)}
    assert set(found) == {2, 3}
    assert found[2].distance == 40 and not found[2].confirmed_by_phash
    assert found[3].distance == 60 and found[3].phash_distance == 10
    # Without the query's pHash the search is the first stage alone.
    assert [c.image_id for c in index.copies([base.tobytes()], exclude=1)] == [2]
    assert is_copy(NEAR_DUPLICATE_BITS, None) and not is_copy(NEAR_DUPLICATE_BITS + 1, None)
    assert is_copy(CONFIRM_BITS, PHASH_AGREE_BITS)
    assert not is_copy(CONFIRM_BITS + 1, 0) and not is_copy(CONFIRM_BITS, PHASH_AGREE_BITS + 1)
