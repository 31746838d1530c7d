"""A stratified πps design on a frame held in arrays: allocation, π, constraints, draw.

This is the pure part of drawing a purchase plan (no database): :mod:`sampler.plans` builds
the frame from listings and stores the result; ``spotcheck sample`` feeds it a CSV.

Constraints and how they keep the estimates honest:

* **n or budget** — with a budget, n is the largest sample whose *expected* purchase cost
  Σ π_k·price_k stays within it (missing prices count at their stratum's median price).
* **maximum per seller K** — π is first capped so that no seller's expected number of buys
  exceeds K (the mass removed is re-spread inside the same stratum).  The draw then keeps
  both every stratum's n_h and the maximum, for every method: seller × stratum counts by
  unbiased controlled rounding, the method within each seller's share
  (:mod:`sampler.seller_cap`); π stays exact.
* **floor** — every eligible unit keeps π ≥ floor_ratio × n_h/N_h, so no listing is
  excluded by a low risk score (the HT estimator stays unbiased).
* **srs** — simple random sampling within strata: π = n_h/N_h whatever the sizes (risk
  scores still decide the allocation when it is ``risk``).
* **take-all** — units whose stratum is :data:`TAKE_ALL` (copies of a product that failed
  elsewhere, sampler.products) are all bought, π = 1, on top of n (a budget pays for them
  first); the design is run on the other units exactly as it would be without them, so their
  π and the estimates from them stay as designed, and the take-all stratum is reported apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sampler.allocation import ALLOCATIONS, allocate
from sampler.errors import DesignInfeasible
from sampler.methods import METHODS, draw_stratified
from sampler.probabilities import split_strata, stratified_inclusion_probabilities
from sampler.seller_cap import SCHEME, draw_seller_capped, layout, seller_labels
from store.errors import InvalidInput

DEFAULT_METHOD = "pivotal"
#: The stratum of units bought with certainty (π = 1) outside the probability design.
TAKE_ALL = "take-all"
DEFAULT_ALLOCATION = "risk"


@dataclass(frozen=True)
class Design:
    """What to draw: method, allocation and constraints (stored with every plan)."""

    method: str = DEFAULT_METHOD
    allocation: str = DEFAULT_ALLOCATION
    n: int | None = None
    budget: float | None = None
    min_per_stratum: int = 2
    #: Minimum π of a unit as a fraction of its stratum's sampling rate n_h / N_h.
    floor_ratio: float = 0.1
    max_per_seller: int | None = None
    #: Prior non-compliance rate per stratum (Neyman allocation); "*" is the default.
    prior_rates: dict[str, float] = field(default_factory=dict)
    #: Pareto only: added to every permanent random number modulo 1 (0: positive coordination
    #: with earlier Pareto plans, 0.5: keep away from them).
    prn_shift: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidInput("design.unknown_method_choose_one", self_method=self.method,
                               join_methods=', '.join(METHODS))
        if self.allocation not in ALLOCATIONS:
            raise InvalidInput("design.unknown_allocation_choose_one",
                               self_allocation=self.allocation,
                               join_allocations=', '.join(ALLOCATIONS))
        if (self.n is None) == (self.budget is None):
            raise InvalidInput("design.give_sample_size_n_budget")
        if self.n is not None and self.n < 1:
            raise InvalidInput("design.sample_size_n_least")
        if self.budget is not None and self.budget <= 0:
            raise InvalidInput("design.budget_positive")
        if self.min_per_stratum < 0:
            raise InvalidInput("design.min_per_stratum_negative")
        if not 0 <= self.floor_ratio < 1:
            raise InvalidInput("design.floor_ratio")
        if self.max_per_seller is not None and self.max_per_seller < 1:
            raise InvalidInput("design.max_per_seller_least")
        if not 0 <= self.prn_shift < 1:
            raise InvalidInput("design.prn_shift")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Design:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidInput("design.unknown_design_fields",
                               join_sorted_unknown=', '.join(sorted(unknown)))
        return cls(**dict(data))


@dataclass
class Frame:
    """The population to draw from, one entry per unit, in a fixed order."""

    ids: NDArray[Any]
    strata: NDArray[Any]
    sizes: NDArray[np.float64]
    prices: NDArray[np.float64] | None = None  # NaN where unknown
    sellers: NDArray[Any] | None = None
    prn: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        n = len(self.ids)
        for name in ("strata", "sizes", "prices", "sellers", "prn"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise InvalidInput("design.frame_column_has_entries", name=name,
                                   len_value=len(value), n=n)
        if n == 0:
            raise InvalidInput("design.frame_empty_eligible_unit_draw")


@dataclass
class DrawResult:
    selected: NDArray[np.intp]
    pik: NDArray[np.float64]
    allocation: dict[Any, int]
    stratum_sizes: dict[Any, int]
    n: int
    expected_cost: float | None
    seller_capped: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    #: Expected purchase cost Σπ·price of each stratum (None without prices).
    expected_cost_by_stratum: dict[Any, float] | None = None
    #: How the per-seller maximum was kept (None without one): scheme and capped sellers.
    seller_cap: dict[str, Any] | None = None


def _stratum_stats(frame: Frame) -> tuple[dict[Any, int], dict[Any, float]]:
    sizes: dict[Any, int] = {}
    risk: dict[Any, float] = {}
    for label, idx in split_strata(frame.strata):
        sizes[label] = int(idx.size)
        risk[label] = float(frame.sizes[idx].sum())
    return sizes, risk


def filled_prices(frame: Frame) -> NDArray[np.float64] | None:
    """Prices with gaps filled by the stratum's median (else the frame's median)."""
    if frame.prices is None:
        return None
    price = np.asarray(frame.prices, dtype=np.float64).copy()
    known = np.isfinite(price)
    if known.all():  # nothing to fill (this runs before every draw: no medians then)
        return price
    if not known.any():
        return None
    overall = float(np.median(price[known]))
    for _, idx in split_strata(frame.strata):
        sub = price[idx]
        ok = np.isfinite(sub)
        sub[~ok] = float(np.median(sub[ok])) if ok.any() else overall
        price[idx] = sub
    return price


def _pik_for(frame: Frame, design: Design, n: int, sizes: dict[Any, int],
             risk: dict[Any, float]) -> tuple[NDArray[np.float64], dict[Any, int],
                                              NDArray[np.bool_]]:
    prior = {str(k): float(v) for k, v in design.prior_rates.items()}
    default_prior = prior.pop("*", None)
    kwargs: dict[str, Any] = {"prior_rates": {h: prior[str(h)] for h in sizes if str(h) in prior}}
    if default_prior is not None:
        kwargs["default_prior"] = default_prior
    alloc = allocate(design.allocation, n, sizes=sizes, risk_totals=risk,
                     minimum=design.min_per_stratum, **kwargs)
    if design.method == "srs":
        # Equal probability within strata: the risk scores do not enter π.
        pik = stratified_inclusion_probabilities(np.ones(len(frame.ids)), frame.strata, alloc)
    else:
        floors = {h: min(design.floor_ratio * alloc[h] / sizes[h], alloc[h] / sizes[h])
                  for h in sizes}
        pik = stratified_inclusion_probabilities(frame.sizes, frame.strata, alloc, floors)
    capped = np.zeros(pik.size, dtype=bool)
    if design.max_per_seller is not None and frame.sellers is not None:
        pik, capped = cap_sellers(pik, frame.strata, frame.sellers, design.max_per_seller)
    return pik, alloc, capped


def take_all_split(frame: Frame) -> tuple[NDArray[np.bool_], Frame | None]:
    """(which units are in the take-all stratum, the frame of the others — None when every
    unit is taken)."""
    strata = np.asarray(frame.strata)
    if strata.dtype.kind in "USO":  # compared in C: this runs before every draw
        mask = np.asarray(strata == TAKE_ALL, dtype=bool).reshape(-1)
    else:  # numeric stratum labels cannot be the take-all one
        mask = np.zeros(len(strata), dtype=bool)
    if not mask.any() or mask.all():
        return mask, None
    keep = ~mask

    def part(col: Any) -> Any:
        return None if col is None else np.asarray(col)[keep]

    return mask, Frame(ids=np.asarray(frame.ids)[keep], strata=np.asarray(frame.strata)[keep],
                       sizes=np.asarray(frame.sizes)[keep], prices=part(frame.prices),
                       sellers=part(frame.sellers), prn=part(frame.prn))


def design_inclusion_probabilities(frame: Frame, design: Design, n: int,
                                   ) -> tuple[NDArray[np.float64], dict[Any, int]]:
    """π of every frame unit and the allocation for sample size *n* (no draw, no randomness):
    what a plan's pre-registration records and what anyone can recompute from the frame."""
    mask, rest = take_all_split(frame)
    if mask.any():
        pik = np.ones(len(frame.ids))
        alloc: dict[Any, int] = {TAKE_ALL: int(mask.sum())}
        if rest is not None:
            pik[~mask], rest_alloc = design_inclusion_probabilities(rest, design, n)
            alloc = {**rest_alloc, **alloc}
        return pik, alloc
    sizes, risk = _stratum_stats(frame)
    pik, alloc, _ = _pik_for(frame, design, n, sizes, risk)
    return pik, alloc


