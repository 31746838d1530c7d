"""Estimates of a non-compliance rate and count from a probability sample.

Pure NumPy/SciPy on arrays, so a statistician can use it without the database.  Every
:class:`RateEstimate` names the estimator, the variance estimator and the interval it used.

* **Horvitz–Thompson (HT)**: count t̂ = Σ y/π, rate t̂/N with N known from the frame.  When N
  is *not* known it is estimated by N̂ = Σ 1/π and the "HT rate" t̂/N̂ is a ratio — the Hájek
  rate — with the ratio's linearised variance (label ``ratio t̂/N̂ (N unknown)``), never
  v(t̂)/N̂² as if N̂ were fixed.
* **Hájek**: rate R̂ = Σ y/π ÷ Σ 1/π within a stratum, variance of the linearised variable
  z = (y − R̂)/N̂.  Across strata, with every N_h known, the separate estimator Σ W_h R̂_h with
  v = Σ W_h² v_h; with an N_h unknown, the combined ratio Σ_h t̂_h / Σ_h N̂_h with
  z = (y − R̂)/N̂ over all strata (R ``survey::svymean``).
* **Variance** within a stratum by :mod:`sampler.variance`: ``deville`` (default, R
  ``sampling::varest``), ``hajek``, or ``ht``/``syg`` with joint inclusion probabilities
  (:mod:`sampler.joint`).  Equal π with deville/hajek is the exact SRS variance (label
  ``srs-exact``).
* **Intervals** by :mod:`sampler.intervals`: ``beta`` (Korn–Graubard exactly as R's
  ``svyciprop``; df = units − strata), ``clopper-pearson`` (SRS), ``logit``, ``xlogit``.
* **Lonely strata** (one non-certainty unit: its variance cannot be estimated from itself):
  ``lonely`` = ``bound`` (default: each such unit gets the largest variance a 0/1 outcome
  can have, (1−π)/4 on the rate's scale — conservative), or R's ``survey.lonely.psu``
  options: ``fail``, ``remove`` and ``certainty`` (no contribution), ``adjust`` (centred at
  the overall estimate: (1−π)(z/π)²), ``average`` (the other strata's sum × H/H_ok).  A
  lonely stratum's *own* line always uses the bound.
* **Design effects**: Kish's n Σw²/(Σw)², and the design-based v(p̂)/[p̂(1−p̂)/n].
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sampler.intervals import INTERVAL_METHODS, korn_graubard, proportion_interval
from sampler.probabilities import split_strata
from sampler.variance import CERTAIN, VARIANCE_METHODS, hajek, stratum_variance
from store.errors import InvalidInput

FloatArray = NDArray[np.float64]

#: Marks estimates where a stratum had a single non-certainty result.
LONELY = "+lonely-bound"
#: The variance said for a stratum whose units all have one π (a simple random sample).
EQUAL_PI = "srs-exact"
#: Marks a variance of a design's joint π across strata (HT/SYG on a seller-capped plan).
JOINT_ACROSS = " (joint π across strata)"
#: Marks a negative HT/SYG variance estimate, taken as 0.
NEGATIVE_ZERO = " (negative estimate set to 0)"
#: The rate's estimators: one stratum's ratio, and across strata every N_h known
#: (separate) or not (combined).  What people read for each is in store.labels
#: (``estimator``).
STRATUM_RATIO = "hajek R̂=Σy/π÷Σ1/π"
SEPARATE_RATIO = "hajek separate Σ W_h R̂_h"
COMBINED_RATIO = "hajek combined ratio Σt̂_h ÷ ΣN̂_h (N_h unknown)"
ESTIMATORS: tuple[str, ...] = (STRATUM_RATIO, SEPARATE_RATIO, COMBINED_RATIO)
#: Options for strata with one non-certainty unit (R's ``survey.lonely.psu`` plus ``bound``).
LONELY_OPTIONS: tuple[str, ...] = ("bound", "fail", "remove", "certainty", "adjust", "average")

__all__ = [
    "LONELY",
    "LONELY_OPTIONS",
    "EstimationResult",
    "RateEstimate",
    "deville_variance",
    "estimate",
    "estimate_replicates",
    "kish_deff",
    "korn_graubard",
]


@dataclass(frozen=True)
class RateEstimate:
    """Estimates for one domain (a stratum, or the whole population when stratum is None)."""

    stratum: Any
    n: int
    failures: int
    population: float
    population_known: bool
    ht_count: float
    ht_count_se: float
    ht_count_ci: tuple[float, float]
    ht_rate: float
    ht_rate_se: float
    ht_rate_ci: tuple[float, float]
    hajek_rate: float
    hajek_rate_se: float
    hajek_rate_ci: tuple[float, float]
    hajek_count: float
    hajek_count_ci: tuple[float, float]
    deff_kish: float
    deff: float | None
    n_effective: float
    variance_method: str
    interval_method: str = "beta"
    ht_interval_method: str = "beta"
    estimator: str = "hajek"
    ht_estimator: str = "ht t̂/N"
    df: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class EstimationResult:
    overall: RateEstimate
    by_stratum: list[RateEstimate] = field(default_factory=list)
    confidence: float = 0.95
    interval: str = "beta"
    variance: str = "deville"
    lonely: str = "bound"

    def as_dict(self) -> dict[str, Any]:
        return {"confidence": self.confidence, "interval": self.interval,
                "variance": self.variance, "lonely": self.lonely,
                "overall": self.overall.as_dict(),
                "by_stratum": [e.as_dict() for e in self.by_stratum]}


def deville_variance(y: ArrayLike, pik: ArrayLike) -> float:
    """Hájek–Deville n/(n−1) form kept for callers of the earlier API (see
    :func:`sampler.variance.hajek`)."""
    return hajek(y, pik)


def kish_deff(weights: ArrayLike) -> float:
    """Kish's design effect from unequal weights: n Σw² / (Σw)² (1 for equal weights)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.size == 0 or w.sum() <= 0:
        return 1.0
    return float(w.size * np.sum(w**2) / np.sum(w) ** 2)


