"""Pareto πps: its exact inclusion probabilities, and the λ that make them equal the target π.

Why: Pareto πps (Rosén 1997) takes the n units with the smallest ranking keys
Q_k = [U_k/(1−U_k)] / [λ_k/(1−λ_k)].  Its inclusion probabilities are *not* λ: they differ by
O(1/d), d = Σλ(1−λ) (1.8 % of λ in a demo stratum), so using λ as π in Horvitz–Thompson
weights biases every estimate a little.  Here both are fixed:

* :func:`pareto_inclusion` computes the exact π_k(λ) by numerical integration (Aires 1999,
  *Methodology and Computing in Applied Probability* 1, 457–469, eq. for Pareto πps):
  Q_k has distribution function F_k(t) = θ_k t/(1 + θ_k t), θ_k = λ_k/(1−λ_k), the keys are
  independent, and k is selected when at most n−1 of the other keys fall below Q_k:

      π_k = ∫₀^∞ f_k(t) · P( #{j ≠ k : Q_j ≤ t} ≤ n−1 ) dt,

  the inner probability a Poisson-binomial distribution function (computed by a truncated
  convolution, leaving unit k out with prefix/suffix products).  With t = e^s the integrand
  is F_k(1−F_k) · P(…), analytic in the strip |Im s| < π.  Where P(…) is 1 (left of s0) the
  integral is F_k(s0) in closed form, right of s1 it is 0 (both to 1e-16, from bounds on
  the whole count); between them composite Gauss–Legendre, refined until Σπ_k = n to 1e-10
  (the identity every fixed-size design obeys).
* :func:`pareto_lambda` solves π(λ) = target by the fixed point on the odds
  θ ← θ · odds(target)/odds(π(θ)) — Aires (2000, *J. Statist. Plann. Inference* 88,
  133–147) adjusts λ this way so that Pareto πps has exactly the wanted π (Rosén 2000,
  *JSPI* 90, 117–143, gives a first-order closed form of the same adjustment).  Drawing
  with these λ makes P(k ∈ S) = π_k to the tolerance (1e-10), so the plan's π are the
  Horvitz–Thompson weights.  When the iteration does not reach the tolerance the result says
  so (``exact=False``) and carries each unit's computed error |π(λ) − target| — a bound
  obtained from the exact π, not an asymptotic order.

The Monte-Carlo check (vectorised over replicates) is in ``tests/sampler/test_pareto.py``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from store.errors import InvalidInput

FloatArray = NDArray[np.float64]

#: Gauss–Legendre panels over the transition region: width min(PANEL_MAX, PANEL_SCALE/√n),
#: NODES nodes each, halved (up to MAX_HALVINGS times) until |Σπ − n| ≤ SUM_TOLERANCE·n.
#: The integrand is analytic in |Im s| < π, but with n draws its size there grows, so the
#: panels shrink like 1/√n.
PANEL_MAX = 1.0
PANEL_SCALE = 2.0
NODES = 10
SUM_TOLERANCE = 1e-10
MAX_HALVINGS = 4
#: Outside [s0, s1] the leave-one-out probability is 1 (left) or 0 (right) to within TAIL:
#: s0 where P(≥ n keys below e^s) < TAIL, s1 where P(≤ n keys below) < TAIL.
MARGIN = 40.0
TAIL = 1e-16
#: The adjustment stops when every |π(λ) − target| is below this.
TOLERANCE = 1e-10
MAX_ITERATIONS = 60
#: Working memory of one chunk of the leave-one-out convolutions (float64 entries).
_CHUNK_ENTRIES = 4_000_000


@dataclass(frozen=True)
class ParetoLambda:
    """λ to draw with so that Pareto πps has inclusion probabilities *target*."""

    lam: FloatArray
    target: FloatArray
    error: FloatArray  # |π(λ) − target| per unit, from the exact π
    iterations: int
    exact: bool  # every error ≤ TOLERANCE

    @property
    def max_error(self) -> float:
        return float(self.error.max()) if self.error.size else 0.0


_CACHE: OrderedDict[tuple[bytes, int], ParetoLambda] = OrderedDict()
_CACHE_SIZE = 4096


def _step(D: FloatArray, f: FloatArray) -> FloatArray:
    """Add one Bernoulli(f) unit to count distributions D (rows), truncated at D's width."""
    out = D * (1.0 - f)
    out[:, 1:] += D[:, :-1] * f
    return out