def cap_sellers(pik: NDArray[np.float64], strata: NDArray[Any], sellers: NDArray[Any],
                limit: int, max_rounds: int = 200) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """π with every seller's Σπ ≤ *limit*; the mass taken off is re-spread in each stratum.

    Units without a seller (None/empty) are their own sellers.  Raises when a stratum has no
    room left to take the mass (too many units belong to capped sellers).
    """
    p = pik.copy()
    _, scode = np.unique(seller_labels(sellers), return_inverse=True)
    _, hcode = np.unique(np.asarray(strata), return_inverse=True)
    target = np.bincount(hcode, weights=p)
    at_cap = np.zeros(p.size, dtype=bool)
    for _ in range(max_rounds):
        tot = np.bincount(scode, weights=p)
        over = tot > limit + 1e-9
        if over.any():
            p = p * np.where(over, limit / np.where(over, tot, 1.0), 1.0)[scode]
        at_cap = (np.bincount(scode, weights=p) >= limit - 1e-9)[scode]
        deficit = target - np.bincount(hcode, weights=p, minlength=target.size)
        if np.all(np.abs(deficit) < 1e-9):
            return np.clip(p, 0.0, 1.0), at_cap
        recv = ~at_cap & (p > 0) & (p < 1.0 - 1e-12)
        base = np.bincount(hcode, weights=np.where(recv, p, 0.0), minlength=target.size)
        short = (deficit > 1e-9) & (base <= 0)
        if short.any():
            raise DesignInfeasible(
                "design.maximum_per_seller_leaves_strata", limit=limit,
                int_short_sum=int(short.sum()))
        p = np.minimum(p + np.where(recv, p * (deficit / np.where(base > 0, base, 1.0))[hcode],
                                    0.0), 1.0)
    raise DesignInfeasible("design.could_spread_under_maximum_per", limit=limit)