@dataclass
class _Part:
    """One stratum's pieces for the overall estimate."""

    label: Any
    y: FloatArray
    p: FloatArray
    joint: FloatArray | None
    t: float
    n_hat: float
    N: float
    known: bool
    lonely: bool
    idx: NDArray[np.intp] | None = None
    v_t: float = 0.0
    v_r: float = 0.0


def _var(method: str, z: FloatArray, p: FloatArray, joint: FloatArray | None) -> float:
    return stratum_variance(method, z, p, joint)


def _bound(p: FloatArray, scale: float) -> float:
    """Largest variance of Σ z/π for 0/1 outcomes scaled by *scale*: Σ (1−π)/4 (scale/π)²."""
    q = p[p < CERTAIN]
    return float(np.sum((1.0 - q) * 0.25 * (scale / q) ** 2))


def _label(method: str, p: FloatArray) -> str:
    if method in ("deville", "hajek") and p.size and np.allclose(p, p[0]):
        return EQUAL_PI
    return method


def build_rate_estimate(label: Any, n: int, failures: int, pop: float, known: bool,
                        t_hat: float, v_t: float, r_hat: float, v_r: float, ht_rate: float,
                        v_ht: float, deff_k: float, df: float, confidence: float,
                        interval: str, equal: bool, variance_label: str, estimator: str,
                        ht_estimator: str) -> RateEstimate:
    """A :class:`RateEstimate` from a domain's totals and variances, with its intervals."""
    if min(v_t, v_r, v_ht) < 0:  # HT/SYG can be negative; said, then taken as 0
        variance_label += NEGATIVE_ZERO
    v_t = 0.0 if not math.isfinite(v_t) or v_t < 0 else v_t
    v_r = 0.0 if not math.isfinite(v_r) or v_r < 0 else v_r
    v_ht = 0.0 if not math.isfinite(v_ht) or v_ht < 0 else v_ht
    ht_ci = proportion_interval(interval, ht_rate, v_ht, n, df, failures=failures,
                                equal_weights=equal, deff_kish=deff_k, confidence=confidence)
    hj_ci = proportion_interval(interval, r_hat, v_r, n, df, failures=failures,
                                equal_weights=equal, deff_kish=deff_k, confidence=confidence)
    kg = hj_ci if hj_ci.n_effective is not None else korn_graubard(
        r_hat, v_r, n, df, deff_kish=deff_k, confidence=confidence)
    deff = (v_r / (r_hat * (1 - r_hat) / n)) if 0 < r_hat < 1 and n > 0 else None
    return RateEstimate(
        stratum=label, n=n, failures=failures, population=pop, population_known=known,
        ht_count=t_hat, ht_count_se=math.sqrt(v_t),
        ht_count_ci=(ht_ci.low * pop, ht_ci.high * pop),
        ht_rate=ht_rate, ht_rate_se=math.sqrt(v_ht), ht_rate_ci=ht_ci.pair,
        hajek_rate=r_hat, hajek_rate_se=math.sqrt(v_r), hajek_rate_ci=hj_ci.pair,
        hajek_count=r_hat * pop, hajek_count_ci=(hj_ci.low * pop, hj_ci.high * pop),
        deff_kish=deff_k, deff=deff, n_effective=float(kg.n_effective or 0.0),
        variance_method=variance_label, interval_method=hj_ci.method,
        ht_interval_method=ht_ci.method, estimator=estimator, ht_estimator=ht_estimator,
        df=float(df))


