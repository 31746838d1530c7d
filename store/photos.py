"""Product photos: bounded decoding and perceptual hashes (PDQ and pHash), one rule for all.

Why here: listing photos (downloaded by the crawl), notice pictures (Safety Gate, CPSC) and
the near-duplicate search compare the same fingerprints, so they must be computed one way.
Two hashes are kept of every photo:

* **PDQ** (256 bits, Meta's photo hash, as Bellingcat's auto-archiver uses it) with its
  quality (0-100: a flat or tiny image hashes poorly and must not link products);
* **pHash** (64 bits, DCT of a 32×32 grey image, ``imagehash``): cheaper to index, a second
  opinion.

A photo is hostile input: its declared size is checked before its pixels are decoded (a
"decompression bomb" of 50 000 × 50 000 pixels is refused, not allocated), its bytes are
bounded by the caller, and anything Pillow cannot read is :class:`PhotoRefused`.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image

from store.errors import InvalidInput

#: Refused above this many pixels (before decoding): a product photo is a few megapixels.
MAX_PIXELS = 40_000_000
#: Photos are scaled to fit this side before hashing: PDQ and pHash look at 64×64 and 32×32
#: pictures anyway, and scaling first makes a 24-megapixel photo cost what a small one does
#: (bench/bench_images.py: 256 hashes 4× faster than 512 with recall as good or better).
HASH_SIDE = 256
#: The formats a product photo comes in (anything else is refused).
FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"})
PDQ_BITS = 256
PHASH_BITS = 64
#: PDQ's own advice: quality under 50 is "too uniform to match on".
PDQ_MIN_QUALITY = 50
#: Near duplicates: PDQ hashes at most this many bits apart (of 256).  Measured on real
#: photos (bench/bench_images.py): resized, recompressed, 5%-cropped (against the crop
#: variants) and watermarked copies stay under it, different photos are 95+ bits apart.  It is
#: also the radius the multi-index (store.hashindex, 16 tables, 2 flips) finds exactly.
NEAR_DUPLICATE_BITS = 47
#: The second stage, for a copy farther than :data:`NEAR_DUPLICATE_BITS`: the multi-index's
#: candidates (probed for :data:`NEAR_DUPLICATE_BITS`, so the search costs no more) up to this
#: many PDQ bits are copies when their pHash agrees too (:func:`is_copy`).  Measured on real
#: photos (bench/bench_images.py, two sets): the copies a one-stage search missed lie 48-74
#: bits away, different photos 78+ bits away on both sets.
CONFIRM_BITS = 71
#: pHash bits (of 64) within which the second stage believes a PDQ candidate: the copies it
#: recovers are 6-24 bits away; pHash alone is no proof (different photos come as close as
#: 14), which is why it only confirms what PDQ found, never finds on its own.
PHASH_AGREE_BITS = 20
#: A copy cut by a few per cent at its edges moves the picture against the hash grid: each
#: photo is also hashed cropped by this share of its width and height, anchored at the
#: corners, edge middles and centre (3 × 3), so a copy cropped anywhere up to it lies close
#: to one of them.
CROP_SHARE = 0.05
CROP_ANCHORS = (0.0, 0.5, 1.0)


class PhotoRefused(InvalidInput):
    """Bytes that are not a product photo we will decode (not an image, too many pixels)."""


@dataclass(frozen=True)
class PhotoPrint:
    """What is kept of a photo besides its file: its size and its perceptual hashes."""

    width: int
    height: int
    format: str
    #: 32 bytes (256 bits) of PDQ, as hex in the store.
    pdq: bytes
    pdq_quality: int
    #: 8 bytes (64 bits) of pHash.
    phash: bytes
    #: PDQ of the 3 × 3 crop variants (:data:`CROP_SHARE`), 32 bytes each.
    pdq_crops: tuple[bytes, ...] = ()

    @property
    def pdq_hex(self) -> str:
        return self.pdq.hex()

    @property
    def phash_hex(self) -> str:
        return self.phash.hex()


def open_photo(data: bytes) -> tuple[Image.Image, str, tuple[int, int]]:
    """The decoded photo of *data* as RGB, scaled to fit :data:`HASH_SIDE`, with its format
    and its size as stored.

    Raises :class:`PhotoRefused` for what is not an image of an allowed format or is too
    large to decode safely."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            fmt, size = opened.format or "", opened.size
            if fmt not in FORMATS:
                raise PhotoRefused("photos.photo_format", fmt_or_unknown=fmt or 'unknown')
            width, height = size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise PhotoRefused("photos.photo_pixels_refused", width=width, height=height)
            opened.draft("RGB", (HASH_SIDE, HASH_SIDE))  # JPEG: decode at a smaller scale
            img = opened.convert("RGB")
    except PhotoRefused:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        raise PhotoRefused("photos.readable_image", error_type=type(exc).__name__) from exc
    if max(img.size) > HASH_SIDE:
        img.thumbnail((HASH_SIDE, HASH_SIDE), Image.Resampling.BILINEAR)
    return img, fmt, size


