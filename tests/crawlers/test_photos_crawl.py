"""Listing photos during a crawl (crawlers.photos): fetched through Scrapy's files pipeline
from a real HTTP server, kept once per content in the artifacts folder with their perceptual
hashes, linked to their listings in order; bounded (count, bytes), errors recorded, and not
fetched again while a listing shows the same photo URLs."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from crawlers.platforms import add_platform
from crawlers.profile import parse_profile, shipped_profile
from store.artifacts import ArtifactStore
from store.db import Database
from store.images import MAX_PHOTOS
from store.models import Listing, ListingImage, ProductImage
from store.settings import Settings
from tests.conftest import SiteHandler, serve_http
from tests.crawlers.conftest import crawl

PHOTOS = Path(__file__).parent.parent / "photos"
FILES = {f"/img/{p.stem}.jpg": p.read_bytes() for p in PHOTOS.glob("*.jpg")}
FILES["/img/chelsea-copy.jpg"] = FILES["/img/chelsea.jpg"]  # same bytes, another URL
FILES["/img/not-an-image.jpg"] = b"<html>no</html>"
FILES["/img/huge.jpg"] = b"\xff\xd8" + b"0" * (6 << 20)  # beyond any photo's byte share
HITS: Counter[str] = Counter()
#: product path -> photo URLs its page names (changed by the test between crawls).
PRODUCTS: dict[str, list[str]] = {}


def _reset() -> None:
    PRODUCTS.clear()
    PRODUCTS.update({
        "/p/1.html": ["/img/chelsea.jpg", "/img/coffee.jpg", "/img/missing.jpg"],
        "/p/2.html": ["/img/chelsea-copy.jpg", "/img/not-an-image.jpg"],
        "/p/3.html": ["/img/huge.jpg", "/img/rocket.jpg"],
        "/p/4.html": [f"/img/x{i}.jpg" for i in range(MAX_PHOTOS + 3)],
    })
    HITS.clear()


def _page(path: str) -> bytes:
    data = {"@type": "Product", "name": f"Kettle {path}", "sku": path,
            "image": PRODUCTS[path], "offers": {"price": "10", "priceCurrency": "CNY"}}
    links = "".join(f'<a href="{p}">{p}</a>' for p in PRODUCTS)
    return (f'<html><head><script type="application/ld+json">{json.dumps(data)}</script>'
            f"</head><body><h1>Kettle {path}</h1>{links}</body></html>").encode()


class Handler(SiteHandler):
    def do_GET(self) -> None:
        HITS[self.path] += 1
        if self.path == "/" or self.path in PRODUCTS:
            body = _page(self.path) if self.path in PRODUCTS else (
                "<html><body>" + "".join(f'<a href="{p}">{p}</a>' for p in PRODUCTS)
                + "</body></html>").encode()
            kind = "text/html"
        elif self.path in FILES:
            body, kind = FILES[self.path], "image/jpeg"
        else:
            self.send(404)
            return
        self.send(200, body, kind)


@pytest.fixture()
def site() -> Iterator[str]:
    _reset()
    with serve_http(Handler) as url:
        yield url


def _photos(db: Database) -> dict[str, list[tuple[str, str | None, str | None]]]:
    """external id -> [(url path, image sha256, error)] in position order."""
    out: dict[str, list[tuple[str, str | None, str | None]]] = {}
    with db.session() as s:
        rows = s.execute(select(Listing.external_id, ListingImage.url, ProductImage.sha256,
                                ListingImage.error)
                         .join(ListingImage, ListingImage.listing_id == Listing.id)
                         .outerjoin(ProductImage, ProductImage.id == ListingImage.image_id)
                         .order_by(Listing.external_id, ListingImage.position)).all()
    for ext, url, sha, error in rows:
        out.setdefault(ext, []).append(("/" + url.split("/", 3)[3], sha, error))
    return out


def test_crawl_keeps_listing_photos_by_content(site: str, sqlite_db: Database,
                                               settings: Settings) -> None:
    data = shipped_profile("structured-data").model_dump()
    data["politeness"].update(autothrottle=False, robots_txt=False)
    with sqlite_db.session() as s:
        add_platform(s, "photoshop", start_url=site, profile=parse_profile(data, "test"))
    settings.crawl_photos = True
    assert crawl(settings, "photoshop").status == "finished"
    got = _photos(sqlite_db)
    one = got["/p/1.html"]
    assert [u for u, _, _ in one] == PRODUCTS["/p/1.html"]
    assert one[0][1] is not None and one[1][1] is not None and one[0][1] != one[1][1]
    assert one[2][1] is None and "404" in (one[2][2] or "")
    two = got["/p/2.html"]
    assert two[0][1] == one[0][1]  # the same bytes elsewhere: one image, two links
    assert two[1][1] is None and "not a readable image" in (two[1][2] or "")
    three = got["/p/3.html"]
    assert three[0][1] is None and three[0][2]  # cut off at its byte share
    assert three[1][1] is not None
    assert len(got["/p/4.html"]) == MAX_PHOTOS
    assert sum(HITS[f"/img/x{i}.jpg"] for i in range(MAX_PHOTOS + 3)) == MAX_PHOTOS
    artifacts = ArtifactStore(settings.artifacts_dir)
    with sqlite_db.session() as s:
        images = s.scalars(select(ProductImage)).all()
        assert len(images) == 3  # chelsea (twice), coffee, rocket
        for image in images:
            assert artifacts.check(image.sha256)
            assert len(image.pdq) == 64 and len(image.phash) == 16
            assert len(image.pdq_crops) == 9 and image.pdq_quality >= 50

    # Same photo URLs: nothing fetched again; a listing showing other photos is refreshed.
    HITS.clear()
    PRODUCTS["/p/2.html"] = ["/img/astronaut.jpg"]
    assert crawl(settings, "photoshop").status == "finished"
    assert HITS["/img/chelsea.jpg"] == 0 and HITS["/img/coffee.jpg"] == 0
    assert HITS["/img/astronaut.jpg"] == 1
    again = _photos(sqlite_db)
    assert again["/p/1.html"] == one
    assert [u for u, _, _ in again["/p/2.html"]] == ["/img/astronaut.jpg"]