def _stratum(part: _Part, variance: str, confidence: float, interval: str) -> RateEstimate:
    y, p = part.y, part.p
    r_hat = part.t / part.n_hat if part.n_hat > 0 else 0.0
    z = (y - r_hat) / part.n_hat if part.n_hat > 0 else np.zeros_like(y)
    label = _label(variance, p)
    if part.lonely:
        v_t, v_r = _bound(p, 1.0), _bound(p, 1.0 / part.n_hat)
        label += LONELY
    else:
        v_t, v_r = _var(variance, y, p, part.joint), _var(variance, z, p, part.joint)
    part.v_t, part.v_r = v_t, v_r
    if part.known:
        ht_rate, v_ht, ht_est = part.t / part.N, v_t / part.N**2, "ht t̂/N"
    else:
        ht_rate, v_ht, ht_est = r_hat, v_r, "ratio t̂/N̂ (N unknown)"
    equal = bool(p.size and np.allclose(p, p[0]))
    return build_rate_estimate(
        part.label, int(y.size), round(float(y.sum())), part.N, part.known, part.t,
        v_t, r_hat, v_r, ht_rate, v_ht, kish_deff(1.0 / p), y.size - 1, confidence,
        interval, equal, label, STRATUM_RATIO, ht_est)


def _lonely_overall(parts: Sequence[_Part], lonely: str, scale_z: Sequence[FloatArray],
                    variance: str) -> tuple[list[float], str]:
    """Each stratum's variance contribution to the overall total of z (one z per stratum)."""
    out: list[float] = []
    n_lonely = 0
    for part, z in zip(parts, scale_z, strict=True):
        if not part.lonely:
            out.append(_var(variance, z, part.p, part.joint))
            continue
        n_lonely += 1
        if lonely == "fail":
            raise InvalidInput("estimation.stratum_has_single_non_certainty",
                               part_label=part.label)
        q = part.p < CERTAIN
        if lonely in ("bound", "average"):
            out.append(math.nan)  # replaced by the bound, or left out and averaged
        elif lonely == "adjust":
            out.append(float(np.sum((1.0 - part.p[q]) * (z[q] / part.p[q]) ** 2)))
        else:  # remove, certainty
            out.append(0.0)
    suffix = "" if not n_lonely else (LONELY if lonely == "bound" else f"+lonely-{lonely}")
    return out, suffix