def run_design(frame: Frame, design: Design, rng: np.random.Generator) -> DrawResult:
    """Allocate, compute π, apply the constraints and draw one sample."""
    mask, rest = take_all_split(frame)
    if mask.any():
        return _with_take_all(frame, design, rng, mask, rest)
    sizes, risk = _stratum_stats(frame)
    N = len(frame.ids)
    prices = filled_prices(frame)
    if design.budget is not None:
        if prices is None:
            raise InvalidInput("design.budget_needs_listing_prices_frame")
        n = _largest_n_within_budget(frame, design, sizes, risk, prices, design.budget)
    else:
        assert design.n is not None
        if design.n > N:
            raise DesignInfeasible("design.sample_size_exceeds_frame_s", design_n=design.n, N=N)
        n = design.n
    pik, alloc, capped = _pik_for(frame, design, n, sizes, risk)
    prn = None
    if design.method == "pareto":
        if frame.prn is None:
            raise InvalidInput("design.pareto_needs_permanent_random_numbers")
        prn = np.mod(np.asarray(frame.prn, dtype=np.float64) + design.prn_shift, 1.0)
        prn = np.clip(prn, 1e-12, 1 - 1e-12)
    cap_info: dict[str, Any] | None = None
    if design.max_per_seller is not None and frame.sellers is not None:
        lay = layout(pik, frame.strata, frame.sellers, design.max_per_seller)
        cap_info = {"max_per_seller": design.max_per_seller, "scheme": SCHEME,
                    "sellers_that_could_exceed": lay.capped_sellers,
                    "sellers_with_pi_reduced": _count_reduced(frame, capped)}
        selected = draw_seller_capped(pik, frame.strata, frame.sellers, design.max_per_seller,
                                      design.method, rng, prn)
        # The scheme guarantees it; checked anyway, since a plan breaking it must never
        # reach a supervisor.
        _check_sellers(frame, selected, design.max_per_seller, design.method)
    else:
        selected = draw_stratified(pik, frame.strata, design.method, rng, prn)
    _check_allocation(frame, selected, alloc)
    cost = float(np.sum(pik * prices)) if prices is not None else None
    by_stratum = None if prices is None else {
        label: float(np.sum(pik[idx] * prices[idx])) for label, idx in split_strata(frame.strata)}
    return DrawResult(selected=selected, pik=pik, allocation=alloc, stratum_sizes=sizes, n=n,
                      expected_cost=cost, seller_capped=capped, seller_cap=cap_info,
                      expected_cost_by_stratum=by_stratum)


