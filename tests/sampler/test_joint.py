"""Joint inclusion probabilities against the draws themselves (second-order frequencies),
vectorised over replicates, and the variances they feed."""

from __future__ import annotations

import numpy as np
import pytest

from sampler import draw, draw_many, estimate, inclusion_probabilities
from sampler.joint import brewer_joint, hajek_joint, sampford_joint, systematic_joint
from store.errors import InvalidInput


def _pair_freq(samples: np.ndarray, N: int) -> np.ndarray:
    ind = np.zeros((samples.shape[0], N))
    np.put_along_axis(ind, samples, 1.0, axis=1)
    return ind.T @ ind / samples.shape[0]


def test_sampford_joint_matches_its_draws() -> None:
    pik = inclusion_probabilities(np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3.0]), 4)
    reps = 40_000
    freq = _pair_freq(draw_many(pik, "sampford", np.random.default_rng(1), reps), pik.size)
    exact = sampford_joint(pik)
    se = np.sqrt(exact * (1 - exact) / reps)
    assert np.all(np.abs(freq - exact) <= 4.5 * np.maximum(se, 1e-9))


def test_systematic_joint_in_a_fixed_order_matches_its_draws() -> None:
    pik = np.array([0.2, 0.7, 1.0, 0.35, 0.55, 0.9, 0.3, 0.45, 0.25, 0.6, 0.75, 0.95])
    exact = systematic_joint(pik)
    assert np.any(exact == 0)  # pairs never drawn together: HT must refuse
    rng = np.random.default_rng(3)
    reps = 3_000
    counts = np.zeros((pik.size, pik.size))
    for _ in range(reps):
        s = draw(pik, "systematic", rng, order=np.arange(pik.size))
        counts[np.ix_(s, s)] += 1
    freq = counts / reps
    se = np.sqrt(exact * (1 - exact) / reps)
    assert np.all(np.abs(freq - exact) <= 4.5 * np.maximum(se, 1e-9))
    with pytest.raises(InvalidInput, match="joint inclusion probability is 0"):
        s = np.arange(pik.size)
        estimate(np.ones(pik.size), pik, variance="ht", joint=exact[np.ix_(s, s)])


@pytest.mark.parametrize("method", ["brewer", "pivotal", "pareto"])
def test_approximate_joint_probabilities_are_close_to_the_draws(method: str) -> None:
    """Brewer's and Hájek's approximations for the methods without a closed form: within
    0.03 of the observed pair frequencies (20,000 draws; the pivotal tournament is not a
    maximum-entropy design) and Σ_l π_kl = (n−1)π_k held to a few per cent."""
    rng = np.random.default_rng(8)
    pik = inclusion_probabilities(rng.gamma(2.0, 1.0, size=25), 6)
    freq = _pair_freq(draw_many(pik, method, np.random.default_rng(2), 20_000), pik.size)
    for approx in (brewer_joint(pik, n=6), hajek_joint(pik, d=float(np.sum(pik * (1 - pik))))):
        off = approx - np.diag(np.diag(approx))
        assert np.max(np.abs(off - (freq - np.diag(np.diag(freq))))) < 0.03, method
        assert np.allclose(off.sum(axis=1), 5 * pik, rtol=0.08)


def test_ht_and_syg_variances_are_unbiased_for_sampford() -> None:
    """Over Sampford draws the mean of the HT and SYG variance estimates equals the
    Monte-Carlo variance of the HT total (5,000 replicates)."""
    pik = inclusion_probabilities(np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8.0]), 4)
    y = np.array([1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1.0])
    full = sampford_joint(pik)
    samples = draw_many(pik, "sampford", np.random.default_rng(6), 5_000)
    ht_total = (y[samples] / pik[samples]).sum(axis=1)
    v_ht, v_syg = [], []
    for s in samples[:1500]:
        j = full[np.ix_(s, s)]
        v_ht.append(estimate(y[s], pik[s], variance="ht", joint=j).overall.ht_count_se ** 2)
        v_syg.append(estimate(y[s], pik[s], variance="syg", joint=j).overall.ht_count_se ** 2)
    truth = ht_total.var()
    assert np.mean(v_ht) == pytest.approx(truth, rel=0.08)
    assert np.mean(v_syg) == pytest.approx(truth, rel=0.08)