def estimate(y: ArrayLike, pik: ArrayLike, *, strata: ArrayLike | None = None,
             population_sizes: Mapping[Any, float] | float | None = None,
             confidence: float = 0.95, interval: str = "beta", variance: str = "deville",
             joint: ArrayLike | None = None, lonely: str = "bound",
             joint_scope: str = "strata") -> EstimationResult:
    """HT and Hájek estimates of the rate and count of y (0/1 outcomes) from a sample.

    *y* and *pik* are the sampled units' outcomes and inclusion probabilities; *strata* their
    stratum labels (None: one stratum); *population_sizes* the frame's N (a number, or one per
    stratum; None: estimated as Σ1/π).  *interval*: one of ``beta`` (Korn–Graubard as R),
    ``clopper-pearson``, ``logit``, ``xlogit``; *variance*: ``deville``, ``hajek``, ``ht``,
    ``syg`` (the last two need *joint*, the n × n joint inclusion probabilities of the
    sampled units); *lonely*: see the module docstring.  *joint_scope*: ``strata`` (strata
    drawn independently: entries of *joint* across strata are ignored) or ``design`` (the
    matrix holds the whole design's π_kl, e.g. a seller-capped plan whose rounding couples
    strata: the overall variance is one HT/SYG quadratic form over all sampled units, and
    lonely strata need no rule because the design's π_kl are known).
    """
    yv = np.asarray(y, dtype=np.float64)
    p = np.asarray(pik, dtype=np.float64)
    if yv.shape != p.shape or yv.ndim != 1:
        raise InvalidInput("estimation.y_pik_one_dimensional_arrays")
    if yv.size == 0:
        raise InvalidInput("estimation.sampled_unit_has_result_yet")
    if np.any((yv < 0) | (yv > 1)) or not np.all(np.isfinite(yv)):
        raise InvalidInput("estimation.y_outcomes_non_compliant")
    if np.any((p <= 0) | (p > 1 + 1e-9)) or not np.all(np.isfinite(p)):
        raise InvalidInput("estimation.every_sampled_unit_needs_inclusion")
    if not 0 < confidence < 1:
        raise InvalidInput("estimation.confidence_between")
    if interval not in INTERVAL_METHODS:
        raise InvalidInput("estimation.unknown_interval_method_choose_one", interval=interval,
                           join_interval_methods=', '.join(INTERVAL_METHODS))
    if variance not in VARIANCE_METHODS:
        raise InvalidInput("estimation.unknown_variance_method_choose_one", variance=variance,
                           join_variance_methods=', '.join(VARIANCE_METHODS))
    if lonely not in LONELY_OPTIONS:
        raise InvalidInput("estimation.unknown_lonely_stratum_option_choose", lonely=lonely,
                           join_lonely_options=', '.join(LONELY_OPTIONS))
    if joint_scope not in ("strata", "design"):
        raise InvalidInput("estimation.joint_scope_strata_design")
    jm: FloatArray | None = None
    if joint is not None:
        jm = np.asarray(joint, dtype=np.float64)
        if jm.shape != (p.size, p.size):
            raise InvalidInput("estimation.joint_n_n_matrix_sampled")
    elif variance in ("ht", "syg"):
        raise InvalidInput("estimation.variance_needs_joint_inclusion_probabilities",
                           variance=variance)
    labels = np.zeros(yv.size, dtype=np.int64) if strata is None else np.asarray(strata)
    if labels.shape != yv.shape:
        raise InvalidInput("estimation.strata_have_one_label_per")
    groups = split_strata(labels)
    parts: list[_Part] = []
    for label, idx in groups:
        if isinstance(population_sizes, Mapping):
            N_h = population_sizes.get(label)
        elif population_sizes is not None and strata is None:
            N_h = float(population_sizes)
        else:
            N_h = None
        yh, ph = yv[idx], p[idx]
        t = float(np.sum(yh / ph))
        n_hat = float(np.sum(1.0 / ph))
        parts.append(_Part(label=None if strata is None else label, y=yh, p=ph,
                           joint=None if jm is None else jm[np.ix_(idx, idx)], t=t,
                           n_hat=n_hat, N=float(N_h) if N_h is not None else n_hat,
                           known=N_h is not None,
                           lonely=int(np.sum(ph < CERTAIN)) == 1, idx=idx))
    by = [_stratum(part, variance, confidence, interval) for part in parts]
    if strata is None:
        only = by[0]
        if parts[0].lonely and lonely == "fail":
            _lonely_overall(parts, lonely, [parts[0].y], variance)
        return EstimationResult(overall=only, by_stratum=[], confidence=confidence,
                                interval=interval, variance=variance, lonely=lonely)
    design_joint = (jm if joint_scope == "design" and variance in ("ht", "syg") else None)
    overall = _overall(parts, by, yv, p, variance, lonely, confidence, interval,
                       len(groups), design_joint)
    return EstimationResult(overall=overall, by_stratum=by, confidence=confidence,
                            interval=interval, variance=variance, lonely=lonely)


