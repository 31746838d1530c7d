"""The console's product page: every listing of a product across platforms, its notice, the
links with kind, strength and evidence, the two linking photos side by side (served from the
stored photos, nosniff), and "find copies" of a listing; labelled in Chinese and English."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image

from sampler.products import build_links
from sandbox.photo_copies import jpeg, watermarked
from store.artifacts import ArtifactStore
from store.images import Photo, set_listing_photos
from store.models import Listing
from store.photos import fingerprint
from tests import factory
from tests.web.conftest import Live

PHOTO = (Path(__file__).parent.parent / "photos" / "coffee.jpg").read_bytes()


def _kept(live: Live, data: bytes, url: str) -> Photo:
    stored = ArtifactStore(live.settings.artifacts_dir).put(data)
    return Photo(url=url, sha256=stored.sha256, size=stored.size, print=fingerprint(data))


def _product(live: Live) -> tuple[int, int]:
    a, b = live.data.listing_ids[0], live.data.listing_ids[1]
    with Image.open(io.BytesIO(PHOTO)) as img:
        copy = jpeg(watermarked(img.convert("RGB"), 1))
    with live.db.session() as s:
        first, second = s.get(Listing, a), s.get(Listing, b)
        assert first is not None and second is not None
        first.gtin = "04006381333931"
        set_listing_photos(s, a, [_kept(live, PHOTO, "http://img.test/a.jpg")])
        set_listing_photos(s, b, [_kept(live, copy, "http://img.test/b.jpg")])
        factory.notice(s, "A12/0777/26", title="Kettle <b>", gtins=["04006381333931"],
                       keys=[("gtin", "04006381333931")])
        build_links(s)
    return a, b


def test_product_page_shows_listings_links_and_photos(live: Live) -> None:
    a, b = _product(live)
    with live.login("sue") as c:  # reads the console in Chinese
        page = c.get(f"/products/{a}")
        assert page.status_code == 200
        html = page.text
        assert f'id="listing-{a}"' in html and f'id="listing-{b}"' in html
        assert "A12/0777/26" in html and "Kettle &lt;b&gt;" in html  # escaped
        assert "相同商品条码（GTIN）" in html and "相同或近似商品图片" in html
        assert "为何认定为同一商品" in html and "PDQ 距离" in html
        srcs = [part.split('"')[0] for part in html.split('src="/products/photo/')[1:]]
        assert len(srcs) == 2
        for image_id in srcs:
            r = c.get(f"/products/photo/{image_id}")
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
            assert r.headers["x-content-type-options"] == "nosniff"
        assert {hashlib.sha256(c.get(f"/products/photo/{i}").content).hexdigest()
                for i in srcs} == {hashlib.sha256(PHOTO).hexdigest(),
                                   hashlib.sha256(jpeg(watermarked(
                                       Image.open(io.BytesIO(PHOTO)).convert("RGB"), 1))
                                   ).hexdigest()}
        assert f'href="/products/copies/{b}"' in c.get(f"/listings/{b}").text
        copies = c.get(f"/products/copies/{b}").text
        assert f'href="/listings/{a}"' in copies and "该商品的同款" in copies
        assert c.get("/products/P999999").status_code == 404
        assert c.get("/products/photo/999999").status_code == 404
    with live.client() as anonymous:
        assert anonymous.get(f"/products/{a}").status_code in (303, 401)


def test_take_all_stratum_is_labelled() -> None:
    from sampler.design import TAKE_ALL
    from spotcheck.web import i18n
    from spotcheck.web.labels import stratum_label

    i18n.activate("zh-CN")
    assert stratum_label(TAKE_ALL).startswith("必抽层")
    i18n.activate("en")
    assert stratum_label(TAKE_ALL).startswith("take-all (")
