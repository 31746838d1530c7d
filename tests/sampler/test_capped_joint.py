"""Joint inclusion probabilities of the seller-capped design, checked by Monte Carlo.

One set of roundings draws the samples (membership matrix, vectorised over replicates inside
cells); an independent set estimates the cell-pair probabilities of ``capped_joint``.
"""

from __future__ import annotations

import numpy as np
import pytest

from sampler.design import cap_sellers
from sampler.probabilities import stratified_inclusion_probabilities
from sampler.seller_cap import (
    capped_joint,
    draw_seller_capped_many,
    layout,
    rounding_replicates,
)
from tests.sampler.test_plan_draw import market

REPS = 3000


@pytest.fixture(scope="module")
def design() -> dict:
    frame = market(N=120, sellers=30, seed=8)
    alloc = {h: 3 for h in np.unique(frame.strata).tolist()}
    pik = stratified_inclusion_probabilities(frame.sizes, frame.strata, alloc, 0.01)
    pik, _ = cap_sellers(pik, frame.strata, frame.sellers, 2)
    lay = layout(pik, frame.strata, frame.sellers, 2)
    assert lay.capped_sellers >= 5
    draws = rounding_replicates(lay, np.random.default_rng(11), REPS)
    estimate = rounding_replicates(lay, np.random.default_rng(12), REPS)
    return {"frame": frame, "pik": pik, "n": sum(alloc.values()), "draws": draws,
            "estimate": estimate}


def _members(d: dict, method: str) -> np.ndarray:
    f = d["frame"]
    return draw_seller_capped_many(d["pik"], f.strata, f.sellers, 2, method,
                                   np.random.default_rng(13), REPS, counts=d["draws"])


def _joint(d: dict, method: str):
    f = d["frame"]
    return capped_joint(d["pik"], f.strata, f.sellers, 2, method, np.arange(d["pik"].size),
                        np.random.default_rng(0), counts=d["estimate"])


@pytest.mark.parametrize("method", ["sampford", "pivotal"])
def test_pair_frequencies_match_the_capped_joint(design: dict, method: str) -> None:
    member = _members(design, method).astype(np.float64)
    freq = member.T @ member / REPS
    cj = _joint(design, method)
    assert np.allclose(np.diag(cj.matrix), design["pik"], atol=1e-12)
    assert np.allclose(cj.matrix, cj.matrix.T)
    off = ~np.eye(freq.shape[0], dtype=bool)
    diff = np.abs(freq - cj.matrix)[off]
    if method == "sampford":
        # exact within cells; both sides Monte Carlo over REPS: SE of the difference
        se = np.sqrt(2 * cj.matrix * (1 - cj.matrix) / REPS)[off]
        assert np.all(diff <= 5 * se + 1e-9), float(np.max(diff / np.maximum(se, 1e-9)))
        assert "sampford exact" in cj.within
    else:
        # Brewer's approximation inside cells (pivotal has no closed form), as without a cap
        assert diff.max() < 0.03
    # the capped design is not independent across strata: some cross-stratum π_kl ≠ π_kπ_l
    strata = design["frame"].strata
    cross = strata[:, None] != strata[None, :]
    dev = np.abs(cj.matrix - np.outer(design["pik"], design["pik"]))[cross]
    assert dev.max() > 0.01


def test_variance_estimators_of_the_capped_design(design: dict) -> None:
    """What each variance estimator does on a Sampford capped design (3,000 replicates).

    * the population SYG formula with the capped π_kl reproduces the Monte-Carlo variance of
      the HT total (so the π_kl are right);
    * but pairs with π_kl = 0 exist (units of one seller in a cell that gets at most one
      draw), so the SYG *estimator* averages to the formula minus those pairs' share — a
      large underestimate, which is why plans do not default to it;
    * the with-replacement form (R survey's for a probs-only design) is the least biased
      here, Deville's approximation is lower;
    * estimate(..., joint_scope="design") equals the vectorised SYG row by row.
    """
    from sampler import estimate

    pik, n = design["pik"], design["n"]
    strata = design["frame"].strata
    y = (np.random.default_rng(4).random(pik.size) < 0.25).astype(float)
    member = _members(design, "sampford")
    samples = np.nonzero(member)[1].reshape(REPS, n)
    full = _joint(design, "sampford").matrix
    p = pik[samples]
    e = y[samples] / p
    truth = e.sum(axis=1).var()
    E = y / pik
    pair = 0.5 * (np.outer(pik, pik) - full) * (E[:, None] - E[None, :]) ** 2
    formula = pair.sum()
    zero = full < 1e-12
    missing = pair[zero].sum()
    assert zero.sum() > 0
    assert formula == pytest.approx(truth, rel=0.15)
    pkl = full[samples[:, :, None], samples[:, None, :]]
    pp = p[:, :, None] * p[:, None, :]
    w = (pp - pkl) / pkl
    w[:, np.arange(n), np.arange(n)] = 0.0
    v_syg = 0.5 * np.sum(w * (e[:, :, None] - e[:, None, :]) ** 2, axis=(1, 2))
    assert v_syg.mean() == pytest.approx(formula - missing, rel=0.1)
    assert v_syg.mean() < 0.7 * truth
    rows = range(300)
    v = {m: np.mean([estimate(y[s], pik[s], strata=strata[s], variance=m).overall
                     .ht_count_se ** 2 for s in samples[rows]]) for m in ("wr", "deville")}
    assert 0.85 * truth < v["wr"] < 1.3 * truth
    assert v["deville"] < v["wr"]
    checked = 0
    for r in np.flatnonzero(v_syg > 0)[:5]:
        s = samples[r]
        o = estimate(y[s], pik[s], strata=strata[s], variance="syg",
                     joint=full[np.ix_(s, s)], joint_scope="design").overall
        assert o.ht_count_se ** 2 == pytest.approx(v_syg[r], rel=1e-9, abs=1e-12)
        assert "across strata" in o.variance_method
        checked += 1
    assert checked == 5
