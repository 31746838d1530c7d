"""The clock: price changes, title edits, takedowns and new listings, live on every style."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox import Sandbox
from sandbox.truth import build_truth

from .conftest import LISTINGS, SEED


@pytest.fixture()
def clock_sb() -> Iterator[Sandbox]:
    with Sandbox(seed=SEED, listings=LISTINGS, obstacles=False) as s:
        yield s


def by_key(truth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in truth["listings"]}


def test_truth_evolves_with_the_day() -> None:
    d0, d12 = by_key(build_truth(SEED, LISTINGS, 0)), by_key(build_truth(SEED, LISTINGS, 12))
    assert set(d0) < set(d12)  # new listings, none vanish from the truth
    new = set(d12) - set(d0)
    assert len(new) == 12 * (LISTINGS // 200)
    common = set(d0)
    assert any(d0[k]["price"] != d12[k]["price"] for k in common)
    assert any(d0[k]["title"] != d12[k]["title"] for k in common)
    removed = [k for k in common if d12[k]["status"] == "removed"]
    assert removed and all(d0[k]["status"] == "active" for k in removed)


def test_a_served_sandbox_follows_the_clock(clock_sb: Sandbox) -> None:
    sb = clock_sb
    d0 = by_key(sb.truth())
    sb.set_day(12)
    d12 = by_key(sb.truth())
    with httpx.Client(timeout=10) as http:
        # takedowns: mall 404, spa API 404 "removed", shop 200 "removed" page
        for platform in ("mall", "spa", "shop"):
            key = next(k for k, r in d12.items() if r["platform"] == platform and r["status"] == "removed"
                       and r["removed_day"] == min(r2["removed_day"] for r2 in d12.values()
                                                  if r2["platform"] == platform and r2["status"] == "removed"))
            row = d12[key]
            if platform == "mall":
                assert http.get(row["url"]).status_code == 404
            elif platform == "spa":
                r = http.get(f"{sb.urls['spa']}/api/v1/items/{row['external_id']}")
                assert r.status_code == 404 and r.json()["error"] == "removed"
            else:
                r = http.get(row["url"])
                assert r.status_code == 200 and "此商品已下架" in r.text and "ld+json" not in r.text
        # price and title changes are served
        changed = next(k for k in d0 if k.startswith("mall:") and d0[k]["price"] != d12[k]["price"]
                       and d12[k]["status"] == "active" and d12[k]["flags"]["page_quirk"] is None)
        assert d12[changed]["price_display"] in http.get(d12[changed]["url"]).text
        edited = next(k for k in d0 if k.startswith("spa:") and d0[k]["title"] != d12[k]["title"]
                      and d12[k]["status"] == "active")
        api = http.get(f"{sb.urls['spa']}/api/v1/items/{d12[edited]['external_id']}").json()
        assert api["title"] == d12[edited]["title"] != d0[edited]["title"]
        # new listings exist on day 12 but not on day 0
        new = next(r for k, r in d12.items() if k not in d0 and r["platform"] == "mall")
        assert http.get(new["url"]).status_code == 200
        http.post(f"{sb.urls['mall']}/admin/day", json={"day": 0})
        assert sb.day == 0
        assert http.get(new["url"]).status_code == 404
        assert http.get(f"{sb.urls['shop']}/admin/day", params={"set": 5}).json() == {"day": 5}
