"""The take-all (certainty) stratum: copies of a failed product are bought with π = 1 and
reported apart, and every other listing keeps exactly the π the design gives it without them
(checked against the design's own π and by Monte Carlo)."""

from __future__ import annotations

import numpy as np
import pytest

from sampler.design import (
    TAKE_ALL,
    Design,
    Frame,
    design_inclusion_probabilities,
    run_design,
    take_all_split,
)
from sampler.errors import DesignInfeasible

DRAWS = 2000


def _frame() -> Frame:
    rng = np.random.default_rng(7)
    strata = np.array(["mall"] * 25 + ["shop"] * 25, dtype=object)
    strata[[2, 11, 30, 31]] = TAKE_ALL
    return Frame(ids=np.arange(100, 150), strata=strata, sizes=rng.uniform(1, 9, 50),
                 prices=rng.uniform(10, 90, 50), sellers=None, prn=rng.uniform(0, 1, 50))


@pytest.mark.parametrize("method", ["pivotal", "systematic", "pareto"])
def test_take_all_keeps_inclusion_probabilities_exact(method: str) -> None:
    frame = _frame()
    design = Design(n=10, method=method, min_per_stratum=2)
    mask, rest = take_all_split(frame)
    assert rest is not None and mask.sum() == 4
    pik, alloc = design_inclusion_probabilities(frame, design, 10)
    rest_pik, rest_alloc = design_inclusion_probabilities(rest, design, 10)
    assert np.all(pik[mask] == 1.0)
    np.testing.assert_allclose(pik[~mask], rest_pik, rtol=0, atol=1e-12)
    assert alloc == {**rest_alloc, TAKE_ALL: 4}
    counts = np.zeros(len(frame.ids))
    for r in range(DRAWS):
        rng = np.random.default_rng(r)
        if method == "pareto":  # its randomness is the permanent random numbers
            frame.prn = rng.uniform(0, 1, len(frame.ids))
        result = run_design(frame, design, rng)
        assert result.selected.size == 14 and result.allocation[TAKE_ALL] == 4
        np.testing.assert_allclose(result.pik, pik, atol=1e-12)
        counts[result.selected] += 1
    freq = counts / DRAWS
    assert np.all(freq[mask] == 1.0)
    se = np.sqrt(pik * (1 - pik) / DRAWS)
    assert np.all(np.abs(freq - pik) <= 4.5 * se + 1e-12), np.max(np.abs(freq - pik))


def test_take_all_is_paid_first_from_a_budget() -> None:
    frame = _frame()
    assert frame.prices is not None
    taken_cost = float(frame.prices[take_all_split(frame)[0]].sum())
    result = run_design(frame, Design(budget=taken_cost + 200, min_per_stratum=1),
                        np.random.default_rng(1))
    assert result.expected_cost is not None and result.expected_cost <= taken_cost + 200 + 1e-6
    assert result.expected_cost_by_stratum is not None
    assert result.expected_cost_by_stratum[TAKE_ALL] == pytest.approx(taken_cost)
    with pytest.raises(DesignInfeasible, match="take-all"):
        run_design(frame, Design(budget=taken_cost * 0.9), np.random.default_rng(1))


def test_only_take_all_units() -> None:
    frame = Frame(ids=np.arange(3), strata=np.array([TAKE_ALL] * 3, dtype=object),
                  sizes=np.ones(3))
    result = run_design(frame, Design(n=1), np.random.default_rng(0))
    assert list(result.selected) == [0, 1, 2] and np.all(result.pik == 1)
