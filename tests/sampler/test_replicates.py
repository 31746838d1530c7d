"""Replicate weights and calibration: identities they must meet, and the bootstrap by
Monte Carlo (the R agreement is in test_r_golden.py)."""

from __future__ import annotations

import numpy as np
import pytest

from sampler import estimate
from sampler.calibration import calibrate, category_matrix
from sampler.domains import poststratify
from sampler.replicates import bootstrap, jackknife, replicate_estimate


def _sample(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    rng = np.random.default_rng(seed)
    sizes = {"a": 400.0, "b": 150.0, "c": 90.0}
    n = {"a": 20, "b": 12, "c": 8}
    h = np.repeat(list(n), list(n.values()))
    pik = np.array([n[s] / sizes[s] for s in h])
    y = (rng.random(h.size) < 0.2).astype(float)
    return y, pik, h, sizes


def test_jackknife_of_a_total_is_the_exact_stratified_srs_variance() -> None:
    """For a linear statistic JKn reproduces Σ N_h²(1−f_h)s_h²/n_h exactly."""
    y, pik, h, sizes = _sample()
    rep = jackknife(h, sizes)
    e = replicate_estimate(y, pik, rep)
    exact = estimate(y, pik, strata=h, population_sizes=sizes).overall
    assert e.ht_count == pytest.approx(exact.ht_count)
    assert e.ht_count_se == pytest.approx(exact.ht_count_se, rel=1e-12)
    assert rep.factors.shape == (40, 40)


def test_bootstrap_variance_agrees_with_the_linearised_one() -> None:
    """2,000 Rao–Wu replicates (vectorised: one matrix product) against the exact variance
    without fpc (the rescaled bootstrap has none): within 10 %."""
    y, pik, h, _ = _sample(2)
    rep = bootstrap(h, 2000, np.random.default_rng(3))
    e = replicate_estimate(y, pik, rep)
    no_fpc = estimate(y, pik, strata=h, variance="wr").overall
    assert e.ht_count_se**2 == pytest.approx(no_fpc.ht_count_se**2, rel=0.1)
    assert e.hajek_rate_se**2 == pytest.approx(no_fpc.hajek_rate_se**2, rel=0.12)
    assert np.allclose(rep.factors.sum(axis=0) / 40, 1.0, atol=0.2)


def test_linear_calibration_on_one_field_is_post_stratification() -> None:
    y, pik, h, _sizes = _sample(4)
    post = np.where(np.arange(y.size) % 3 == 0, "mall", "shop")
    counts = {"mall": 210.0, "shop": 430.0}
    X, totals, names, _ = category_matrix({"platform": post}, {"platform": counts})
    cal = calibrate(y, pik, X, totals, strata=h, population=640.0).estimate
    ps = poststratify(y, pik, post, counts, strata=h)
    assert cal.hajek_rate == pytest.approx(ps.hajek_rate, rel=1e-12)
    assert cal.hajek_rate_se == pytest.approx(ps.hajek_rate_se, rel=1e-9)
    assert cal.ht_count == pytest.approx(ps.ht_count, rel=1e-12)
    raked = calibrate(y, pik, X, totals, strata=h, method="raking", population=640.0)
    assert raked.estimate.hajek_rate == pytest.approx(ps.hajek_rate, rel=1e-10)
    w = raked.g / pik
    assert [w[post == v].sum() for v in ("mall", "shop")] == pytest.approx([210.0, 430.0])
    assert names == ["platform=mall", "platform=shop"]
