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
    bomb = _blank_png(50_000, 50_000)
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:  # a well-formed PNG of that size (chunks and checksums verified, nothing decoded)
        with Image.open(io.BytesIO(bomb)) as img:
            assert img.size == (50_000, 50_000) and img.mode == "1"
            img.verify()
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    with pytest.raises(PhotoRefused, match=r"pixels refused|DecompressionBomb"):
        fingerprint(bomb)


def _blank_png(width: int, height: int) -> bytes:
    """A complete 1-bit PNG of *width* × *height* black pixels, written row by row: the
    same file Pillow writes for ``Image.new("1", size)``, without the 312 MB image Pillow
    holds first (6 CPU s against 1.3 s here)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the row's bits
    deflate = zlib.compressobj(9)
    idat = b"".join([deflate.compress(row) for _ in range(height)] + [deflate.flush()])
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))
