"""Seller networks: contacts normalised, linked transitively across platforms."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from sampler.risk.networks import cluster
from sampler.risk.normalise import contact_keys, norm_phone
from store.models import Platform, Seller


def test_contact_normalisation() -> None:
    assert norm_phone("+86 138-0013-8000") == norm_phone("13800138000") == "13800138000"
    a = contact_keys({"email": " Service@Shop.CN ", "wechat": "WX_Haitao 001"})
    b = contact_keys({"email": "service@shop.cn", "weixin": "wx_haitao001"})
    assert a == b
    assert contact_keys({"address": "N/A", "phone": "123"}) == set()  # identifies nobody


def test_transitive_clusters_and_placeholders() -> None:
    hotline = {"phone": "400-800-8888"}
    sellers = [
        (1, {"phone": "+86 13900000001"}, None),
        (2, {"phone": "13900000001", "email": "a@x.cn"}, None),  # 1-2 by phone
        (3, {"email": "A@X.cn"}, "91440300MA5ABCDE1X"),  # 2-3 by e-mail
        (4, {}, "91440300-MA5ABCDE1X"),  # 3-4 by licence
        (5, {"wechat": "loner"}, None),
    ] + [(100 + i, hotline, None) for i in range(60)]  # a platform hotline: no link
    mapping, ignored = cluster(sellers, max_shared=50)
    assert mapping[1] == mapping[2] == mapping[3] == mapping[4] == "net-1"
    assert mapping[5] == "solo-5"
    assert mapping[100] == "solo-100" and ignored == ["phone:…"]


def test_sandbox_networks_recovered(scored: dict[str, Any], truth: dict[str, Any]) -> None:
    db = scored["db"]
    with db.session() as s:
        rows = s.execute(select(Platform.code, Seller.external_id, Seller.cluster_id)
                         .join(Platform)).all()
    found: dict[str, set[str]] = defaultdict(set)
    for code, ext, cid in rows:
        if cid and cid.startswith("net-"):
            found[cid].add(f"{code}:{ext}")
    planted = [set(n["sellers"]) for n in truth["planted"]["seller_networks"]
               if len(n["sellers"]) > 1]
    clusters = list(found.values())
    # every planted network is exactly one found network (none split, none merged)
    for net in planted:
        assert net in clusters, f"planted network {sorted(net)} not recovered"
    # found networks beyond the planted ones exist only through a contact they really share
    extra = [c for c in clusters if c not in planted]
    contacts = {f"{x['platform']}:{x['seller_id']}": x["contacts"] for x in truth["sellers"]}
    for c in extra:
        values = [set(contacts[k].values()) for k in c]
        assert set.intersection(*values), f"{sorted(c)} share no contact"
    print(f"planted networks {len(planted)}, found {len(found)} "
          f"(extra, by a coincidentally shared contact: {[sorted(c) for c in extra]})")
    assert sum(len(c) for c in extra) <= 0.05 * len(rows)
    assert {k.split(":")[0] for net in clusters for k in net} == {"mall", "spa", "shop"}


def test_sellers_sharing_a_photo_file_form_a_network(sqlite_db: Any) -> None:
    """Two storefronts showing the same photo file are one network; a photo every reseller
    shows (the brand's official one) links nobody."""
    import hashlib

    from sampler.risk.networks import PHOTO_MAX_SHARED, build_seller_networks
    from store.images import Photo, set_listing_photos
    from store.models import Listing
    from store.photos import fingerprint
    from tests.store.test_photos import PHOTOS

    own, official = (p.read_bytes() for p in PHOTOS[:2])

    def photo(data: bytes) -> Photo:
        return Photo(url="http://img.test/x.jpg", sha256=hashlib.sha256(data).hexdigest(),
                     size=len(data), print=fingerprint(data))

    with sqlite_db.session() as s:
        p = Platform(code="mall", name="Mall")
        s.add(p)
        s.flush()
        sellers = []
        for i in range(PHOTO_MAX_SHARED + 3):
            seller = Seller(platform_id=p.id, external_id=f"s{i}", name=f"s{i}",
                            contacts={"phone": f"1390000000{i}"})
            s.add(seller)
            s.flush()
            sellers.append(seller.id)
            listing = Listing(platform_id=p.id, external_id=f"l{i}", url=f"u{i}",
                              seller_id=seller.id)
            s.add(listing)
            s.flush()
            shown = [photo(official)] + ([photo(own)] if i in (0, 1) else [])
            set_listing_photos(s, listing.id, shown)
        build_seller_networks(s)
        clusters = dict(s.execute(select(Seller.id, Seller.cluster_id)).all())
    assert clusters[sellers[0]] == clusters[sellers[1]] == f"net-{sellers[0]}"
    assert all(clusters[x] == f"solo-{x}" for x in sellers[2:])
