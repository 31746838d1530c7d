"""Photo hashes are robust to how sellers copy a photo (one test per transformation, on real
photos, tests/photos/PROVENANCE.md) and tell different photos apart; hostile bytes are refused,
never decoded at any size."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest
from PIL import Image

from sandbox.photo_copies import TRANSFORMS, jpeg
from store.photos import (
    NEAR_DUPLICATE_BITS,
    PhotoPrint,
    PhotoRefused,
    all_pdq,
    fingerprint,
    hamming,
)

PHOTOS = sorted((Path(__file__).parent.parent / "photos").glob("*.jpg"))


def _distance(copy: PhotoPrint, original: PhotoPrint) -> int:
    """The near-duplicate distance: the copy's whole-photo PDQ against every PDQ of the
    original (whole and crop variants), and the other way round."""
    return min(min(hamming(copy.pdq, h) for h in all_pdq(original)),
               min(hamming(original.pdq, h) for h in all_pdq(copy)))


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_a_copy_stays_near_its_original(name: str) -> None:
    for seed, path in enumerate(PHOTOS):
        data = path.read_bytes()
        original = fingerprint(data)
        with Image.open(io.BytesIO(data)) as img:
            copy = fingerprint(jpeg(TRANSFORMS[name](img.convert("RGB"), seed)))
        assert _distance(copy, original) <= NEAR_DUPLICATE_BITS, (name, path.name)
        assert hamming(copy.phash, original.phash) <= 24, (name, path.name)


def test_different_photos_are_far_apart() -> None:
    prints = [fingerprint(p.read_bytes()) for p in PHOTOS]
    for a, b in itertools.combinations(prints, 2):
        assert _distance(a, b) > 2 * NEAR_DUPLICATE_BITS


def test_print_is_deterministic_and_sized() -> None:
    data = PHOTOS[0].read_bytes()
    a, b = fingerprint(data), fingerprint(data)
    assert a == b and len(a.pdq) == 32 and len(a.phash) == 8 and len(a.pdq_crops) == 9
    with Image.open(io.BytesIO(data)) as img:
        assert (a.width, a.height, a.format) == (img.width, img.height, "JPEG")


def test_hostile_bytes_are_refused() -> None:
    with pytest.raises(PhotoRefused):
        fingerprint(b"<html>not a photo</html>")
    with pytest.raises(PhotoRefused):
        fingerprint(PHOTOS[0].read_bytes()[:200])  # truncated
    # A PNG declaring 50 000 × 50 000 pixels: refused from its header, never allocated.
    bomb = io.BytesIO()
    Image.new("1", (50_000, 50_000)).save(bomb, "PNG")
    with pytest.raises(PhotoRefused, match=r"pixels refused|DecompressionBomb"):
        fingerprint(bomb.getvalue())
