"""Joint (second-order) inclusion probabilities π_kl of the sampled units, by method.

The Horvitz–Thompson and Sen–Yates–Grundy variance estimators (:mod:`sampler.variance`) need
π_kl for every pair of *sampled* units; these functions return that n × n matrix (diagonal
π_k), computed from the whole stratum's π where the method allows it:

* ``systematic`` in a **given order** (the seller walk): exact.  Unit k is taken when the
  random start u ∈ [0, 1) falls in its arc of the cumulated π modulo 1, so π_kl is the length
  of the intersection of two arcs; several pairs have π_kl = 0 and no unbiased variance
  estimator exists (the HT estimator refuses).  Same as R ``sampling::UPsystematicpi2``.
* ``sampford``: exact, by Asok & Sukhatme's recursion as R ``sampling::UPsampfordpi2``
  implements it (O(n) per pair after an O(n²) start).
* ``brewer``, ``pivotal``, ``pareto`` and randomised ``systematic``: no closed form.  The
  approximation of Brewer (2002, eq. 9.14; Brewer & Donadio 2003, *Survey Methodology* 29,
  189–196): π_kl ≈ π_kπ_l (c_k + c_l)/2 with c_k = (n−1)/(n − π_k), which needs only the
  sampled π and n, or Hájek's (1964, *Ann. Math. Statist.* 35, 1491–1523):
  π_kl ≈ π_kπ_l [1 − (1−π_k)(1−π_l)/d], d = Σ_U π(1−π) (the stratum's; estimated by
  Σ_s (1−π) when the frame is not at hand).

Certainty units (π = 1) have π_kl = π_l.  All functions take the stratum's π in frame order
(or walk order) and the positions of the sampled units in it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sampler.variance import CERTAIN
from store.errors import InvalidInput

FloatArray = NDArray[np.float64]
#: Which π_kl each method gets by default.
JOINT_BY_METHOD: dict[str, str] = {"sampford": "sampford", "systematic-ordered": "systematic",
                                   "brewer": "brewer", "pivotal": "brewer", "pareto": "brewer",
                                   "systematic": "brewer", "srs": "srs"}


def _fill_certain(pik: FloatArray, inner: FloatArray, frac: NDArray[np.bool_]) -> FloatArray:
    """Full matrix over the given units: π_kπ_l where a certainty unit is involved."""
    out = np.outer(pik, pik)
    out[np.ix_(frac, frac)] = inner
    np.fill_diagonal(out, pik)
    return out


def systematic_joint(pik: ArrayLike, sample: ArrayLike | None = None) -> FloatArray:
    """Exact π_kl of systematic sampling in the given order (R ``UPsystematicpi2``).

    *pik*: the stratum's π in walk order; *sample*: positions of the sampled units (None:
    all units, an N × N matrix).
    """
    p = np.asarray(pik, dtype=np.float64)
    idx = np.arange(p.size) if sample is None else np.asarray(sample, dtype=np.intp)
    frac_all = (p > 0) & (p < CERTAIN)
    pf = p[frac_all]
    v = np.cumsum(pf)
    v1 = np.mod(v, 1.0)
    v1[-1] = 0.0
    r = np.concatenate([np.sort(v1), [1.0]])
    cent = (r[:-1] + r[1:]) / 2
    width = r[1:] - r[:-1]
    start = np.concatenate([[0.0], v])[:-1]
    # unit k is taken for u in [start_k, start_k + π_k) modulo 1
    pos = np.cumsum(frac_all) - 1  # position of each unit among the fractional ones
    sub = idx[frac_all[idx]]
    a = np.mod(start[pos[sub]][:, None] - cent[None, :], 1.0)
    b = np.mod(v[pos[sub]][:, None] - cent[None, :], 1.0)
    m = (a > b).astype(np.float64)  # the cell's centre lies inside the unit's arc
    inner = (m * width) @ m.T
    return _fill_certain(p[idx], inner, frac_all[idx])


def sampford_joint(pik: ArrayLike, sample: ArrayLike | None = None) -> FloatArray:
    """Exact π_kl of Sampford's design (R ``UPsampfordpi2``) for the sampled units."""
    p_all = np.asarray(pik, dtype=np.float64)
    idx = np.arange(p_all.size) if sample is None else np.asarray(sample, dtype=np.intp)
    frac_all = (p_all > 0) & (p_all < CERTAIN)
    pf = p_all[frac_all]
    n = round(float(pf.sum()))
    if abs(pf.sum() - n) > 1e-6:
        raise InvalidInput("joint.sampford_s_kl_need_integral")
    sub = idx[frac_all[idx]]
    pos = (np.cumsum(frac_all) - 1)[sub]
    if n < 2:
        return _fill_certain(p_all[idx], np.zeros((sub.size, sub.size)), frac_all[idx])
    q = pf / n
    lam = q / (1.0 - n * q)
    lm = np.zeros(n + 1)  # 1-based like the recursion
    lm[1] = 1.0
    powers = np.array([np.sum(lam**r) for r in range(n + 1)])
    for i in range(2, n + 1):
        acc = 0.0
        for r in range(1, i):
            acc += (-1) ** (r - 1) * powers[r] * lm[i - r]
        lm[i] = acc / (i - 1)
    if np.any(lm[1:] < 0) or not np.all(np.isfinite(lm)):
        raise InvalidInput("joint.sampford_s_joint_probabilities_cannot")
    t1 = n + 1 - np.arange(1, n + 1)
    kn = 1.0 / np.sum(t1 * lm[1:] / float(n) ** t1)
    li, lj = np.meshgrid(lam[pos], lam[pos], indexing="ij")
    qi, qj = np.meshgrid(q[pos], q[pos], indexing="ij")
    lm2 = np.zeros((n + 1, *li.shape))
    lm2[1] = 1.0
    if n >= 2:
        lm2[2] = lm[2] - (li + lj)
    for m in range(3, n):
        lm2[m] = lm[m] - (li + lj) * lm2[m - 1] - li * lj * lm2[m - 2]
    total = np.zeros(li.shape)
    for t in range(1, n):
        total += (t + 1 - n * (qi + qj)) * lm2[n - t] / float(n) ** (t - 1)
    inner = kn * li * lj * total
    if not np.all(np.isfinite(inner)):
        raise InvalidInput("joint.sampford_s_joint_probabilities_overflowed")
    return _fill_certain(p_all[idx], inner, frac_all[idx])