def _with_take_all(frame: Frame, design: Design, rng: np.random.Generator,
                   mask: NDArray[np.bool_], rest: Frame | None) -> DrawResult:
    """Every take-all unit with π = 1, and the design run on the others alone."""
    taken = np.nonzero(mask)[0]
    prices = filled_prices(frame)
    take_cost = float(np.sum(prices[mask])) if prices is not None else None
    if rest is None:
        return DrawResult(selected=taken, pik=np.ones(len(frame.ids)),
                          allocation={TAKE_ALL: int(taken.size)},
                          stratum_sizes={TAKE_ALL: int(taken.size)}, n=int(taken.size),
                          expected_cost=take_cost, seller_capped=np.zeros(len(frame.ids), bool),
                          expected_cost_by_stratum=None if take_cost is None
                          else {TAKE_ALL: take_cost})
    rest_design = design
    if design.budget is not None:
        left = design.budget - (take_cost or 0.0)
        if left <= 0:
            raise DesignInfeasible("design.take_all_stratum_alone_listings",
                                   taken_size=taken.size, take_cost=take_cost,
                                   design_budget=design.budget)
        rest_design = replace(design, budget=left)
    res = run_design(rest, rest_design, rng)
    others = np.nonzero(~mask)[0]
    pik = np.ones(len(frame.ids))
    pik[others] = res.pik
    capped = np.zeros(len(frame.ids), dtype=bool)
    if res.seller_capped.size:
        capped[others] = res.seller_capped
    by_stratum = None
    if res.expected_cost_by_stratum is not None and take_cost is not None:
        by_stratum = {**res.expected_cost_by_stratum, TAKE_ALL: take_cost}
    return DrawResult(
        selected=np.sort(np.concatenate([taken, others[res.selected]])).astype(np.intp),
        pik=pik, allocation={**res.allocation, TAKE_ALL: int(taken.size)},
        stratum_sizes={**res.stratum_sizes, TAKE_ALL: int(taken.size)},
        n=res.n + int(taken.size),
        expected_cost=None if res.expected_cost is None or take_cost is None
        else res.expected_cost + take_cost,
        seller_capped=capped, seller_cap=res.seller_cap, expected_cost_by_stratum=by_stratum)


def _count_reduced(frame: Frame, capped: NDArray[np.bool_]) -> int:
    assert frame.sellers is not None
    if not capped.any():
        return 0
    return int(np.unique(np.asarray(frame.sellers, dtype=object)[capped].astype(str)).size)


def _check_allocation(frame: Frame, selected: NDArray[np.intp], alloc: dict[Any, int]) -> None:
    """Every stratum drew exactly its allocation (the plan's own numbers must agree)."""
    labels, counts = np.unique(np.asarray(frame.strata)[selected], return_counts=True)
    drawn = {str(k): int(c) for k, c in zip(labels.tolist(), counts.tolist(), strict=True)}
    wrong = {str(h): (n_h, drawn.get(str(h), 0)) for h, n_h in alloc.items()
             if drawn.get(str(h), 0) != n_h}
    if wrong:
        raise DesignInfeasible("design.draw_does_not_match_allocation",
                               strata=", ".join(f"{h} ({a} / {d})"
                                                for h, (a, d) in sorted(wrong.items())))


def _check_sellers(frame: Frame, selected: NDArray[np.intp], limit: int, method: str) -> None:
    assert frame.sellers is not None
    picked = [s for s in np.asarray(frame.sellers, dtype=object)[selected]
              if s is not None and s != ""]
    values, counts = np.unique(np.array(picked, dtype=str), return_counts=True)
    over = {str(v): int(c) for v, c in zip(values, counts, strict=True) if c > limit}
    if over:
        worst = ", ".join(f"{k}: {v}" for k, v in sorted(over.items())[:5])
        raise DesignInfeasible(
            "design.sample_buys_more_than_from", method=method, limit=limit, len_over=len(over),
            worst=worst)


def _largest_n_within_budget(frame: Frame, design: Design, sizes: dict[Any, int],
                             risk: dict[Any, float], prices: NDArray[np.float64],
                             budget: float) -> int:
    """Binary search for the largest n whose expected purchase cost fits the budget."""
    H = len(sizes)
    lo = min(sum(min(design.min_per_stratum, N_h) for N_h in sizes.values()), len(frame.ids))
    lo = max(lo, 1)

    def cost(n: int) -> float:
        try:
            pik, _, _ = _pik_for(frame, design, n, sizes, risk)
        except DesignInfeasible:
            return math.inf  # e.g. more buys than the per-seller maximum allows
        return float(np.sum(pik * prices))

    smallest = cost(lo)
    if smallest > budget:
        if not math.isfinite(smallest):
            raise DesignInfeasible("design.smallest_sample_infeasible", n=lo)
        raise DesignInfeasible("design.smallest_sample_over_budget", n=lo,
                               minimum=design.min_per_stratum, strata=H, cost=smallest,
                               budget=budget)
    hi = len(frame.ids)
    if cost(hi) <= budget:
        return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if cost(mid) <= budget:
            lo = mid
        else:
            hi = mid
    return lo
