"""Fixed-size without-replacement selection from inclusion probabilities.

Every method takes the vector π (Σπ = n, an integer) and returns selected indices whose
inclusion probabilities are π — exactly for ``systematic``, ``pivotal``, ``sampford``,
``brewer`` and ``srs``; for ``pareto`` to 1e-10: Pareto's own inclusion probabilities differ
from its ranking parameters λ by O(1/d), d = Σλ(1−λ) (Rosén 1997), so it draws with the λ
adjusted until its exact π (Aires 1999, numerical integration) equal the target
(:mod:`sampler.pareto`).  Units with π = 1 are certainty units and are
always taken; units with π = 0 never are.  All methods are vectorised over *replicates*
(:func:`draw_many`), which is how the Monte Carlo tests and the benchmark run 10⁴–10⁵ draws
in seconds.

References: Tillé, *Sampling Algorithms* (2006); Deville & Tillé (1998) for the pivotal
method; Brewer (1975); Sampford (1967); Rosén (1997) for Pareto πps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sampler.errors import DesignInfeasible
from sampler.pareto import pareto_lambda
from sampler.probabilities import CERTAIN_TOL, split_strata
from store.errors import InvalidInput

METHODS: tuple[str, ...] = ("systematic", "pivotal", "sampford", "brewer", "pareto", "srs")
#: Methods whose realised inclusion probabilities equal π exactly (pareto: to 1e-10 after
#: its λ adjustment, see :mod:`sampler.pareto`).
EXACT_METHODS = frozenset({"systematic", "pivotal", "sampford", "brewer", "srs", "pareto"})
#: How many rejected attempts per wanted sample Sampford may spend before giving up.
SAMPFORD_MAX_ATTEMPTS = 2000

IntArray = NDArray[np.intp]
FloatArray = NDArray[np.float64]


def _check_pik(pik: ArrayLike) -> tuple[FloatArray, int]:
    p = np.asarray(pik, dtype=np.float64)
    if p.ndim != 1:
        raise InvalidInput("methods.inclusion_probabilities_one_dimensional_array")
    if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1 + 1e-9):
        raise InvalidInput("methods.inclusion_probabilities_lie")
    total = float(p.sum())
    n = round(total)
    if abs(total - n) > 1e-6 * max(1.0, total):
        raise DesignInfeasible(
            "methods.integer_fixed_size_design_needs", total=total)
    return np.minimum(p, 1.0), n


def _split(p: FloatArray, n: int) -> tuple[IntArray, IntArray, FloatArray, int]:
    """(certainty indices, fractional indices, their π, how many fractional units to take)."""
    certain = np.flatnonzero(p >= 1.0 - CERTAIN_TOL)
    frac = np.flatnonzero((p > 1e-12) & (p < 1.0 - CERTAIN_TOL))
    m = n - certain.size
    pf = p[frac]
    if m < 0 or m > frac.size:
        raise DesignInfeasible("methods.cannot_take_units_from_fractional", m=m,
                               frac_size=frac.size)
    if frac.size:
        # Rescale the tiny floating drift so that the fractional π sum to m exactly.
        s = pf.sum()
        if s > 0:
            pf = pf * (m / s)
        if np.any(pf >= 1.0):
            pf = np.minimum(pf, 1.0 - CERTAIN_TOL)
    return certain, frac, pf, m


def _row_searchsorted(cum: FloatArray, points: FloatArray) -> IntArray:
    """searchsorted row by row (cum: reps × N increasing per row, points: reps × k)."""
    reps, N = cum.shape
    span = np.maximum(cum[:, -1], points.max(axis=1) if points.size else 0) + 1.0
    offset = np.concatenate(([0.0], np.cumsum(span)[:-1]))[:, None]
    flat = np.searchsorted((cum + offset).ravel(), (points + offset).ravel(), side="right")
    idx = flat.reshape(points.shape) - (np.arange(reps) * N)[:, None]
    return np.clip(idx, 0, N - 1)


def _systematic(p: FloatArray, m: int, rng: np.random.Generator, reps: int,
                order: IntArray | None = None) -> IntArray:
    """Randomised systematic πps: random order, cumulated π, picks at u, u+1, ..., u+m−1.

    With *order* the frame is walked in that (already randomised) order instead, e.g.
    blocks of one seller's listings: a contiguous block of total π M then gets ⌊M⌋ or ⌈M⌉
    of the picks, which is how a maximum per seller is kept without bending π.
    """
    N = p.size
    if order is not None:
        order = np.asarray(order, dtype=np.intp)[None, :]
        if reps != 1:
            raise InvalidInput("methods.fixed_walk_order_gives_one")
    else:
        order = (rng.permutation(N)[None, :] if reps == 1
                 else np.argsort(rng.random((reps, N)), axis=1))
    cum = np.cumsum(p[order], axis=1)
    cum *= m / cum[:, -1:]
    picks = rng.random((reps, 1)) + np.arange(m)[None, :]
    pos = _row_searchsorted(cum, picks)
    return np.take_along_axis(order, pos, axis=1)


def _pivotal(p: FloatArray, m: int, rng: np.random.Generator, reps: int) -> IntArray:
    """Deville–Tillé pivotal method as a random knock-out tournament.

    Units are shuffled and paired; in each pair one unit's π is settled to 0 or 1 and the
    other carries the rest (each step keeps every expectation, so π is exact and Σ stays m).
    Pairs of a round are disjoint, so a whole round is one vector operation, and each round
    halves the field: log₂N rounds of O(N) work.
    """
    N = p.size
    order = (rng.permutation(N)[None, :] if reps == 1
             else np.argsort(rng.random((reps, N)), axis=1))
    val = p[order]
    ids = order.astype(np.intp)
    chosen = np.zeros((reps, N + 1), dtype=bool)  # column N: padding dummy
    rows = np.arange(reps)[:, None]
    while val.shape[1] > 1:
        if val.shape[1] % 2:
            val = np.concatenate([val, np.zeros((reps, 1))], axis=1)
            ids = np.concatenate([ids, np.full((reps, 1), N, dtype=np.intp)], axis=1)
        a, b = val[:, 0::2], val[:, 1::2]
        ia, ib = ids[:, 0::2], ids[:, 1::2]
        s = a + b
        low = s < 1.0
        u = rng.random(a.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_low = np.where(s > 0, b / s, 0.5)  # a is settled at 0, b carries s
            p_high = np.where(s < 2, (1.0 - b) / (2.0 - s), 0.5)  # a is settled at 1
        a_settled = np.where(low, u < p_low, u < p_high)
        settled = np.where(a_settled, ia, ib)
        chosen[rows, settled] |= ~low
        ids = np.where(a_settled, ib, ia)
        val = np.clip(np.where(low, s, s - 1.0), 0.0, 1.0)
    chosen[rows, ids] |= val > 0.5
    chosen = chosen[:, :N]
    return _rows_of(chosen, m, "pivotal")


def _brewer_one(p: FloatArray, m: int, rng: np.random.Generator) -> IntArray:
    """One Brewer sample by acceptance–rejection, O(N + m log N) instead of O(m·N).

    Step i must pick unit k ∝ q_k = π_k·g(π_k), g(π) = (L−π)/(L−cπ), L = m − Σ_chosen π,
    c = m−i+1, among units not yet chosen.  g increases with π (g' = L(c−1)/(L−cπ)² ≥ 0), so
    drawing k ∝ π_k from one cumulative sum and accepting with g(π_k)/g(π_max) — rejecting
    units already chosen — yields exactly q.  Rare runs of rejections take the direct O(N)
    step, which has the same distribution.
    """
    N = p.size
    cum = np.cumsum(p)
    total = cum[-1]
    chosen = np.zeros(N, dtype=bool)
    out = np.empty(m, dtype=np.intp)
    taken = 0.0
    pmax = float(p.max())
    for i in range(1, m + 1):
        left, c = m - taken, m - i + 1
        denom = left - pmax * c
        bound = (left - pmax) / denom if denom > 0 else np.inf
        pick = -1
        if np.isfinite(bound):
            for _ in range(8):
                ks = np.minimum(np.searchsorted(cum, rng.random(32) * total, side="right"),
                                N - 1)
                acc = rng.random(32) * bound
                for k, a in zip(ks.tolist(), acc.tolist(), strict=True):
                    if chosen[k]:
                        continue
                    pk = p[k]
                    if a < (left - pk) / (left - pk * c):
                        pick = k
                        break
                if pick >= 0:
                    break
        if pick < 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                q = p * (left - p) / (left - p * c)
            q = np.where(chosen | ~np.isfinite(q), 0.0, np.maximum(q, 0.0))
            cq = np.cumsum(q)
            if cq[-1] <= 0:
                raise DesignInfeasible("methods.brewer_s_method_ran_out_2")
            pick = min(int(np.searchsorted(cq, rng.random() * cq[-1], side="right")), N - 1)
        chosen[pick] = True
        taken += float(p[pick])
        out[i - 1] = pick
    return out


def _brewer(p: FloatArray, m: int, rng: np.random.Generator, reps: int) -> IntArray:
    """Brewer's (1975) draw-by-draw method: m draws, each over the units not yet drawn."""
    if reps == 1:
        return _brewer_one(p, m, rng)[None, :]
    N = p.size
    chosen = np.zeros((reps, N), dtype=bool)
    taken = np.zeros(reps)
    rows = np.arange(reps)
    out = np.empty((reps, m), dtype=np.intp)
    for i in range(1, m + 1):
        left = (m - taken)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            q = p * (left - p) / (left - p * (m - i + 1))
        q = np.where(chosen | ~np.isfinite(q), 0.0, np.maximum(q, 0.0))
        cum = np.cumsum(q, axis=1)
        if np.any(cum[:, -1] <= 0):
            raise DesignInfeasible("methods.brewer_s_method_ran_out")
        pick = _row_searchsorted(cum, rng.random((reps, 1)) * cum[:, -1:])[:, 0]
        chosen[rows, pick] = True
        taken += p[pick]
        out[:, i - 1] = pick
    return out


def _sampford(p: FloatArray, m: int, rng: np.random.Generator, reps: int) -> IntArray:
    """Sampford's rejective method: one draw ∝ π, m−1 draws with replacement ∝ π/(1−π),
    accepted when all m are distinct.  Gives up loudly when acceptance is too rare."""
    if m == 1:
        cum = np.cumsum(p)
        return np.searchsorted(cum, rng.random((reps, 1)) * cum[-1], side="right").clip(
            0, p.size - 1)
    c1 = np.cumsum(p)
    c2 = np.cumsum(p / (1.0 - p))
    got: list[IntArray] = []
    have = 0
    attempts = 0
    limit = SAMPFORD_MAX_ATTEMPTS * max(reps, 1)
    batch = max(64, 2 * reps)
    while have < reps:
        if attempts >= limit:
            raise DesignInfeasible(
                "methods.sampford_s_method_accepted_attempts", have=have, attempts=attempts,
                reps=reps)
        first = np.searchsorted(c1, rng.random((batch, 1)) * c1[-1], side="right")
        rest = np.searchsorted(c2, rng.random((batch, m - 1)) * c2[-1], side="right")
        cand = np.sort(np.concatenate([first, rest], axis=1).clip(0, p.size - 1), axis=1)
        ok = np.all(np.diff(cand, axis=1) != 0, axis=1)
        attempts += batch
        if ok.any():
            got.append(cand[ok])
            have += int(ok.sum())
        batch = min(max(batch, int(2 * (reps - have) * attempts / max(have, 1))), 200_000 // m + 1)
    return np.concatenate(got)[:reps]


def _pareto_q(u: FloatArray, p: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore"):
        return (u / (1.0 - u)) / (p / (1.0 - p))


def _pareto(p: FloatArray, m: int, rng: np.random.Generator, reps: int,
            prn: FloatArray | None) -> IntArray:
    """Pareto πps (Rosén): the m smallest ranking keys Q = [u/(1−u)] / [λ/(1−λ)].

    λ are not p: they are adjusted (:func:`sampler.pareto.pareto_lambda`, cached) so that the
    exact inclusion probabilities equal p; a λ that cannot be adjusted to 1e-10 refuses the
    draw rather than mislabel its π.

    With permanent random numbers u (one per listing, kept across campaigns) successive
    samples overlap as much as their designs allow (positive coordination); shifting u by a
    constant modulo 1 makes them overlap as little as possible (negative coordination).
    """
    if prn is not None:
        if reps != 1:
            raise InvalidInput("methods.permanent_random_numbers_pareto_sample")
        u = prn[None, :]
    else:
        u = rng.random((reps, p.size))
    if m == p.size:
        return np.broadcast_to(np.arange(m), (reps, m)).copy()
    adj = pareto_lambda(p, m)
    if not adj.exact:
        raise DesignInfeasible(
            "methods.pareto_s_could_adjusted_target", adj_max_error=adj.max_error)
    q = _pareto_q(u, adj.lam)
    return np.argpartition(q, m - 1, axis=1)[:, :m]


def _srs(p: FloatArray, m: int, rng: np.random.Generator, reps: int) -> IntArray:
    if p.size and not np.allclose(p, p[0], rtol=1e-9, atol=1e-12):
        raise DesignInfeasible("methods.srs_needs_equal_inclusion_probabilities")
    keys = rng.random((reps, p.size))
    if m == p.size:
        return np.broadcast_to(np.arange(m), (reps, m)).copy()
    return np.argpartition(keys, m - 1, axis=1)[:, :m]


def _rows_of(chosen: NDArray[np.bool_], m: int, method: str) -> IntArray:
    counts = chosen.sum(axis=1)
    if np.any(counts != m):
        raise DesignInfeasible("methods.selected_units_instead_numerical_failure",
                               method=method, counts_min=counts.min(), counts_max=counts.max(),
                               m=m)
    return np.nonzero(chosen)[1].reshape(chosen.shape[0], m)


_CORE: dict[str, Callable[[FloatArray, int, np.random.Generator, int], IntArray]] = {
    "pivotal": _pivotal,
    "brewer": _brewer,
    "sampford": _sampford,
    "srs": _srs,
}


def draw_many(pik: ArrayLike, method: str, rng: np.random.Generator, reps: int,
              prn: ArrayLike | None = None, *, order: ArrayLike | None = None) -> IntArray:
    """*reps* independent samples as a reps × n array of indices (rows unsorted).

    *prn* (``pareto`` only): permanent random numbers, one in (0, 1) per unit.  *order*
    (``systematic`` only): a permutation of the units to walk instead of a random one.
    """
    if method not in METHODS:
        raise InvalidInput("methods.unknown_method_choose_one", method=method,
                           join_methods=', '.join(METHODS))
    if reps < 1:
        raise InvalidInput("methods.reps_least")
    p, n = _check_pik(pik)
    certain, frac, pf, m = _split(p, n)
    prn_f: FloatArray | None = None
    if prn is not None:
        if method != "pareto":
            raise InvalidInput("methods.permanent_random_numbers_only_apply")
        u = np.asarray(prn, dtype=np.float64)
        if u.shape != p.shape or np.any(u <= 0) or np.any(u >= 1):
            raise InvalidInput("methods.prn_one_number_per_unit")
        prn_f = u[frac]
    walk: IntArray | None = None
    if order is not None:
        if method != "systematic":
            raise InvalidInput("methods.walk_order_only_applies_systematic")
        perm = np.asarray(order, dtype=np.intp)
        if perm.shape != p.shape or not np.array_equal(np.sort(perm), np.arange(p.size)):
            raise InvalidInput("methods.order_permutation_units")
        rank = np.empty(p.size, dtype=np.intp)
        rank[frac] = np.arange(frac.size)
        walk = rank[perm[np.isin(perm, frac)]]
    if m == 0:
        part = np.empty((reps, 0), dtype=np.intp)
    elif method == "systematic":
        part = _systematic(pf, m, rng, reps, walk)
    elif method == "pareto":
        part = _pareto(pf, m, rng, reps, prn_f)
    else:
        part = _CORE[method](pf, m, rng, reps)
    sel = frac[part]
    if certain.size:
        sel = np.concatenate([np.broadcast_to(certain, (reps, certain.size)), sel], axis=1)
    return sel


def draw(pik: ArrayLike, method: str, rng: np.random.Generator,
         prn: ArrayLike | None = None, *, order: ArrayLike | None = None) -> IntArray:
    """One sample: the sorted indices of the selected units (n = Σπ of them).

    *rng* is a :class:`numpy.random.Generator` (``np.random.default_rng(seed)``): the same
    seed and inputs give the same sample.  *prn* (Pareto only) are permanent random numbers.
    """
    return np.sort(draw_many(pik, method, rng, 1, prn, order=order)[0])


def draw_stratified(pik: ArrayLike, strata: ArrayLike, method: str, rng: np.random.Generator,
                    prn: ArrayLike | None = None, *, order: ArrayLike | None = None,
                    ) -> IntArray:
    """One sample drawn independently within each stratum (Σπ must be integral in each).

    Strata are visited in sorted label order, so a seed and a frame (its rows in the same
    order) always give the same sample.  *order* (systematic only) is a permutation of all
    units; each stratum is walked in the order its units appear in it.
    """
    p = np.asarray(pik, dtype=np.float64)
    labels = np.asarray(strata)
    if labels.shape != p.shape:
        raise InvalidInput("methods.pik_strata_have_same_length")
    u = None if prn is None else np.asarray(prn, dtype=np.float64)
    rank = None
    if order is not None:
        rank = np.empty(p.size, dtype=np.intp)
        rank[np.asarray(order, dtype=np.intp)] = np.arange(p.size)
    parts: list[IntArray] = []
    for label, idx in split_strata(labels):
        walk = None if rank is None else np.argsort(rank[idx], kind="stable")
        try:
            sub = draw(p[idx], method, rng, None if u is None else u[idx], order=walk)
        except DesignInfeasible as exc:
            raise DesignInfeasible("methods.stratum", label=label, exc=exc) from exc
        parts.append(idx[sub])
    return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.intp)
