"""Inclusion probabilities proportional to size, capped at 1 and floored above 0.

Why a floor: a unit whose inclusion probability is 0 can never be bought, so the
Horvitz–Thompson estimator silently ignores it and is biased.  A small floor keeps every
eligible listing in play while still concentrating purchases on risky ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sampler.errors import DesignInfeasible
from store.errors import InvalidInput

#: π at or above 1 - CERTAIN_TOL is a certainty unit.
CERTAIN_TOL = 1e-9


def _as_sizes(sizes: ArrayLike) -> NDArray[np.float64]:
    x = np.asarray(sizes, dtype=np.float64)
    if x.ndim != 1:
        raise InvalidInput("probabilities.sizes_one_dimensional_array")
    if not np.all(np.isfinite(x)):
        raise InvalidInput("probabilities.sizes_finite_numbers_found_nan")
    if np.any(x < 0):
        raise InvalidInput("probabilities.sizes_negative")
    return x


def inclusion_probabilities(sizes: ArrayLike, n: int, floor: float = 0.0) -> NDArray[np.float64]:
    """π_k = min(1, max(*floor*, c·size_k)) with the one c that makes Σπ = n.

    This is the fixed point the classical iterative capping aims at (units whose share reaches
    1 become certainty units, the rest is re-spread), solved directly: the function
    c ↦ Σ min(1, max(floor, c·x)) is piecewise linear and increasing, so c is found between
    two of its breakpoints (f/x_k and 1/x_k).  Solving it as one equation, rather than by
    fixing units at 1 and then lifting others to the floor, is what releases a unit that no
    longer needs capping once the floor has taken its mass (fixing it at 1 for good gave
    π = 1 to a unit whose share was 0.773).  Without a floor the result is R's
    ``sampling::inclusionprobabilities`` (checked against its output in the tests).

    *floor* is an absolute minimum inclusion probability in [0, 1); with ``floor=0`` a unit of
    size 0 gets π = 0 (it is out of the frame in effect).
    """
    x = _as_sizes(sizes)
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise InvalidInput("probabilities.sample_size_non_negative_integer", n=n)
    n = int(n)
    if not 0.0 <= floor < 1.0:
        raise InvalidInput("probabilities.floor", floor=floor)
    N = x.size
    eligible = (x > 0) if floor == 0 else np.ones(N, dtype=bool)
    if n > int(eligible.sum()):
        raise DesignInfeasible(
            "probabilities.cannot_take_units_from_positive", n=n,
            int_eligible_sum=int(eligible.sum()))
    if floor * N > n + 1e-9:
        raise DesignInfeasible(
            "probabilities.floor_units_exceeds_sample_size", floor=floor, N=N,
            floor_n=floor * N, n=n)
    pik = np.zeros(N)
    if n == 0:
        return pik
    pos = x > 0
    zero = eligible & ~pos
    n_pos = int(pos.sum())
    if n_pos + floor * int(zero.sum()) <= n + 1e-12:
        # Even with every sized unit certain the floor does not reach n: the zero-size units
        # share what remains equally (all of it when no unit has a size).
        pik[pos] = 1.0
        if zero.any():
            pik[zero] = (n - n_pos) / int(zero.sum())
        return np.clip(pik, 0.0, 1.0)
    c = _solve_scale(x[pos], n - floor * int(zero.sum()), floor)
    pik[zero] = floor
    pik[pos] = np.clip(c * x[pos], floor, 1.0)
    # Certainty units within CERTAIN_TOL of 1 are made exactly 1, and the free units take up
    # the rounding so that Σπ = n holds to the last bit the floats allow.
    ones = pos & (pik >= 1.0 - CERTAIN_TOL)
    fixed = ones | (pos & (c * x <= floor)) | zero
    free = pos & ~fixed
    pik[ones] = 1.0
    if free.any():
        rest = n - pik[fixed].sum()
        pik[free] = rest * x[free] / x[free].sum()
    return np.clip(pik, 0.0, 1.0)


def _solve_scale(x: NDArray[np.float64], target: float, floor: float) -> float:
    """The c ≥ 0 with Σ min(1, max(floor, c·x_k)) = target (x > 0), solved exactly.

    g(c) = Σ min(1, max(floor, c·x_k)) is continuous, non-decreasing and linear between its
    breakpoints 1/x_k and f/x_k.  Binary searches over those (sorted once with the sizes;
    each step two binary searches over the sizes and a prefix sum) find the segment where g
    reaches *target*; on it the units at 1, at the floor and in between are fixed, so c is
    the root of one linear equation.  ⌈log₂ 2N⌉ steps where a bisection on c took some 60
    (it was a quarter of every draw's time), and the same π to the last bit.
    """
    xs = np.sort(x)
    cum = np.concatenate(([0.0], np.cumsum(xs)))
    m = xs.size

    def parts(c: float) -> tuple[int, int, float]:
        """At c: units at 1 (c·x ≥ 1), units at the floor (c·x ≤ f), Σx of the others."""
        n_one = m - int(np.searchsorted(xs, 1.0 / c, side="left"))
        n_floor = min(int(np.searchsorted(xs, floor / c, side="right")), m - n_one)
        return n_one, n_floor, float(cum[m - n_one] - cum[n_floor])

    def reaches(c: float) -> bool:
        n_one, n_floor, mid = parts(c)
        return n_one + floor * n_floor + c * mid >= target

    def first_reaching(knots: NDArray[np.float64]) -> int:
        """The first index whose knot reaches target (knots ascending; len when none)."""
        lo_i, hi_i = 0, int(knots.size)
        while lo_i < hi_i:
            mid_i = (lo_i + hi_i) // 2
            if reaches(float(knots[mid_i])):
                hi_i = mid_i
            else:
                lo_i = mid_i + 1
        return lo_i

    # The segment (lo, hi] of c: first between two knots 1/x, then between the knots f/x
    # that fall inside it.
    lo, hi = 0.0, float(1.0 / xs[0])
    ones = 1.0 / xs[::-1]
    i = first_reaching(ones)
    if i >= m:
        return hi
    hi = float(ones[i])
    lo = float(ones[i - 1]) if i > 0 else 0.0
    if floor > 0:
        floors = floor * ones
        inside = floors[np.searchsorted(floors, lo, side="right"):
                        np.searchsorted(floors, hi, side="left")]
        j = first_reaching(inside)
        if j < inside.size:
            hi = float(inside[j])
        if j > 0:
            lo = float(inside[j - 1])
    n_one, n_floor, slope = parts(0.5 * (lo + hi)) if lo < hi else parts(hi)
    if slope <= 0.0:  # g is flat on this segment, equal to target: any c in it will do
        return hi
    c = (target - n_one - floor * n_floor) / slope
    return min(max(c, lo), hi)


def stratified_inclusion_probabilities(
    sizes: ArrayLike,
    strata: ArrayLike,
    allocation: Mapping[Any, int],
    floor: float | Mapping[Any, float] = 0.0,
) -> NDArray[np.float64]:
    """π within each stratum: :func:`inclusion_probabilities` with that stratum's n_h.

    *floor* may be one number or a number per stratum (e.g. a fraction of n_h / N_h).
    """
    x = _as_sizes(sizes)
    labels = np.asarray(strata)
    if labels.shape != x.shape:
        raise InvalidInput("probabilities.sizes_strata_have_same_length")
    pik = np.zeros(x.size)
    groups = split_strata(labels)
    for label, idx in groups:
        n_h = allocation.get(label, 0)
        f = floor.get(label, 0.0) if isinstance(floor, Mapping) else floor
        pik[idx] = inclusion_probabilities(x[idx], n_h, f)
    missing = set(allocation) - {label for label, _ in groups}
    if any(allocation[m] for m in missing):
        raise InvalidInput("probabilities.allocation_names_strata_absent_from",
                           sorted_missing=sorted(missing))
    return pik


def split_strata(strata: ArrayLike) -> Sequence[tuple[Any, NDArray[np.intp]]]:
    """(label, indices) per stratum, in sorted label order; one sort, no per-stratum scans."""
    labels = np.asarray(strata)
    if labels.size == 0:
        return []
    uniq, codes = np.unique(labels, return_inverse=True)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(uniq.size + 1))
    return [(_py(uniq[i]), order[bounds[i]:bounds[i + 1]]) for i in range(uniq.size)]


def _py(value: Any) -> Any:
    """A NumPy scalar as the plain Python value (dict keys, JSON)."""
    return value.item() if hasattr(value, "item") else value
