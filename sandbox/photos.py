"""Product photos of the synthetic marketplace, with planted copies across platforms.

Every listing shows a product photo (its first image, ``/img/<id>/1.jpg``): a picture drawn
deterministically from the catalogue seed and the product.  Copies are planted the way real
sellers copy: for every "hero" listing the next four listings — on each other platform and one
more seller on its own (listing ``i`` is on platform ``i % 3``) — sell the same product under
other titles, brands and models, and show the hero's photo watermarked, cut at the edges,
resized or recompressed.  Nothing but the photo links them, which is what the demo's product
clusters must find.  Heroes are every listing ``i % COPY_EVERY == HERO`` and every product a
foreign notice names (a recalled product is what copy-sellers copy, and what a failed lab
result and a notice picture should lead back from).  A foreign notice naming a listing shows
that listing's product photo, unaltered (``/img/p/<index>.jpg``).

Photos are :data:`SIDE` pixels square: small, as listing-grid photos are, so a crawl that
downloads and hashes every listing's photo (SPOTCHECK_CRAWL_PHOTOS) stays cheap — hashing a
160-pixel photo costs about a quarter of a 320-pixel one, with copies found as well.
"""

from __future__ import annotations

import io
import random
from functools import lru_cache

from PIL import Image, ImageDraw

from sandbox.photo_copies import cropped, jpeg, recompressed, resized, watermarked

#: Listing i is a hero when i % COPY_EVERY == HERO (or a notice names it); the next
#: len(COPY_KINDS) listings copy it.
COPY_EVERY = 97
HERO = 5
COPY_KINDS = (("watermarked", watermarked), ("cropped", cropped), ("resized", resized),
              ("recompressed", recompressed))
SIDE = 160


@lru_cache(maxsize=8)
def planted(seed: int, n: int) -> dict[int, tuple[int, str]]:
    """Every planted copy of a catalogue of *n* listings: listing -> (its hero, how copied).

    A hero is never itself a copy, and a listing copies one hero at most (the first)."""
    from sandbox.catalog import get_catalog

    heroes = set(range(HERO, n, COPY_EVERY)) | set(get_catalog(seed, n).recalled_map())
    out: dict[int, tuple[int, str]] = {}
    for h in sorted(heroes):
        for k, (kind, _) in enumerate(COPY_KINDS, start=1):
            j = h + k
            if j < n and j not in heroes and j not in out:
                out[j] = (h, kind)
    return out


def photo_source(seed: int, n: int, i: int) -> tuple[int, str | None]:
    """(the listing whose product photo listing *i* shows, how it was copied or None)."""
    return planted(seed, n).get(i, (i, None))


def copies_of(seed: int, n: int, i: int) -> list[int]:
    """The listings that show copies of listing *i*'s photo."""
    return sorted(j for j, (h, _) in planted(seed, n).items() if h == i)


def product_photo(seed: int, product: int) -> Image.Image:
    """The product photo of listing *product*: shapes, colours and a label from the seed."""
    rng = random.Random(f"{seed}:photo:{product}")
    img = Image.new("RGB", (SIDE, SIDE), tuple(rng.randrange(150, 256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(4, 8)):
        x0, y0 = rng.randrange(0, SIDE - 40), rng.randrange(0, SIDE - 40)
        x1, y1 = x0 + rng.randrange(30, SIDE // 2), y0 + rng.randrange(30, SIDE // 2)
        colour = tuple(rng.randrange(0, 230) for _ in range(3))
        shape = rng.choice(("ellipse", "rectangle", "polygon"))
        if shape == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif shape == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.polygon([(rng.randrange(SIDE), rng.randrange(SIDE)) for _ in range(4)],
                         fill=colour)
    draw.text((12, SIDE - 28), f"SBX {product:06d}", fill=(20, 20, 20))
    return img


@lru_cache(maxsize=2048)
def listing_photo(seed: int, n: int, i: int) -> bytes:
    """The JPEG listing *i* (of *n*) shows as its first image."""
    product, kind = photo_source(seed, n, i)
    img = product_photo(seed, product)
    if kind is not None:
        img = dict(COPY_KINDS)[kind](img, seed * 1000 + i)
    return jpeg(img, 88)


@lru_cache(maxsize=256)
def notice_photo(seed: int, n: int, index: int) -> bytes:
    """The picture a notice naming listing *index* publishes: the product photo itself."""
    product, _ = photo_source(seed, n, index)
    out = io.BytesIO()
    product_photo(seed, product).save(out, "JPEG", quality=92)
    return out.getvalue()
