"""A plan's estimates by domain and with the estimation options, from the store."""

from __future__ import annotations

import numpy as np
import pytest

from sampler.domains import estimate_domains
from sampler.plan_estimates import domain_value, estimate_plan, notes_in
from store.db import Database
from store.errors import InvalidInput
from store.models import Plan
from store.settings import Settings
from tests import factory


def test_estimate_plan_by_platform_and_options(market: Database, settings: Settings) -> None:
    pid = factory.approved_plan(market, settings)
    with market.session() as s:
        factory.lab_results(s, pid, fail_every=3)
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
    # The same notes in Chinese, codes shown by their labels (the console, reports, CLI).
    zh = notes_in(est, "zh-CN")
    assert len(zh) == len(est["notes"]) and zh[0].startswith("估计量：")
    assert "Hájek 近似方差" in zh[0] and "logit 区间" in zh[0] and "不计入方差" in zh[0]
    assert any(n.startswith("按平台分域") for n in zh)
    assert not any(word in " ".join(zh) for word in ("domains by", "variance:", "strata"))
    # Nothing the estimator says of itself reads raw: the estimator, variance and interval
    # by their labels in either language (``--json`` keeps the codes).
    assert "分层分别的 Hájek 比率估计" in zh[0], zh[0]
    for text in (zh[0], est["notes"][0]):
        assert "hajek separate" not in text and "hajek combined" not in text, text
        assert "logit (" not in text.replace("logit (R svyciprop", "")
    assert est["note_codes"][0]["params"]["estimator"].startswith("hajek ")
    assert est["overall"]["estimator"].startswith("hajek ")


def test_a_variance_s_qualifiers_read_as_sentences() -> None:
    """The variance an estimate says it used carries qualifiers ("+lonely-remove", "(joint
    π across strata)", "(negative estimate set to 0)"): each reads as a note of its own in
    the reader's language, the method by its label."""
    from sampler.estimation import JOINT_ACROSS, NEGATIVE_ZERO
    from sampler.plan_estimates import _interval_used, _variance_used, note_text

    used, notes = _variance_used(f"syg{JOINT_ACROSS}{NEGATIVE_ZERO}", "syg")
    assert used == "syg" and [n["code"] for n in notes] == [
        "estimate_notes.variance_negative_zero", "estimate_notes.variance_joint_design"]
    used, notes = _variance_used("hajek+lonely-remove", "hajek")
    assert used == "hajek"
    assert note_text(notes[0], "zh-CN") == "有的层只有一个非必抽结果：不计入方差"
    assert _variance_used("srs-exact", "deville")[0] == "srs-exact"
    assert _variance_used("something new", "deville") == ("deville", [])
    assert _interval_used("logit→beta, p̂=0: n*=n/deff_Kish", "logit") == (
        "beta, p̂=0: n*=n/deff_Kish")
    assert _interval_used("beta, no data", "beta") == "beta"


def test_domain_counts_from_the_frame_and_post_stratification(market: Database,
                                                              settings: Settings) -> None:
    from sampler.domains import poststratify
    from sampler.plan_estimates import frame_counts

    pid = factory.approved_plan(market, settings)
    with market.session() as s:
        factory.lab_results(s, pid, fail_every=4)
    with market.session() as s:
        plan = s.get(Plan, pid)
        assert plan is not None
        counts = frame_counts(s, plan, "platform", settings)
        est = estimate_plan(s, pid, by="platform", post_stratify="platform", settings=settings)
        items = plan.items
        y = np.array([1.0 if k % 4 == 0 else 0.0 for k in range(len(items))])
        pik = np.array([it.inclusion_probability for it in items])
        strata = np.array([it.stratum for it in items])
        post = np.array([domain_value(it.listing, "platform") for it in items])
        assert sum(counts.values()) == plan.frame_size
    doms = {d["stratum"]: d for d in est["by_domain"]["domains"]}
    for name, d in doms.items():
        assert d["population_known"] and d["population"] == counts[name]
        assert d["ht_rate"] == pytest.approx(d["ht_count"] / counts[name])
    ps = est["post_stratified"]["estimate"]
    direct = poststratify(y, pik, post, counts, strata=strata)
    assert ps["hajek_rate"] == pytest.approx(direct.hajek_rate)
    assert ps["hajek_rate_ci"] == pytest.approx(direct.hajek_rate_ci)
    assert ps["population"] == pytest.approx(plan.frame_size)
    assert "post-stratified" in ps["variance_method"]


def test_variance_choice_for_seller_capped_and_plain_plans(market: Database,
                                                           settings: Settings) -> None:
    """A seller-capped plan estimates with wr by default (and says why), with ht/syg from the
    capped design's joint π across strata; a plan without a cap keeps deville and gets
    per-stratum joint π (Sampford exact)."""
    from sampler import estimate
    from sampler.plan_estimates import is_seller_capped, plan_joint
    from sampler.plans import draw_plan
    from tests.sampler.test_plans import _campaign

    capped_id = _campaign(market, "capped", method="sampford", max_per_seller=2)
    plain_id = _campaign(market, "plain", method="sampford")
    with market.session() as s:
        capped = draw_plan(s, capped_id, seed=3, actor="alice", settings=settings).id
        plain = draw_plan(s, plain_id, seed=3, actor="alice", settings=settings).id
    with market.session() as s:
        factory.lab_results(s, capped, fail_every=3)
    with market.session() as s:
        factory.lab_results(s, plain, fail_every=3)
    with market.session() as s:
        plan = s.get(Plan, capped)
        assert plan is not None and is_seller_capped(plan)
        auto = estimate_plan(s, capped)
        # 200 roundings: this checks the wiring; the accuracy is test_capped_joint's
        syg = estimate_plan(s, capped, variance="syg", settings=settings, joint_reps=200)
        items = list(plan.items)
        joint, _how, scope = plan_joint(plan, items, settings, reps=200)
        with pytest.raises(InvalidInput, match="frame"):
            estimate_plan(s, capped, variance="ht")
        flat = estimate_plan(s, plain, variance="syg", settings=settings)
        default_plain = estimate_plan(s, plain)
    assert auto["variance"] == "wr" and auto["variance_requested"] == "auto"
    assert any("seller-capped" in n for n in auto["notes"])
    assert auto["overall"]["variance_method"].startswith("wr")
    assert syg["overall"]["variance_method"].startswith("syg")
    assert "across strata" in syg["overall"]["variance_method"]
    assert "capped design" in syg["joint"] and scope == "design"
    assert np.allclose(np.diag(joint), [it.inclusion_probability for it in items])
    y = np.array([1.0 if k % 3 == 0 else 0.0 for k in range(len(items))])
    direct = estimate(y, np.array([it.inclusion_probability for it in items]),
                      strata=np.array([it.stratum for it in items]),
                      population_sizes=plan.parameters["stratum_sizes"],
                      variance="syg", joint=joint, joint_scope="design").overall
    assert syg["overall"]["ht_count_se"] == pytest.approx(direct.ht_count_se, rel=1e-9)
    assert syg["overall"]["ht_count"] == pytest.approx(auto["overall"]["ht_count"])
    assert default_plain["variance"] == "deville" and not default_plain["seller_capped"]
    assert "strata independent" in flat["joint"] and "sampford exact" in flat["joint"]