def _combine(contrib: list[float], parts: Sequence[_Part], bound: Sequence[float],
             lonely: str) -> float:
    if lonely == "bound":
        return float(sum(b if part.lonely else c
                         for c, b, part in zip(contrib, bound, parts, strict=True)))
    if lonely == "average":
        ok = [c for c, part in zip(contrib, parts, strict=True) if not part.lonely]
        return float(sum(ok) * len(parts) / len(ok)) if ok else math.nan
    return float(sum(contrib))


def _overall(parts: list[_Part], by: list[RateEstimate], yv: FloatArray, p: FloatArray,
             variance: str, lonely: str, confidence: float, interval: str,
             n_strata: int, design_joint: FloatArray | None = None) -> RateEstimate:
    known = all(part.known for part in parts)
    N = sum(part.N for part in parts)
    t_hat = sum(part.t for part in parts)
    if known:
        r_hat = sum(part.N * (part.t / part.n_hat) for part in parts) / N
        # separate ratio estimator: stratum h's z is W_h (y − R̂_h)/N̂_h
        # (R's "adjust" centres a lonely stratum at the overall estimate instead)
        zs = [(part.N / N) * (part.y - (r_hat if part.lonely and lonely == "adjust"
                                        else part.t / part.n_hat)) / part.n_hat
              for part in parts]
        bound_r = [_bound(part.p, (part.N / N) / part.n_hat) for part in parts]
        estimator = SEPARATE_RATIO
    else:
        n_hat = sum(part.n_hat for part in parts)
        r_hat = t_hat / n_hat
        N = n_hat
        zs = [(part.y - r_hat) / n_hat for part in parts]
        bound_r = [_bound(part.p, 1.0 / n_hat) for part in parts]
        estimator = COMBINED_RATIO
    if design_joint is not None:
        # one quadratic form over all sampled units with the design's π_kl across strata
        order = np.concatenate([part.idx for part in parts if part.idx is not None])
        jfull = design_joint[np.ix_(order, order)]
        pfull = np.concatenate([part.p for part in parts])
        v_r = stratum_variance(variance, np.concatenate(zs), pfull, jfull)
        v_t = stratum_variance(variance, np.concatenate([part.y for part in parts]), pfull,
                               jfull)
        suffix = JOINT_ACROSS
    else:
        c_r, suffix = _lonely_overall(parts, lonely, zs, variance)
        c_t, _ = _lonely_overall(parts, lonely, [part.y for part in parts], variance)
        v_r = _combine(c_r, parts, bound_r, lonely)
        v_t = _combine(c_t, parts, [_bound(part.p, 1.0) for part in parts], lonely)
    if known:
        ht_rate, v_ht, ht_est = t_hat / N, v_t / N**2, "ht t̂/N"
    else:
        ht_rate, v_ht, ht_est = r_hat, v_r, "ratio t̂/N̂ (N unknown)"
    labels = {e.variance_method.replace(LONELY, "") for e in by}
    label = (variance if design_joint is not None or len(labels) != 1 else labels.pop()) + suffix
    equal = bool(np.allclose(p, p[0]))
    return build_rate_estimate(
        None, int(yv.size), round(float(yv.sum())), N, known, t_hat, v_t, r_hat,
        v_r, ht_rate, v_ht, kish_deff(1.0 / p), yv.size - n_strata, confidence,
        interval, equal, label, estimator, ht_est)


