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
