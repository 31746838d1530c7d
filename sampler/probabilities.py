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
        raise InvalidInput("sizes must be a one-dimensional array")
    if not np.all(np.isfinite(x)):
        raise InvalidInput("sizes must be finite numbers (found NaN or infinity)")
    if np.any(x < 0):
        raise InvalidInput("sizes must not be negative")
    return x


def inclusion_probabilities(sizes: ArrayLike, n: int, floor: float = 0.0) -> NDArray[np.float64]:
    """π_k ∝ size_k with Σπ = n, every π ≤ 1 (certainty units) and π ≥ *floor*.

    Units whose proportional share reaches 1 are fixed at 1 and the rest is re-spread over the
    others, repeatedly (the classical iterative capping); units below *floor* are lifted to it
    the same way.  *floor* is an absolute minimum inclusion probability in [0, 1); with
    ``floor=0`` a unit of size 0 gets π = 0 (it is out of the frame in effect).
    """
    x = _as_sizes(sizes)
    if isinstance(n, bool) or int(n) != n or n < 0:
        raise InvalidInput(f"sample size must be a non-negative integer, not {n!r}")
    n = int(n)
    if not 0.0 <= floor < 1.0:
        raise InvalidInput(f"floor must be in [0, 1), not {floor!r}")
    N = x.size
    eligible = (x > 0) if floor == 0 else np.ones(N, dtype=bool)
    if n > int(eligible.sum()):
        raise DesignInfeasible(
            f"cannot take {n} units from {int(eligible.sum())} with a positive size")
    if floor * N > n + 1e-9:
        raise DesignInfeasible(
            f"floor {floor:g} × {N} units = {floor * N:.1f} exceeds the sample size {n}")
    pik = np.zeros(N)
    if n == 0:
        return pik
    ones = np.zeros(N, dtype=bool)
    floored = np.zeros(N, dtype=bool)
    while True:
        free = eligible & ~ones & ~floored
        remaining = n - ones.sum() - floor * floored.sum()
        total = x[free].sum()
        pik[ones] = 1.0
        pik[floored] = floor
        if total <= 0:
            # Only zero-size units are left free: they share what remains equally.
            k = int(free.sum())
            if k and remaining > 0:
                pik[free] = remaining / k
            break
        pik[free] = remaining * x[free] / total
        new_ones = free & (pik >= 1.0 - CERTAIN_TOL)
        if new_ones.any():
            ones |= new_ones
            continue
        new_floor = free & (pik < floor)
        if new_floor.any():
            floored |= new_floor
            continue
        break
    pik[~eligible] = 0.0
    return np.clip(pik, 0.0, 1.0)


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
        raise InvalidInput("sizes and strata must have the same length")
    pik = np.zeros(x.size)
    groups = split_strata(labels)
    for label, idx in groups:
        n_h = allocation.get(label, 0)
        f = floor.get(label, 0.0) if isinstance(floor, Mapping) else floor
        pik[idx] = inclusion_probabilities(x[idx], n_h, f)
    missing = set(allocation) - {label for label, _ in groups}
    if any(allocation[m] for m in missing):
        raise InvalidInput(f"allocation names strata absent from the frame: {sorted(missing)}")
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