def fingerprint(data: bytes) -> PhotoPrint:
    """Size and perceptual hashes of the photo in *data* (raises :class:`PhotoRefused`)."""
    img, fmt, (width, height) = open_photo(data)
    return print_of(img, fmt, width, height)


def print_of(img: Image.Image, fmt: str = "", width: int = 0, height: int = 0) -> PhotoPrint:
    """The hashes of a decoded photo (the benchmark hashes pictures it made itself)."""
    if max(img.size) > HASH_SIDE:
        img = img.copy()
        img.thumbnail((HASH_SIDE, HASH_SIDE), Image.Resampling.BILINEAR)
    pdq, quality = pdq_hash(img)
    return PhotoPrint(width=width or img.width, height=height or img.height, format=fmt,
                      pdq=pdq, pdq_quality=quality, phash=phash(img),
                      pdq_crops=tuple(pdq_hash(c)[0] for c in crops(img)))


def crops(img: Image.Image) -> list[Image.Image]:
    """The 3 × 3 crop variants of *img* (:data:`CROP_SHARE` cut, anchored on a grid)."""
    w, h = img.size
    dx, dy = int(w * CROP_SHARE), int(h * CROP_SHARE)
    out = []
    for fy in CROP_ANCHORS:
        for fx in CROP_ANCHORS:
            left, top = int(dx * fx), int(dy * fy)
            out.append(img.crop((left, top, w - (dx - left), h - (dy - top))))
    return out


def all_pdq(print_: PhotoPrint) -> list[bytes]:
    """Every PDQ hash of a photo: the whole picture first, then its crop variants."""
    return [print_.pdq, *print_.pdq_crops]


def pdq_hash(img: Image.Image) -> tuple[bytes, int]:
    """PDQ hash (32 bytes) and quality of an RGB image."""
    import pdqhash  # a compiled extension: loaded where photos are hashed, not on import

    bits, quality = pdqhash.compute(np.asarray(img.convert("RGB")))
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes(), int(quality)


def phash(img: Image.Image) -> bytes:
    """pHash (8 bytes) of an image."""
    import imagehash

    bits = imagehash.phash(img, hash_size=8).hash.flatten()
    return np.packbits(bits.astype(np.uint8)).tobytes()


def is_copy(pdq_distance: int, phash_distance: int | None,
            radius: int = NEAR_DUPLICATE_BITS) -> bool:
    """Whether two photos are copies of one: PDQ (smallest over crop variants) within
    *radius*, or within :data:`CONFIRM_BITS` with pHash agreeing (the second stage)."""
    if pdq_distance <= radius:
        return True
    return (pdq_distance <= CONFIRM_BITS and phash_distance is not None
            and phash_distance <= PHASH_AGREE_BITS)


def hamming(a: bytes, b: bytes) -> int:
    """Bits in which two hashes of one kind differ."""
    if len(a) != len(b):
        raise ValueError("hashes of different lengths")
    return int.from_bytes(a, "big").__xor__(int.from_bytes(b, "big")).bit_count()


def from_hex(text: str, bits: int) -> bytes:
    """A stored hash (hex) as bytes, checked to be *bits* long."""
    raw = bytes.fromhex(text)
    if len(raw) * 8 != bits:
        raise ValueError(f"a {bits}-bit hash has {bits // 4} hex digits, not {len(text)}")
    return raw
