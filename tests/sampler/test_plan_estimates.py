"""A plan's estimates by domain and with the estimation options, from the store."""

from __future__ import annotations

import numpy as np
import pytest

from sampler.domains import estimate_domains
from sampler.plan_estimates import domain_value, estimate_plan
from store.db import Database
from store.errors import InvalidInput
from store.models import Plan
from store.settings import Settings
from tests.sampler.test_plans import _approved, _record_results


def test_estimate_plan_by_platform_and_options(market: Database, settings: Settings) -> None:
    pid = _approved(market, settings)
    _record_results(market, pid, fail_every=3)
    with market.session() as s:
        est = estimate_plan(s, pid, by="platform", interval="logit", variance="hajek",
                            lonely="remove")
        items = s.get(Plan, pid).items  # type: ignore[union-attr]
        y = np.array([1.0 if k % 3 == 0 else 0.0 for k in range(len(items))])
        pik = np.array([it.inclusion_probability for it in items])
        strata = np.array([it.stratum for it in items])
        platforms = np.array([domain_value(it.listing, "platform") for it in items])
        with pytest.raises(InvalidInput, match="domain"):
            estimate_plan(s, pid, by="colour")
    assert est["interval"] == "logit" and est["variance"] == "hajek"
    doms = est["by_domain"]["domains"]
    assert {d["stratum"] for d in doms} == {"mall", "shop"}
    assert sum(d["n"] for d in doms) == est["results"]
    direct = estimate_domains(y, pik, platforms, strata=strata, interval="logit",
                              variance="hajek")
    for d, e in zip(doms, direct, strict=True):
        assert d["hajek_rate"] == pytest.approx(e.hajek_rate)
        assert d["hajek_rate_ci"] == pytest.approx(e.hajek_rate_ci)
        assert d["interval_method"].startswith("logit") or "beta" in d["interval_method"]
    assert any("domains by platform" in n for n in est["notes"])
    assert "interval: " in est["notes"][0] and "variance: " in est["notes"][0]
