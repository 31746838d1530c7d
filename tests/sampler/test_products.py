"""Product clusters: each link kind (GTIN, brand + model, photo, title, notice), acceptance by
strength, an inspector's split and confirmation remembered through rebuilds, and "find copies"
of one listing across platforms — on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import select

from sampler.products import (
    ACCEPT_STRENGTH,
    build_links,
    cluster_of,
    clusters,
    find_copies,
    link_manually,
    review_link,
    split_off,
)
from sandbox.photo_copies import cropped, jpeg, watermarked
from store.db import Database
from store.images import Photo, set_listing_photos, set_notice_photos
from store.models import Listing, Platform, ProductLink
from store.photos import fingerprint
from tests import factory

PHOTOS = {p.stem: p.read_bytes() for p in (Path(__file__).parent.parent / "photos").glob("*.jpg")}


def _photo(name: str, copy: bool = False) -> Photo:
    data = PHOTOS[name]
    if copy:  # another seller's copy: cut at the edges and watermarked
        with Image.open(io.BytesIO(data)) as img:
            data = jpeg(watermarked(cropped(img.convert("RGB"), 3), 3))
    import hashlib

    return Photo(url=f"http://img.test/{name}{'-copy' if copy else ''}.jpg",
                 sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                 print=fingerprint(data))


def _world(db: Database) -> dict[str, int]:
    """Listings on two platforms: a kettle sold four ways, an unrelated lamp, a notice."""
    with db.session() as s:
        mall, shop = factory.platform(s, "mall"), factory.platform(s, "shop")

        def listing(p: Platform, ext: str, **kw: Any) -> Listing:
            return factory.listing(s, p.id, ext, url=f"http://{p.code}/{ext}", **kw)

        ids = {
            # GTIN 4006381333931 on both platforms
            "a": listing(mall, "a", title="Acme Kettle 1.7L", brand="Acme", model="AK-17",
                         gtin="04006381333931").id,
            "b": listing(shop, "b", title="Kettle electric", brand=None,
                         gtin="04006381333931").id,
            # same brand + model code, written differently, no GTIN
            "c": listing(shop, "c", title="ACME kettle", brand="ACME Co.", model="ak 17").id,
            # only a copied photo of a's photo
            "d": listing(shop, "d", title="Wasserkocher", brand="Noname").id,
            # same brand, near-identical title, nothing else: a weak link only
            "e": listing(mall, "e", title="Kettle Acme 1,7L", brand="Acme", model="AK-99").id,
            "lamp": listing(mall, "lamp", title="Desk lamp", brand="Lumo", model="DL-2").id,
        }
        set_listing_photos(s, ids["a"], [_photo("coffee")])
        set_listing_photos(s, ids["d"], [_photo("coffee", copy=True)])
        set_listing_photos(s, ids["lamp"], [_photo("rocket")])
        notice = factory.notice(s, "A12/0001/26", brand="Acme", models=["AK17"],
                                gtins=["04006381333931"], keys=[("gtin", "04006381333931")])
        ids["notice"] = notice.id
        picture_only = factory.notice(s, "26-123", source="cpsc", brand="Other")
        set_notice_photos(s, picture_only.id, [_photo("coffee", copy=True)])
        ids["picture_notice"] = picture_only.id
    return ids


def _kinds(db: Database) -> dict[str, set[str]]:
    with db.session() as s:
        out: dict[str, set[str]] = {}
        for link in s.scalars(select(ProductLink)):
            out.setdefault(link.kind, set()).add(link.key)
    return out


def test_cluster_building_with_each_link_kind(any_db: Database) -> None:
    ids = _world(any_db)
    with any_db.session() as s:
        result = build_links(s)
    assert result.added > 0
    kinds = _kinds(any_db)
    a, b, c, d, e = (ids[k] for k in "abcde")
    assert f"gtin:L{min(a, b)}:L{max(a, b)}" in kinds["gtin"]
    assert f"gtin:L{a}:N{ids['notice']}" in kinds["gtin"]
    assert f"brand_model:L{min(a, c)}:L{max(a, c)}" in kinds["brand_model"]
    assert f"brand_model:L{a}:N{ids['notice']}" in kinds["brand_model"]
    assert f"photo:L{min(a, d)}:L{max(a, d)}" in kinds["photo"]
    assert f"photo:L{a}:N{ids['picture_notice']}" in kinds["photo"]  # the notice's picture
    assert f"title:L{min(a, e)}:L{max(a, e)}" in kinds["title"]
    with any_db.session() as s:
        found = clusters(s)
        assert len(found) == 1
        kettle = found[0]
        # e is linked by title only (weak): not in the product until someone confirms it
        assert kettle.listing_ids == sorted([a, b, c, d])
        assert kettle.notice_ids == sorted([ids["notice"], ids["picture_notice"]])
        assert kettle.id == f"P{min(a, b, c, d)}"
        assert cluster_of(s, ids["lamp"]) is None
        photo = next(x for x in kettle.links if x["kind"] == "photo" and x["other_listing_id"])
        assert ACCEPT_STRENGTH <= photo["strength"] < 0.9 and photo["evidence"]["distance"] > 0
        strengths = kettle.strength_from(("L", d))
        assert strengths[("L", d)] == 1.0 and strengths[("L", b)] == photo["strength"]


def test_split_and_confirm_are_remembered(any_db: Database) -> None:
    ids = _world(any_db)
    a, d, e = ids["a"], ids["d"], ids["e"]
    with any_db.session() as s:
        build_links(s)
        photo = s.scalar(select(ProductLink).where(
            ProductLink.key == f"photo:L{min(a, d)}:L{max(a, d)}"))
        title = s.scalar(select(ProductLink).where(ProductLink.kind == "title"))
        assert photo is not None and title is not None
        review_link(s, photo.id, "rejected", "inspector-1", "different kettle")
        review_link(s, title.id, "confirmed", "inspector-1")
        # d is still in the product through the notice's picture: split it off entirely
        still = cluster_of(s, d)
        assert still is not None and still.id == f"P{a}"
        assert split_off(s, d, "inspector-1", "different kettle") == 1
    with any_db.session() as s:
        build_links(s)  # a rebuild finds the photo link again, and keeps it rejected
        cluster = cluster_of(s, a)
        assert cluster is not None
        assert d not in cluster.listing_ids and e in cluster.listing_ids
        assert cluster_of(s, d) is None
        link = s.scalar(select(ProductLink).where(
            ProductLink.key == f"photo:L{min(a, d)}:L{max(a, d)}"))
        assert link is not None and link.status == "rejected"
        assert link.evidence["note"] == "different kettle"
        link_manually(s, d, other_listing_id=ids["lamp"], actor="inspector-2", note="same box")
        assert cluster_of(s, f"P{min(d, ids['lamp'])}") is not None


def test_find_copies_of_one_listing(any_db: Database) -> None:
    ids = _world(any_db)
    with any_db.session() as s:
        copies = find_copies(s, ids["d"])
    got = {(c.listing_id, c.notice_id, c.kind) for c in copies}
    assert (ids["a"], None, "photo") in got
    assert (None, ids["picture_notice"], "photo") in got
    assert all(c.listing_id != ids["lamp"] for c in copies)
    with any_db.session() as s:
        copies = find_copies(s, ids["a"])
    got = {(c.listing_id, c.notice_id, c.kind) for c in copies}
    assert {(ids["b"], None, "gtin"), (None, ids["notice"], "gtin"),
            (ids["c"], None, "brand_model"), (ids["d"], None, "photo")} <= got


def test_products_cli(sqlite_db: Database, settings: Any) -> None:
    import json

    from tests.clirun import spotcheck

    ids = _world(sqlite_db)
    env = {"SPOTCHECK_HOME": str(settings.home)}

    def run(*args: str) -> Any:
        r = spotcheck(*args, env=env, unset=("SPOTCHECK_DB",))
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout) if "--json" in args else r.stdout

    built = run("products", "build", "--json")
    assert built["added"] >= 6 and built["proposed"]["photo"] >= 2
    listed = run("products", "list", "--json")
    assert len(listed) == 1 and listed[0]["platforms"] == ["mall", "shop"]
    shown = run("products", "show", listed[0]["cluster"], "--json")
    assert {r["listing_id"] for r in shown["listings"]} == {ids[k] for k in "abcd"}
    photo = next(x for x in shown["links"] if x["kind"] == "photo" and x["other_listing_id"])
    assert all(len(s) == 64 for s in photo["evidence"]["image_sha256"])  # both photos
    copies = run("products", "find-copies", str(ids["d"]), "--json")
    assert any(c["listing"] and c["listing"]["listing_id"] == ids["a"] for c in copies)
    assert run("products", "reject", str(photo["id"]), "--note", "not it", "--json")[
        "status"] == "rejected"
    shown_zh = run("products", "show", str(ids["a"]))  # the reader's language: zh-CN
    assert "商品组 P" in shown_zh and "待确认" in shown_zh and "proposed" not in shown_zh
    # why two listings are one product, in Chinese too
    assert "PDQ" in shown_zh and "距离" in shown_zh and "photos" not in shown_zh
    assert "distance" not in shown_zh
    missing = spotcheck("products", "show", str(ids["lamp"]), env=env)
    assert missing.returncode == 3
    bad = spotcheck("products", "build", "--kind", "smell", env=env)
    assert bad.returncode == 2


def test_a_failure_is_carried_to_every_copy(any_db: Database, settings: Any) -> None:
    """A failed lab result of listing b gives every other listing of its product a risk reason
    with the link strength; the next plan takes them all with π = 1 in a take-all stratum."""
    from sampler.campaign_scope import create_campaign
    from sampler.design import TAKE_ALL
    from sampler.plans import draw_plan
    from sampler.products import carried_failures
    from sampler.risk.scoring import score_listings
    from store.models import PlanItem

    ids = _world(any_db)
    a, b, c, d = (ids[k] for k in "abcd")
    with any_db.session() as s:
        build_links(s)
        factory.failed_lab(s, b)
    with any_db.session() as s:
        carried = carried_failures(s)
    assert set(carried) == {a, c, d}  # not b itself, not e (a title alone is no product)
    assert carried[a].source == "lab_fail" and carried[a].ref == f"L{b}"
    assert carried[a].strength == 0.95 and carried[c].strength == 0.85
    assert ACCEPT_STRENGTH <= carried[d].strength < 0.9  # through the copied photo
    score_listings(any_db)
    with any_db.session() as s:
        row = s.get(Listing, d)
        assert row is not None
        reason = next(r for r in row.risk_reasons if r["code"] == "product_failed")
        assert reason["params"]["ref"] == f"L{b}" and "link strength" in reason["en"]
        assert "关联强度" in reason["zh"]
        camp = create_campaign(s, "next", actor="t", n=1, strata=["platform"],
                               min_per_stratum=0, take_all_failed_products=True)
        plan = draw_plan(s, camp.id, seed=3, actor="t", settings=settings)
        items = {i.listing_id: i for i in s.scalars(
            select(PlanItem).where(PlanItem.plan_id == plan.id))}
        taken = {lid for lid, i in items.items() if i.stratum == TAKE_ALL}
        assert taken == {a, c, d}
        assert all(items[x].inclusion_probability == 1.0 and items[x].certainty for x in taken)
        assert any(r["code"] == "take_all" for r in items[d].reasons)
        assert plan.parameters["allocation"][TAKE_ALL] == 3
        others = [i for i in items.values() if i.stratum != TAKE_ALL]
        assert len(others) == 1 and others[0].inclusion_probability < 1


def _title_links_before(rows_by_brand: dict[str, list[tuple[int, str]]]) -> set[tuple[Any, ...]]:
    """The title links as the first implementation found them (token_sort_ratio with the
    scorer's own case folding, every cell of every block read in Python): the reference."""
    from rapidfuzz import fuzz, process

    from sampler.products import TITLE_MAX_BLOCK, TITLE_MIN_RATIO

    out = set()
    for rows in rows_by_brand.values():
        if len(rows) < 2 or len(rows) > TITLE_MAX_BLOCK:
            continue
        titles = [t for _, t in rows]
        scores = process.cdist(titles, titles, scorer=fuzz.token_sort_ratio,
                               processor=str.casefold, score_cutoff=TITLE_MIN_RATIO)
        for i in range(len(rows)):
            for j in range(i + 1, len(rows)):
                ratio = float(scores[i][j])
                if ratio >= TITLE_MIN_RATIO:
                    lo, hi = sorted((rows[i][0], rows[j][0]))
                    out.add((lo, hi, round(0.6 * ratio / 100, 3), round(ratio, 1)))
    return out


def test_title_links_equal_the_first_implementation(sqlite_db: Database) -> None:
    """On a sample of titles with shuffled words, other cases, doubled and odd spaces,
    non-Latin text and near misses around the cutoff, the vectorised title links are the
    first implementation's, link for link."""
    import random

    from sampler.products import title_links
    from sampler.risk.normalise import brand_key

    rng = random.Random(25)
    words = ["Kettle", "electric", "1.7L", "steel", "Wasserkocher", "电热水壶", "不锈钢", "blue",
             "ÉDITION", "straße", "mini", "pro", "X-200", "AK-17", "2024"]
    brands = ["Acme", "ACME", "Lumo", "小米", "Brand One"]
    with sqlite_db.session() as s:
        mall = Platform(code="mall", name="Mall")
        s.add(mall)
        s.flush()
        products = [rng.sample(words, rng.randint(3, 6)) for _ in range(40)]
        for i in range(300):
            base = list(rng.choice(products))
            if rng.random() < 0.5:
                rng.shuffle(base)
            if rng.random() < 0.3:  # one word changed: around the cutoff
                base[rng.randrange(len(base))] = rng.choice(words)
            sep = rng.choice([" ", "  ", " \t", "\u3000", " "])
            title = sep.join(w.upper() if rng.random() < 0.2 else w for w in base)
            s.add(Listing(platform_id=mall.id, external_id=str(i), url=f"http://m/{i}",
                          title=title, brand=rng.choice(brands)))
        s.flush()
        blocks: dict[str, list[tuple[int, str]]] = {}
        for lid, brand, title in s.execute(select(Listing.id, Listing.brand, Listing.title)):
            if brand_key(brand):
                blocks.setdefault(brand_key(brand) or "", []).append((lid, title[:300]))
        want = _title_links_before(blocks)
        got = {(p.a, p.b, p.strength, p.evidence["ratio"]) for p in title_links(s)}
    assert got == want
    assert len(want) >= 150 and any(r < 100 for *_, r in want)
