"""Pareto πps: Aires' exact inclusion probabilities and the adjusted λ, by Monte Carlo.

The draws are vectorised over replicates (one uniform matrix, one argpartition), so 200,000
replicates take a fraction of a second.
"""

from __future__ import annotations

import numpy as np
import pytest

import sampler.pareto as pareto
from sampler import DesignInfeasible, draw_many, inclusion_probabilities
from sampler.pareto import pareto_inclusion, pareto_lambda

REPS = 200_000


def classic_pareto_frequencies(lam: np.ndarray, n: int, reps: int, seed: int) -> np.ndarray:
    """Selection frequencies of Pareto πps drawn with *lam* as they are (no adjustment)."""
    u = np.random.default_rng(seed).random((reps, lam.size))
    q = (u / (1 - u)) / (lam / (1 - lam))
    sel = np.argpartition(q, n - 1, axis=1)[:, :n]
    return np.bincount(sel.ravel(), minlength=lam.size) / reps


@pytest.fixture(scope="module")
def small() -> tuple[np.ndarray, int]:
    """6 units, n = 2, d = Σλ(1−λ) ≈ 1.1: a small seller cell, where λ ≠ π shows (1.3 points
    on a λ of 0.7)."""
    return np.array([0.05, 0.1, 0.2, 0.4, 0.55, 0.7]), 2


def test_exact_pi_matches_the_draws_and_differs_from_lambda(
        small: tuple[np.ndarray, int]) -> None:
    lam, n = small
    exact = pareto_inclusion(lam, n)
    assert exact.sum() == pytest.approx(n, abs=1e-9)
    freq = classic_pareto_frequencies(lam, n, REPS, seed=2)
    se = np.sqrt(exact * (1 - exact) / REPS)
    assert np.all(np.abs(freq - exact) <= 4.5 * se)
    # the bias the adjustment removes is real: λ itself is many standard errors off
    assert np.max(np.abs(freq - lam) / se) > 8
    assert np.max(np.abs(exact - lam)) > 0.01


def test_adjusted_lambda_realises_the_target_pi(small: tuple[np.ndarray, int]) -> None:
    target, n = small
    adj = pareto_lambda(target, n)
    assert adj.exact and adj.max_error <= pareto.TOLERANCE
    assert np.allclose(pareto_inclusion(adj.lam, n), target, atol=1e-10)
    assert not np.allclose(adj.lam, target, atol=1e-3)  # it did move
    # the engine draws with the adjusted λ: frequencies = target π
    samples = draw_many(target, "pareto", np.random.default_rng(3), REPS)
    freq = np.bincount(samples.ravel(), minlength=target.size) / REPS
    se = np.sqrt(target * (1 - target) / REPS)
    assert np.all(np.abs(freq - target) <= 4.5 * se)


def test_one_draw_and_a_larger_stratum() -> None:
    """n = 1 (only the product of the others' survival functions) and N = 200, n = 8."""
    lam = np.array([0.1, 0.2, 0.3, 0.4])
    exact = pareto_inclusion(lam, 1)
    freq = classic_pareto_frequencies(lam, 1, REPS, seed=4)
    se = np.sqrt(exact * (1 - exact) / REPS)
    assert np.all(np.abs(freq - exact) <= 4.5 * se)
    big = inclusion_probabilities(np.random.default_rng(5).gamma(1.5, 1.0, size=200), 8)
    big = big[big < 1]
    m = round(big.sum())
    exact = pareto_inclusion(big, m)
    assert exact.sum() == pytest.approx(m, abs=1e-9)
    freq = classic_pareto_frequencies(big, m, 40_000, seed=6)
    se = np.sqrt(exact * (1 - exact) / 40_000)
    assert np.all(np.abs(freq - exact) <= 5.0 * np.maximum(se, 1e-9))
    adj = pareto_lambda(big, m)
    assert adj.exact and adj.iterations <= 10


def test_quadrature_does_not_depend_on_the_step(monkeypatch: pytest.MonkeyPatch,
                                                small: tuple[np.ndarray, int]) -> None:
    lam, n = small
    a = pareto_inclusion(lam, n)
    monkeypatch.setattr(pareto, "PANEL_MAX", 0.05)
    monkeypatch.setattr(pareto, "NODES", 16)
    assert np.allclose(pareto_inclusion(lam, n), a, atol=1e-12, rtol=0)


def test_an_unfinished_adjustment_reports_its_error_and_the_draw_refuses(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pareto, "MAX_ITERATIONS", 1)
    monkeypatch.setattr(pareto, "_CACHE", type(pareto._CACHE)())
    target = inclusion_probabilities(np.arange(1.0, 9.0), 3)
    adj = pareto_lambda(target, 3)
    assert not adj.exact
    assert adj.error.shape == target.shape and adj.max_error > pareto.TOLERANCE
    # the error is the computed |π(λ) − target| of the λ returned, per unit
    assert np.allclose(adj.error, np.abs(pareto_inclusion(adj.lam, 3) - target), atol=1e-15)
    with pytest.raises(DesignInfeasible, match="could not be adjusted"):
        draw_many(target, "pareto", np.random.default_rng(0), 10)


def test_bad_lambda_is_refused() -> None:
    from store.errors import InvalidInput

    with pytest.raises(InvalidInput):
        pareto_inclusion([0.5, 1.0, 0.5], 1)
    with pytest.raises(InvalidInput):
        pareto_inclusion([0.5, 0.5], 2)