def brewer_joint(pik_sample: ArrayLike, n: int | None = None) -> FloatArray:
    """Brewer's approximation π_kπ_l (c_k + c_l)/2, c_k = (n−1)/(n − π_k), over the given
    units; *n* is the stratum's fixed number of non-certainty draws (default: the number of
    non-certainty units given, i.e. when *pik_sample* are the sampled units)."""
    p = np.asarray(pik_sample, dtype=np.float64)
    frac = p < CERTAIN
    pf = p[frac]
    n = pf.size if n is None else int(n)
    c = (n - 1) / (n - pf) if n else pf
    inner = np.outer(pf, pf) * (c[:, None] + c[None, :]) / 2
    return _fill_certain(p, inner, frac)


def hajek_joint(pik_sample: ArrayLike, d: float | None = None) -> FloatArray:
    """Hájek's approximation π_kπ_l [1 − (1−π_k)(1−π_l)/d]; d = Σ_U π(1−π), else Σ_s (1−π)."""
    p = np.asarray(pik_sample, dtype=np.float64)
    frac = p < CERTAIN
    pf = p[frac]
    dd = float(np.sum(1.0 - pf)) if d is None else float(d)
    if dd <= 0:
        raise InvalidInput("joint.h_jek_s_approximation_needs")
    inner = np.outer(pf, pf) * (1.0 - np.outer(1.0 - pf, 1.0 - pf) / dd)
    return _fill_certain(p, inner, frac)


def srs_joint(n: int, N: int, size: int) -> FloatArray:
    """SRS without replacement: π_kl = n(n−1)/(N(N−1)) (size × size, diagonal n/N)."""
    out = np.full((size, size), n * (n - 1) / (N * (N - 1)) if N > 1 else 0.0)
    np.fill_diagonal(out, n / N)
    return out
