"""Product photos of the synthetic marketplace, with planted copies across platforms.

Every listing shows a product photo (its first image, ``/img/<id>/1.jpg``): a picture drawn
deterministically from the catalogue seed and the product.  Copies are planted the way real
sellers copy: for every "hero" listing (``i % COPY_EVERY == HERO``), the next three listings —
one on each other platform and one more seller on its own (listing ``i`` is on platform
``i % 3``) — sell the same product under other titles, brands and models, and show the hero's
photo resized, cut at the edges, watermarked or recompressed.  Nothing but the photo links
them, which is what the demo's product clusters must find.  A foreign notice naming a listing
shows that listing's product photo, unaltered (``/img/p/<index>.jpg``).
"""

from __future__ import annotations

import io
import random
from functools import lru_cache

from PIL import Image, ImageDraw

from sandbox.photo_copies import cropped, jpeg, recompressed, resized, watermarked

#: Listing i is a hero when i % COPY_EVERY == HERO; i + 1 .. i + len(COPY_KINDS) copy it.
COPY_EVERY = 97
HERO = 5
COPY_KINDS = (("watermarked", watermarked), ("cropped", cropped), ("resized", resized),
              ("recompressed", recompressed))
SIDE = 320


def photo_source(i: int) -> tuple[int, str | None]:
    """(the listing whose product photo listing *i* shows, how it was copied or None)."""
    k = i % COPY_EVERY - HERO
    if 1 <= k <= len(COPY_KINDS):
        return i - k, COPY_KINDS[k - 1][0]
    return i, None


def copies_of(i: int, n: int) -> list[int]:
    """The listings (below *n*) that show copies of listing *i*'s photo."""
    if i % COPY_EVERY != HERO:
        return []
    return [j for j in range(i + 1, i + 1 + len(COPY_KINDS)) if j < n]


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


@lru_cache(maxsize=512)
def listing_photo(seed: int, i: int) -> bytes:
    """The JPEG listing *i* shows as its first image."""
    product, kind = photo_source(i)
    img = product_photo(seed, product)
    if kind is not None:
        img = dict(COPY_KINDS)[kind](img, seed * 1000 + i)
    return jpeg(img, 88)


@lru_cache(maxsize=256)
def notice_photo(seed: int, index: int) -> bytes:
    """The picture a notice naming listing *index* publishes: the product photo itself."""
    product, _ = photo_source(index)
    out = io.BytesIO()
    product_photo(seed, product).save(out, "JPEG", quality=92)
    return out.getvalue()