def _leave_one_out_cdf(F: FloatArray, n: int) -> FloatArray:
    """P(#{j ≠ k : unit j below} ≤ n−1) for every grid row and unit k (F: T × N).

    Prefix and suffix convolutions (truncated at n counts) meet at k; prefixes are kept at
    every B-th unit (B ≈ √N) and recomputed inside a block on the way back, so memory is
    O(√N · T · n) instead of O(N · T · n) and the sums stay stable (no deconvolution).
    """
    T, N = F.shape
    B = max(1, int(np.ceil(np.sqrt(N))))
    out = np.empty((T, N))
    chunk = max(1, _CHUNK_ENTRIES // max(1, (N // B + 2 * B) * n))
    for start in range(0, T, chunk):
        Fc = F[start:start + chunk]
        tc = Fc.shape[0]
        cur = np.zeros((tc, n))
        cur[:, 0] = 1.0
        marks: list[FloatArray] = []
        for k in range(N):
            if k % B == 0:
                marks.append(cur)
            cur = _step(cur, Fc[:, k:k + 1])
        suf = np.zeros((tc, n))
        suf[:, 0] = 1.0
        for b in range(len(marks) - 1, -1, -1):
            lo, hi = b * B, min(N, (b + 1) * B)
            pre = [marks[b]]
            for k in range(lo, hi - 1):
                pre.append(_step(pre[-1], Fc[:, k:k + 1]))
            for k in range(hi - 1, lo - 1, -1):
                cum = np.cumsum(suf, axis=1)
                out[start:start + tc, k] = np.einsum("ta,ta->t", pre[k - lo], cum[:, ::-1])
                suf = _step(suf, Fc[:, k:k + 1])
    return out


def _transition(c: FloatArray, n: int) -> tuple[float, float]:
    """[s0, s1] outside which every leave-one-out probability is 1 or 0 to within TAIL.

    With N the number of keys below e^s (all units), P(N_{−k} ≥ n) ≤ P(N ≥ n) and
    P(N_{−k} ≤ n−1) ≤ P(N ≤ n); both bounds are monotone in s.  One truncated convolution
    with absorbing top bins ("≥ n", "≥ n+1", so the small tails keep their precision) on a
    coarse grid finds them.
    """
    s = np.arange(float(c.min()) - MARGIN, float(c.max()) + MARGIN, 0.5)
    F = 0.5 * (1.0 + np.tanh(0.5 * (s[:, None] - c[None, :])))
    D = np.zeros((s.size, n + 2))
    D[:, 0] = 1.0
    for k in range(c.size):
        f = F[:, k:k + 1]
        nxt = D * (1.0 - f)
        nxt[:, 1:] += D[:, :-1] * f
        nxt[:, n + 1] += D[:, n + 1] * f[:, 0]  # "≥ n+1" absorbs
        D = nxt
    at_least_n = D[:, n] + D[:, n + 1]
    at_most_n = D[:, :n + 1].sum(axis=1)
    left = np.flatnonzero(at_least_n < TAIL)
    right = np.flatnonzero(at_most_n < TAIL)
    s0 = float(s[left[-1]]) if left.size else float(s[0])
    s1 = float(s[right[0]]) if right.size else float(s[-1])
    return s0, max(s1, s0 + 0.5)


def _check(lam: ArrayLike, n: int) -> FloatArray:
    p = np.asarray(lam, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise InvalidInput("pareto.non_empty_one_dimensional_array")
    if not np.all(np.isfinite(p)) or np.any(p <= 0) or np.any(p >= 1):
        raise InvalidInput("pareto.pareto_s_lie_strictly_between")
    if not 1 <= n < p.size:
        raise InvalidInput("pareto.pareto_draws_n_units_need", n=n, p_size=p.size)
    return p


def pareto_inclusion(lam: ArrayLike, n: int) -> FloatArray:
    """Exact inclusion probabilities of Pareto πps drawing *n* units with parameters *lam*
    (Aires 1999), by the integral in the module docstring.

    π_k = F_k(s0) + ∫_{s0}^{s1} F_k(1−F_k) P(N_{−k} ≤ n−1) ds (the left part is exact up to
    TAIL: there P(N_{−k} ≤ n−1) = 1), the middle by composite Gauss–Legendre, whose panels
    are halved until Σπ = n to SUM_TOLERANCE·n (an identity of every fixed-size design, so a
    free check of the quadrature).
    """
    p = _check(lam, n)
    c = np.log1p(-p) - np.log(p)  # −log θ
    s0, s1 = _transition(c, n)
    x, wts = np.polynomial.legendre.leggauss(NODES)
    panels = max(1, int(np.ceil((s1 - s0) / min(PANEL_MAX, PANEL_SCALE / np.sqrt(n)))))
    left = 0.5 * (1.0 + np.tanh(0.5 * (s0 - c)))
    for _ in range(MAX_HALVINGS + 1):
        edges = np.linspace(s0, s1, panels + 1)
        half = 0.5 * np.diff(edges)
        s = ((edges[:-1] + half)[:, None] + half[:, None] * x[None, :]).ravel()
        weight = (half[:, None] * wts[None, :]).ravel()
        F = 0.5 * (1.0 + np.tanh(0.5 * (s[:, None] - c[None, :])))  # expit, no overflow
        w = F * (1.0 - F)  # density of the key on the log scale
        pi = left + weight @ (w * _leave_one_out_cdf(F, n))
        if abs(float(pi.sum()) - n) <= SUM_TOLERANCE * n:
            break
        panels *= 2
    return pi


def pareto_lambda(target: ArrayLike, n: int | None = None) -> ParetoLambda:
    """The λ whose Pareto πps inclusion probabilities equal *target* (Σ target = n).

    Results are cached by the exact bytes of *target* (draws repeat the same vectors: a
    stratum, a seller cell, a Monte-Carlo study).
    """
    t = np.asarray(target, dtype=np.float64)
    m = round(float(t.sum())) if n is None else int(n)
    _check(t, m)
    if abs(float(t.sum()) - m) > 1e-6 * max(1.0, m):
        raise InvalidInput("pareto.target_sum_sample_size", t_sum=t.sum(), m=m)
    key = (t.tobytes(), m)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    odds_t = t / (1.0 - t)
    theta = odds_t.copy()
    best: tuple[float, FloatArray, FloatArray] | None = None
    it = 0
    for it in range(1, MAX_ITERATIONS + 1):  # noqa: B007 (reported below)
        lam = theta / (1.0 + theta)
        pi = pareto_inclusion(lam, m)
        err = np.abs(pi - t)
        worst = float(err.max())
        if best is None or worst < best[0]:
            best = (worst, lam, err)
        if worst <= TOLERANCE:
            break
        pi = np.clip(pi, 1e-300, 1.0 - 1e-16)
        theta = theta * odds_t / (pi / (1.0 - pi))
    assert best is not None
    out = ParetoLambda(lam=best[1], target=t, error=best[2], iterations=it,
                       exact=best[0] <= TOLERANCE)
    _CACHE[key] = out
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return out