def estimate_replicates(y: ArrayLike, pik: ArrayLike, samples: ArrayLike, *,
                        population_size: float | None = None, confidence: float = 0.95,
                        interval: str = "beta", variance: str = "deville",
                        ) -> dict[str, FloatArray]:
    """:func:`estimate` for many unstratified samples of one population at once.

    *y* and *pik* are the population's outcomes and π; *samples* a reps × n index matrix
    (:func:`sampler.methods.draw_many`).  Returns arrays over the replicates — ``ht_count``,
    ``ht_rate`` (+``_low``/``_high``), ``hajek_rate`` (+``_low``/``_high``), ``hajek_var``,
    ``ht_var`` — equal row by row to :func:`estimate` (a test checks), for Monte Carlo studies
    of bias and coverage.  *variance*: ``deville`` or ``hajek``; *interval*: ``beta``,
    ``logit`` or ``xlogit``.
    """
    from scipy import special

    if variance not in ("deville", "hajek"):
        raise InvalidInput("estimation.estimate_replicates_supports_deville_hajek")
    if interval not in ("beta", "logit", "xlogit"):
        raise InvalidInput("estimation.estimate_replicates_supports_beta_logit")
    idx = np.asarray(samples, dtype=np.intp)
    Y = np.asarray(y, dtype=np.float64)[idx]
    P = np.asarray(pik, dtype=np.float64)[idx]
    _reps, n = Y.shape
    W = 1.0 / P
    t = (Y * W).sum(axis=1)
    n_hat = W.sum(axis=1)
    r = t / n_hat
    frac = P < CERTAIN
    k = frac.sum(axis=1)
    C = np.where(frac, 1.0 - P, 0.0)

    def var(Z: FloatArray) -> FloatArray:
        ratio = Z / P
        csum = C.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            a = C / csum
            big_a = (a * ratio).sum(axis=1, keepdims=True)
            ss = (C * (ratio - big_a) ** 2).sum(axis=1)
            out = ss / (1.0 - (a ** 2).sum(axis=1)) if variance == "deville" else k / (k - 1) * ss
        return np.where(k == 0, 0.0, out)

    # one non-certainty unit: the bound (1−π)/4 per unit, as estimate() does
    lonely = k == 1
    bound_t = np.where(frac, (1.0 - P) * 0.25 / P**2, 0.0).sum(axis=1)
    v_t = np.where(lonely, bound_t, var(Y))
    z = (Y - r[:, None]) / n_hat[:, None]
    v_r = np.where(lonely, bound_t / n_hat**2, var(z))
    N = float(population_size) if population_size is not None else None
    if N is not None:
        ht_rate, v_ht = t / N, v_t / N**2
    else:
        ht_rate, v_ht = r, v_r
    deff_k = n * (W**2).sum(axis=1) / n_hat**2
    alpha = 1.0 - confidence
    df = n - 1

    def beta(p: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray]:
        ok = (p > 0) & (p < 1) & (v > 0) & np.isfinite(v)
        with np.errstate(invalid="ignore", divide="ignore"):
            n_eff = np.where(ok, p * (1 - p) / v, n / np.maximum(deff_k, 1.0))
        if n >= 2 and df >= 1:
            n_eff = n_eff * (special.stdtrit(n - 1, alpha / 2)
                             / special.stdtrit(df, alpha / 2)) ** 2
        a1, b1 = n_eff * p, n_eff * (1 - p) + 1
        a2, b2 = n_eff * p + 1, n_eff * (1 - p)
        low = np.where(a1 <= 0, 0.0, special.betaincinv(np.maximum(a1, 1e-300), b1,
                                                        alpha / 2))
        high = np.where(b2 <= 0, 1.0, special.betaincinv(a2, np.maximum(b2, 1e-300),
                                                         1 - alpha / 2))
        return low, high

    def logit(p: FloatArray, v: FloatArray) -> tuple[FloatArray, FloatArray]:
        ok = (p > 0) & (p < 1) & (v > 0) & np.isfinite(v)
        tq = special.stdtrit(df, 1 - alpha / 2) if df >= 1 else special.ndtri(1 - alpha / 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.log(p / (1 - p))
            half = tq * np.sqrt(v) / (p * (1 - p))
        lo_b, hi_b = beta(p, v)
        return (np.where(ok, special.expit(centre - half), lo_b),
                np.where(ok, special.expit(centre + half), hi_b))

    ci = beta if interval == "beta" else logit
    hl, hh = ci(r, v_r)
    tl, th = ci(ht_rate, v_ht)
    return {"ht_count": t, "ht_var": v_t, "ht_rate": ht_rate, "ht_rate_low": tl,
            "ht_rate_high": th, "hajek_rate": r, "hajek_var": v_r, "hajek_rate_low": hl,
            "hajek_rate_high": hh}
