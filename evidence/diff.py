"""What changed between two captures of the same page: facts and a visual diff.

Facts (title, price, currency, availability) are compared as recorded at capture time, and
whether the page was gone (HTTP 404/410 or "no longer available") in each; the
full-page screenshots are compared with Pillow (``ImageChops.difference``), giving the share
of changed pixels, the bounding box of the change and a highlighted diff image.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageChops
from sqlalchemy import select

from store.artifacts import ArtifactStore
from store.db import Database
from store.errors import InvalidInput, NotFound
from store.models import Artifact, Capture, CaptureStatus
from store.settings import Settings
from store.vocabulary import Availability, availability_code

FACTS = ("title", "price", "currency", "availability")
#: HTTP answers that mean the page is gone.
GONE_STATUS = (404, 410)
#: Availability codes that mean the listing is no longer sold: ``discontinued`` is also what
#: :mod:`evidence.facts` records for a "no longer available" page answered with 200.  Out of
#: stock is not gone: the listing is still there, and its change of availability is a change
#: like a price's (the diff's ``changes``), not a takedown.
GONE_AVAILABILITY = (Availability.DISCONTINUED.value,)
#: Per-channel difference below which a pixel counts as unchanged (antialiasing noise).
THRESHOLD = 24


@dataclass
class CaptureDiff:
    a: int
    b: int
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    changed_pixels: float = 0.0
    bbox: tuple[int, int, int, int] | None = None
    size_a: tuple[int, int] = (0, 0)
    size_b: tuple[int, int] = (0, 0)
    diff_png: bytes = b""
    #: HTTP status of the page in capture a and b.
    status: tuple[int | None, int | None] = (None, None)
    #: Whether the page was gone (404/410 or "no longer available") in capture a and b.
    gone: tuple[bool, bool] = (False, False)

    @property
    def changed(self) -> bool:
        return bool(self.changes) or self.changed_pixels > 0 or self.gone[0] != self.gone[1]

    @property
    def removed(self) -> bool:
        """The listing was there in capture a and is gone in b (taken down)."""
        return not self.gone[0] and self.gone[1]

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "status": list(self.status),
                "gone": list(self.gone), "removed": self.removed,
                "changes": {k: {"before": v[0], "after": v[1]} for k, v in self.changes.items()},
                "changed_pixels": round(self.changed_pixels, 6), "bbox": self.bbox,
                "size_a": self.size_a, "size_b": self.size_b}


def page_status(meta: dict[str, Any] | None) -> int | None:
    """The HTTP status a capture's main page answered with."""
    status = (meta or {}).get("status")
    return status if isinstance(status, int) else None


def page_gone(meta: dict[str, Any] | None, facts: dict[str, Any] | None) -> bool:
    """Whether a capture shows the listing taken down: HTTP 404/410, or availability saying
    it is no longer sold (incl. a "此商品已下架" page answered with 200); sold out is not."""
    availability = availability_code((facts or {}).get("availability"))
    return page_status(meta) in GONE_STATUS or availability in GONE_AVAILABILITY


def fact(facts: dict[str, Any] | None, key: str) -> Any:
    """A recorded fact as it is compared: availability as its code (captures recorded before
    facts spoke codes hold schema.org names, ``InStock``), the rest as recorded."""
    value = (facts or {}).get(key)
    if key == "availability":
        return availability_code(value) or value
    return value


def visual_diff(png_a: bytes, png_b: bytes) -> tuple[float, tuple[int, int, int, int] | None,
                                                     bytes]:
    """Share of pixels that differ, their bounding box, and a PNG with them in red."""
    a = Image.open(io.BytesIO(png_a)).convert("RGB")
    b = Image.open(io.BytesIO(png_b)).convert("RGB")
    size = (max(a.width, b.width), max(a.height, b.height))
    ca, cb = Image.new("RGB", size, "white"), Image.new("RGB", size, "white")
    ca.paste(a)
    cb.paste(b)
    r, g, b_ = ImageChops.difference(ca, cb).split()
    strongest = ImageChops.lighter(ImageChops.lighter(r, g), b_)  # largest channel change
    mask = strongest.point(lambda v: 255 if v > THRESHOLD else 0)
    hist = mask.histogram()
    changed = hist[255] / (size[0] * size[1])
    bbox = mask.getbbox()
    overlay = Image.blend(cb, Image.new("RGB", size, "white"), 0.6)
    overlay.paste(Image.new("RGB", size, (220, 0, 0)), mask=mask)
    out = io.BytesIO()
    overlay.save(out, "PNG", optimize=False)
    return changed, bbox, out.getvalue()


def diff_captures(db: Database, a: int, b: int, settings: Settings) -> CaptureDiff:
    """Compare capture *a* (before) with *b* (after)."""
    store = ArtifactStore(settings.artifacts_dir)
    with db.session() as s:
        caps = {}
        shots = {}
        for cid in (a, b):
            cap = s.get(Capture, cid)
            if cap is None:
                raise NotFound("evidence.capture", capture_id=cid)
            if cap.status != CaptureStatus.OK:
                raise InvalidInput("evidence.capture_failed_nothing_to_compare", capture_id=cid)
            caps[cid] = cap
            sha = s.scalar(select(Artifact.sha256).where(Artifact.capture_id == cid,
                                                         Artifact.role == "screenshot_full"))
            if sha is None:
                raise NotFound("evidence.capture_no_full_screenshot", capture_id=cid)
            shots[cid] = sha
        result = CaptureDiff(a, b)
        result.status = (page_status(caps[a].meta), page_status(caps[b].meta))
        result.gone = (page_gone(caps[a].meta, caps[a].facts),
                       page_gone(caps[b].meta, caps[b].facts))
        for key in FACTS:
            before, after = fact(caps[a].facts, key), fact(caps[b].facts, key)
            if before != after:
                result.changes[key] = (before, after)
    img_a, img_b = store.read(shots[a]), store.read(shots[b])
    result.changed_pixels, result.bbox, result.diff_png = visual_diff(img_a, img_b)
    result.size_a = Image.open(io.BytesIO(img_a)).size
    result.size_b = Image.open(io.BytesIO(img_b)).size
    return result
