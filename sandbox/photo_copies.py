"""How sellers copy a product photo: resized, recompressed, cut at the edges, watermarked.

The outside world's habits, used by the sandbox to plant copies of a product's photo on other
platforms and sellers, by the photo tests (one transformation each) and by the near-duplicate
benchmark.  Deterministic: a copy depends only on the photo and the ``seed``.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFont

#: The share of width and height a cropped copy loses (split at random between the sides).
CROP_SHARE = 0.05


def jpeg(img: Image.Image, quality: int = 90) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def resized(img: Image.Image, seed: int = 0) -> Image.Image:
    """Scaled to between 40 % and 75 % of its size (a thumbnail, a listing grid)."""
    f = random.Random(seed).uniform(0.4, 0.75)
    return img.resize((max(8, int(img.width * f)), max(8, int(img.height * f))),
                      Image.Resampling.LANCZOS)


def recompressed(img: Image.Image, seed: int = 0) -> Image.Image:
    """Saved again as a JPEG of low quality (25-45)."""
    q = random.Random(seed).randint(25, 45)
    with Image.open(io.BytesIO(jpeg(img, q))) as again:
        return again.convert("RGB")


def cropped(img: Image.Image, seed: int = 0) -> Image.Image:
    """:data:`CROP_SHARE` of width and height cut, split at random between the two sides."""
    rng = random.Random(seed)
    w, h = img.size
    dx, dy = int(w * CROP_SHARE), int(h * CROP_SHARE)
    left, top = rng.randint(0, dx), rng.randint(0, dy)
    return img.crop((left, top, w - (dx - left), h - (dy - top)))


def watermarked(img: Image.Image, seed: int = 0) -> Image.Image:
    """A shop's name written across a corner, half transparent, a twelfth of the width high."""
    rng = random.Random(seed)
    base = img.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = ImageFont.load_default(size=max(10, base.width // 12))
    text = rng.choice(["© SHOP", "BEST-DEAL", "店铺专享", "HOT SALE", "sample"])
    x = rng.uniform(0.03, 0.45) * base.width
    y = rng.choice([0.05, 0.8]) * base.height
    shade = rng.choice([(255, 255, 255, 150), (0, 0, 0, 120), (220, 30, 30, 140)])
    draw.text((x, y), text, fill=shade, font=font)
    return Image.alpha_composite(base, layer).convert("RGB")


#: name -> transformation, in the order reports list them.
TRANSFORMS: dict[str, Callable[[Image.Image, int], Image.Image]] = {
    "resized": resized, "recompressed": recompressed, "cropped": cropped,
    "watermarked": watermarked,
}
