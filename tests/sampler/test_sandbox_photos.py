"""The sandbox plants copies of product photos across its platforms and sellers; a notice's
picture, fetched from the sandbox like any outside file, finds the listing it names and every
planted copy on the other platforms, and nothing else (photos hashed and linked by the real
code: store.images, store.photoindex, sampler.products)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from sampler.products import build_links, cluster_of
from sandbox.catalog import get_catalog
from sandbox.photos import COPY_EVERY, HERO, copies_of, photo_source, planted
from sandbox.runner import Sandbox
from store.artifacts import ArtifactStore
from store.db import Database
from store.images import keep_photo, set_listing_photos, set_notice_photos
from store.models import ForeignNotice, Listing, Platform

SEED, N = 3, 400


def _hero() -> int:
    """A listing the sandbox copies four times (a recalled product nearby may take one)."""
    return next(h for h in range(HERO, N, COPY_EVERY) if len(copies_of(SEED, N, h)) == 4)


def test_planted_copies_are_deterministic() -> None:
    hero = _hero()
    assert photo_source(SEED, N, hero) == (hero, None)
    assert [photo_source(SEED, N, j)[0] for j in copies_of(SEED, N, hero)] == [hero] * 4
    assert {j % 3 for j in copies_of(SEED, N, hero)} == {0, 1, 2}  # every platform
    # Every product a notice names is copied too (what a failure and a picture lead back from).
    for recalled in get_catalog(SEED, N).recalled_map():
        assert photo_source(SEED, N, recalled) == (recalled, None)
        assert copies_of(SEED, N, recalled), recalled
    assert planted(SEED, N) == planted(SEED, N) and len(planted(SEED, N)) >= 4 * 8


def test_a_notice_picture_finds_its_listings(sqlite_db: Database, settings: Any) -> None:
    cat = get_catalog(SEED, N)
    hero = _hero()
    wanted = [hero, *copies_of(SEED, N, hero)]
    families = planted(SEED, N)
    others = [i for i in range(60, 120) if i not in families and i not in wanted
              and not copies_of(SEED, N, i)]
    artifacts = ArtifactStore(settings.artifacts_dir)
    with Sandbox(seed=SEED, listings=N, day=0, obstacles=False) as sb, \
            httpx.Client(timeout=30) as http, sqlite_db.session() as s:
        platforms = {}
        for code in sb.urls:
            p = Platform(code=code, name=code)
            s.add(p)
            s.flush()
            platforms[code] = p.id
        ids = {}
        for i in wanted + others:
            b = cat.base(i)
            url = f"{sb.urls[b.platform]}/img/{b.external_id}/1.jpg"
            response = http.get(url)
            assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
            row = Listing(platform_id=platforms[b.platform], external_id=b.external_id,
                          url=f"{sb.urls[b.platform]}/x/{b.external_id}", title=f"listing {i}")
            s.add(row)
            s.flush()
            ids[i] = row.id
            set_listing_photos(s, row.id, [keep_photo(artifacts, url, response.content)])
        picture_url = f"{sb.urls['mall']}/img/p/{hero}.jpg"
        picture = http.get(picture_url)
        assert picture.status_code == 200
        assert http.get(f"{sb.urls['mall']}/img/p/{N + 5}.jpg").status_code == 404
        notice = ForeignNotice(source="cpsc", reference="26-777", pictures=[picture_url])
        s.add(notice)
        s.flush()
        set_notice_photos(s, notice.id, [keep_photo(artifacts, picture_url, picture.content)])
        build_links(s, ["photo"])
        cluster = cluster_of(s, ids[hero])
        assert cluster is not None
        assert cluster.notice_ids == [notice.id]
        assert sorted(cluster.listing_ids) == sorted(ids[i] for i in wanted)
        found = {x[0] for x in s.execute(select(Platform.code).join(
            Listing, Listing.platform_id == Platform.id).where(
            Listing.id.in_(cluster.listing_ids)))}
        assert found == set(sb.urls)  # copies on every platform
        for i in others:
            assert cluster_of(s, ids[i]) is None


def test_notice_pictures_are_fetched_when_reachable(any_db: Database, settings: Any) -> None:
    from sampler.products import fetch_notice_pictures
    from store.models import NoticeImage, ProductImage

    artifacts = ArtifactStore(settings.artifacts_dir)
    with Sandbox(seed=SEED, listings=N, day=0, obstacles=False) as sb, \
            any_db.session() as s:
        base = sb.urls["shop"]
        n1 = ForeignNotice(source="cpsc", reference="A", pictures=["/img/p/5.jpg",
                                                                    "/img/p/99999.jpg"])
        n2 = ForeignNotice(source="safety-gate", reference="B",
                           pictures=[f"{base}/img/p/6.jpg", "http://127.0.0.1:9/x.jpg"])
        n3 = ForeignNotice(source="csv", reference="C", pictures=[])
        s.add_all([n1, n2, n3])
        s.flush()
        result = fetch_notice_pictures(s, artifacts, base_url=base, timeout=5)
        assert (result.notices, result.kept, result.failed) == (2, 2, 2)
        rows = s.execute(select(NoticeImage.notice_id, NoticeImage.position,
                                NoticeImage.image_id, NoticeImage.error)
                         .order_by(NoticeImage.notice_id, NoticeImage.position)).all()
        assert [(r[0], r[1], r[2] is not None) for r in rows] == [
            (n1.id, 0, True), (n1.id, 1, False), (n2.id, 0, True), (n2.id, 1, False)]
        assert "404" in (rows[1][3] or "")
        # fetched once: a second run skips these notices
        assert fetch_notice_pictures(s, artifacts, base_url=base, timeout=5).notices == 0
        sha = s.scalar(select(ProductImage.sha256).where(ProductImage.id == rows[0][2]))
        assert sha is not None and artifacts.check(sha)
