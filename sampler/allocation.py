"""Allocating a sample size n over strata.

Three rules, each with a minimum per stratum (2 by default, so every stratum's variance can
be estimated) and never more than the stratum holds:

* ``proportional``: n_h ∝ N_h;
* ``neyman``: n_h ∝ N_h·S_h with S_h = √(p_h(1−p_h)) from prior non-compliance rates p_h —
  the allocation that minimises the variance of the overall rate;
* ``risk``: n_h ∝ the stratum's total risk (Σ size), buying more where risk concentrates.

Bounds are met recursively: strata pushed to their bound are fixed there and the rest of n is
re-spread over the others, until no stratum breaks a bound.  Integers come from the largest
remainders, so Σ n_h = n exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from sampler.errors import DesignInfeasible
from store.errors import InvalidInput

ALLOCATIONS = ("proportional", "neyman", "risk")
#: Prior non-compliance rate used for strata without one (Neyman allocation).
DEFAULT_PRIOR_RATE = 0.1


def _largest_remainder(shares: Mapping[Any, float], total: int,
                       caps: Mapping[Any, int]) -> dict[Any, int]:
    base = {k: min(math.floor(v), caps[k]) for k, v in shares.items()}
    left = total - sum(base.values())
    order = sorted(shares, key=lambda k: (-(shares[k] - math.floor(shares[k])), str(k)))
    while left > 0:
        moved = False
        for k in order:
            if left == 0:
                break
            if base[k] < caps[k]:
                base[k] += 1
                left -= 1
                moved = True
        if not moved:
            break
    return base


def allocate_by_weight(weights: Mapping[Any, float], sizes: Mapping[Any, int], n: int,
                       minimum: int = 2) -> dict[Any, int]:
    """n_h ∝ weights_h with minimum ≤ n_h ≤ N_h (the minimum itself capped at N_h)."""
    if n < 0:
        raise InvalidInput("allocation.sample_size_negative")
    total_units = sum(sizes.values())
    if n > total_units:
        raise DesignInfeasible("allocation.sample_size_exceeds_frame_s", n=n,
                               total_units=total_units)
    lower = {h: min(minimum, sizes[h]) for h in sizes}
    if sum(lower.values()) > n:
        raise DesignInfeasible(
            "allocation.strata_minimum_per_stratum_needs", len_sizes=len(sizes),
            minimum=minimum, sum_lower_values=sum(lower.values()), n=n)
    fixed: dict[Any, float] = {}
    while True:
        free = [h for h in sizes if h not in fixed]
        rest = n - sum(fixed.values())
        wsum = sum(max(weights.get(h, 0.0), 0.0) for h in free)
        shares = {h: (rest * max(weights.get(h, 0.0), 0.0) / wsum if wsum > 0
                      else rest / len(free)) for h in free} if free else {}
        over = [h for h in free if shares[h] > sizes[h]]
        if over:
            fixed.update({h: sizes[h] for h in over})
            continue
        under = [h for h in free if shares[h] < lower[h]]
        if under:
            fixed.update({h: lower[h] for h in under})
            continue
        break
    shares.update(fixed)
    return _largest_remainder(shares, n, dict(sizes))


def allocate(rule: str, n: int, *, sizes: Mapping[Any, int],
             risk_totals: Mapping[Any, float] | None = None,
             prior_rates: Mapping[Any, float] | None = None,
             default_prior: float = DEFAULT_PRIOR_RATE, minimum: int = 2) -> dict[Any, int]:
    """Sample size per stratum under *rule* (see the module docstring)."""
    if rule == "proportional":
        weights = {h: float(N) for h, N in sizes.items()}
    elif rule == "neyman":
        prior = prior_rates or {}
        weights = {}
        for h, N in sizes.items():
            p = float(prior.get(h, default_prior))
            if not 0.0 <= p <= 1.0:
                raise InvalidInput("allocation.prior_rate_stratum", h=h, p=p)
            # A prior of exactly 0 or 1 would starve the stratum; keep a sliver of variance.
            p = min(max(p, 0.001), 0.999)
            weights[h] = N * math.sqrt(p * (1 - p))
    elif rule == "risk":
        if risk_totals is None:
            raise InvalidInput("allocation.risk_allocation_needs_total_risk")
        weights = {h: float(risk_totals.get(h, 0.0)) for h in sizes}
    else:
        raise InvalidInput("allocation.unknown_allocation_choose_one", rule=rule,
                           join_allocations=', '.join(ALLOCATIONS))
    return allocate_by_weight(weights, sizes, n, minimum)
