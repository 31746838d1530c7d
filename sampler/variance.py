"""Variance estimators of a Horvitz–Thompson total Σ z/π within one stratum.

Which one applies depends on what is known about the design (see ``sampler/README.md``):

* ``ht`` — Horvitz & Thompson (1952): v = Σ_k Σ_l (π_kl − π_kπ_l)/π_kl · z_k/π_k · z_l/π_l
  (π_kk = π_k).  Unbiased whenever every π_kl > 0; needs the joint inclusion probabilities
  of the sampled units (:mod:`sampler.joint`).  R: ``sampling::varHT(y, pikl, 1)``,
  ``survey`` ``pps=ppsmat(pikl), variance="HT"``.
* ``syg`` — Sen (1953), Yates & Grundy (1953): v = ½ Σ_{k≠l} (π_kπ_l − π_kl)/π_kl ·
  (z_k/π_k − z_l/π_l)², for fixed-size designs; never negative when π_kπ_l ≥ π_kl.
  R: ``varHT(y, pikl, 2)``, ``variance="YG"``.
* ``deville`` — Deville (1999) for high-entropy fixed-size designs, without joint
  probabilities: v = Σ (1−π_k)(z_k/π_k − Â)² / (1 − Σ a_k²), a_k = (1−π_k)/Σ(1−π),
  Â = Σ a_k z_k/π_k.  R: ``sampling::varest(Ys, pik=pik)``.
* ``hajek`` — Hájek's (1964) approximation as an estimator (Tillé 2006, §7.5):
  v = n/(n−1) Σ (1−π_k)(z_k/π_k − Â)², same Â.  Slightly smaller than Deville's when π vary
  (Σa² ≥ 1/n); both equal the exact SRS variance N²(1−f)s²/n when π are equal.

* ``wr`` — with-replacement (Hansen–Hurwitz) form: v = n/(n−1) Σ (z_k/π_k − mean z/π)², what
  R ``survey`` computes for a design given only by probabilities (``svydesign(ids=~1,
  probs=)``, no fpc).  No joint probabilities and no 1 − π factor, so it is conservative for
  high-entropy designs; for the seller-capped plans it is the default, because there units
  of one seller inside a cell that gets at most one draw are never drawn together
  (π_kl = 0), no unbiased variance estimator exists, and HT/SYG with the capped design's
  π_kl miss those pairs (measured in ``tests/sampler/test_capped_joint.py``).

Certainty units (π = 1) add no variance and are left out of the sums of ``deville`` and
``hajek`` (their n is the number of non-certainty units).  References: Tillé, *Sampling
Algorithms* (2006), ch. 7; Matei & Tillé (2005), *J. Official Statistics* 21, 543–570.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from store.errors import InvalidInput

FloatArray = NDArray[np.float64]

#: Variance estimators by name; ``ht`` and ``syg`` need joint inclusion probabilities.
VARIANCE_METHODS: tuple[str, ...] = ("deville", "hajek", "ht", "syg", "wr")
JOINT_METHODS = frozenset({"ht", "syg"})
CERTAIN = 1.0 - 1e-9


def _fractional(z: ArrayLike, pik: ArrayLike) -> tuple[FloatArray, FloatArray]:
    zv = np.asarray(z, dtype=np.float64)
    p = np.asarray(pik, dtype=np.float64)
    keep = p < CERTAIN
    return zv[keep], p[keep]


def deville(z: ArrayLike, pik: ArrayLike) -> float:
    """Deville's (1999) estimator (R ``sampling::varest``); NaN with one non-certainty unit."""
    zv, p = _fractional(z, pik)
    if zv.size == 0:
        return 0.0
    if zv.size == 1:
        return math.nan
    c = 1.0 - p
    a = c / c.sum()
    ratio = zv / p
    big_a = float(np.sum(a * ratio))
    return float(np.sum(c * (ratio - big_a) ** 2) / (1.0 - np.sum(a**2)))


def hajek(z: ArrayLike, pik: ArrayLike) -> float:
    """Hájek's (1964) approximation, n/(n−1) Σ(1−π)(z/π − Â)²; NaN with one unit."""
    zv, p = _fractional(z, pik)
    k = zv.size
    if k == 0:
        return 0.0
    if k == 1:
        return math.nan
    c = 1.0 - p
    ratio = zv / p
    big_a = float(np.sum(c * ratio) / np.sum(c))
    return float(k / (k - 1) * np.sum(c * (ratio - big_a) ** 2))


def with_replacement(z: ArrayLike, pik: ArrayLike) -> float:
    """Hansen–Hurwitz with-replacement form n/(n−1) Σ (z/π − mean)² (R ``survey`` with probs
    and no fpc); NaN with one non-certainty unit."""
    zv, p = _fractional(z, pik)
    k = zv.size
    if k == 0:
        return 0.0
    if k == 1:
        return math.nan
    e = zv / p
    return float(k / (k - 1) * np.sum((e - e.mean()) ** 2))


def _joint(pik: FloatArray, joint: ArrayLike) -> FloatArray:
    pkl = np.asarray(joint, dtype=np.float64)
    if pkl.shape != (pik.size, pik.size):
        raise InvalidInput("variance.joint_inclusion_probabilities_n_n")
    if np.any(pkl <= 0):
        raise InvalidInput("variance.joint_inclusion_probability_design_cannot")
    return pkl


def horvitz_thompson(z: ArrayLike, pik: ArrayLike, joint: ArrayLike) -> float:
    """HT variance estimator with the sampled units' joint inclusion probabilities."""
    zv = np.asarray(z, dtype=np.float64)
    p = np.asarray(pik, dtype=np.float64)
    if zv.size == 0:
        return 0.0
    pkl = _joint(p, joint).copy()
    np.fill_diagonal(pkl, p)
    e = zv / p
    delta = (pkl - np.outer(p, p)) / pkl
    return float(e @ delta @ e)


def sen_yates_grundy(z: ArrayLike, pik: ArrayLike, joint: ArrayLike) -> float:
    """Sen–Yates–Grundy variance estimator (fixed-size designs)."""
    zv = np.asarray(z, dtype=np.float64)
    p = np.asarray(pik, dtype=np.float64)
    if zv.size < 2:
        return 0.0
    pkl = _joint(p, joint).copy()
    np.fill_diagonal(pkl, p)
    e = zv / p
    w = (np.outer(p, p) - pkl) / pkl
    np.fill_diagonal(w, 0.0)
    return float(0.5 * np.sum(w * (e[:, None] - e[None, :]) ** 2))


def stratum_variance(method: str, z: ArrayLike, pik: ArrayLike,
                     joint: ArrayLike | None = None) -> float:
    """Variance of Σ z/π in one stratum by *method* (:data:`VARIANCE_METHODS`)."""
    if method == "deville":
        return deville(z, pik)
    if method == "hajek":
        return hajek(z, pik)
    if method == "wr":
        return with_replacement(z, pik)
    if method in JOINT_METHODS:
        if joint is None:
            raise InvalidInput("variance.variance_needs_joint_inclusion_probabilities",
                               method=method)
        if np.asarray(z).size - int(np.sum(np.asarray(pik) >= CERTAIN)) == 1:
            return math.nan  # one non-certainty unit: a lonely stratum, as for the others
        if method == "ht":
            return horvitz_thompson(z, pik, joint)
        return sen_yates_grundy(z, pik, joint)
    raise InvalidInput("variance.unknown_variance_method_choose_one", method=method,
                       join_variance_methods=', '.join(VARIANCE_METHODS))
