"""The factor registry: one function per factor, in the weights' order; spot-check failures
imported from a bureau's table count as failed samples of the brand."""

from __future__ import annotations

from sampler.risk.explain import explanation
from sampler.risk.factors import REGISTRY
from sampler.risk.importers import import_file
from sampler.risk.scoring import score_listings
from sampler.risk.weights import FACTORS
from store.db import Database
from store.models import Listing, Platform
from tests.risk.conftest import data_file


def test_registry_is_the_weights_factor_list() -> None:
    assert [name for name, _ in REGISTRY] == [f for f in FACTORS if f != "base"]
    assert len({fn for _, fn in REGISTRY}) == len(REGISTRY)  # one function per factor


def test_spot_check_failure_counts_for_the_brand(sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        p = Platform(code="mall", name="Mall")
        s.add(p)
        s.flush()
        kettle = Listing(platform_id=p.id, external_id="k", url="https://mall.example/k",
                         title="沃特瑞斯 电热水壶 1.7L", brand="沃特瑞斯", model="VO-K1702")
        s.add(kettle)
        s.flush()
        kid = kettle.id
        score_listings(s)
    with sqlite_db.session() as s:
        before = explanation(s, kid)["risk_score"]
        import_file(s, data_file("spot_check_results_gbk.csv"), "spot-check")
        score_listings(s)
    with sqlite_db.session() as s:
        after = explanation(s, kid)
    reason = next(r for r in after["reasons"] if r["code"] == "brand_failed")
    assert reason["params"] == {"n": 1} and after["risk_score"] > before
