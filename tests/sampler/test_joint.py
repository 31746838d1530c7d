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
    """Over 20,000 Sampford draws the mean of the HT and SYG variance estimates (vectorised
    over replicates; 20 rows checked against estimate()) equals the Monte-Carlo variance of
    the HT total."""
    pik = inclusion_probabilities(np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8.0]), 4)
    y = np.array([1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1.0])
    full = sampford_joint(pik)
    samples = draw_many(pik, "sampford", np.random.default_rng(6), 20_000)
    p = pik[samples]
    e = y[samples] / p
    pkl = full[samples[:, :, None], samples[:, None, :]]
    pp = p[:, :, None] * p[:, None, :]
    v_ht = np.einsum("ri,rij,rj->r", e, (pkl - pp) / pkl, e)
    off = (pp - pkl) / pkl
    off[:, np.arange(4), np.arange(4)] = 0.0
    v_syg = 0.5 * np.sum(off * (e[:, :, None] - e[:, None, :]) ** 2, axis=(1, 2))
    for r in range(20):
        s, j = samples[r], full[np.ix_(samples[r], samples[r])]
        assert estimate(y[s], pik[s], variance="ht", joint=j).overall.ht_count_se ** 2 == \
            pytest.approx(v_ht[r], rel=1e-9, abs=1e-12)
        assert estimate(y[s], pik[s], variance="syg", joint=j).overall.ht_count_se ** 2 == \
            pytest.approx(v_syg[r], rel=1e-9, abs=1e-12)
    truth = e.sum(axis=1).var()
    assert v_ht.mean() == pytest.approx(truth, rel=0.05)
    assert v_syg.mean() == pytest.approx(truth, rel=0.05)
