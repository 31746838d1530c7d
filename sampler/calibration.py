"""Calibration of the design weights to known frame totals, as R ``survey::calibrate``.

Why: the frozen frame knows exact counts (listings per platform, sector, origin …) and
totals (e.g. of prices); weights that reproduce them remove the part of the sampling error
those variables explain.  Post-stratification (:func:`sampler.domains.poststratify`) is the
one-variable case; calibration takes several at once.

* ``linear`` (GREG; Deville & Särndal 1992, *JASA* 87, 376–382): g = 1 + xᵀλ with
  λ = (Σ d x xᵀ)⁻¹ (X − Σ d x), d = 1/π — R ``calibrate(calfun="linear")``.
* ``raking`` (Deville, Särndal & Sautory 1993, *JASA* 88, 1013–1020): g = exp(xᵀη), η by
  Newton's method until the totals are met to 1e-12 relative — ``calfun="raking"``.

Variance as R's ``svyrecvar`` for a calibrated design: the estimating variable z (y for the
total, (y − R̂)/N̂ for the mean) is replaced by g·(z − xᵀB), B the d-weighted regression of
z on x, and the design's variance estimator (:mod:`sampler.variance`, per stratum) is applied
to it.  Intervals by :mod:`sampler.intervals` with df = units − strata.  Checked against R in
``tests/r/golden.R`` (case ``calibrate``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sampler.estimation import RateEstimate, build_rate_estimate, kish_deff
from sampler.probabilities import split_strata
from sampler.variance import CERTAIN, stratum_variance
from store.errors import InvalidInput

FloatArray = NDArray[np.float64]
CALIBRATION_METHODS: tuple[str, ...] = ("linear", "raking")
MAX_ITERATIONS = 100
TOLERANCE = 1e-12


@dataclass(frozen=True)
class Calibrated:
    """A calibrated estimate with its g-factors (calibrated weight = g/π)."""

    estimate: RateEstimate
    g: FloatArray
    method: str
    iterations: int

    def as_dict(self) -> dict[str, Any]:
        return {"estimate": self.estimate.as_dict(), "method": self.method,
                "iterations": self.iterations, "g_min": float(self.g.min()),
                "g_max": float(self.g.max())}


def calibration_factors(X: ArrayLike, d: ArrayLike, totals: ArrayLike,
                        method: str = "linear") -> tuple[FloatArray, int]:
    """(g, iterations): factors with Σ d g x = totals (see the module docstring)."""
    x = np.asarray(X, dtype=np.float64)
    w = np.asarray(d, dtype=np.float64)
    t = np.asarray(totals, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] != w.size or x.shape[1] != t.size:
        raise InvalidInput("calibration.calibration_needs_n_q_matrix")
    if method not in CALIBRATION_METHODS:
        raise InvalidInput("calibration.unknown_calibration_choose_one", method=method,
                           join_calibration_methods=', '.join(CALIBRATION_METHODS))
    if np.linalg.matrix_rank(x * np.sqrt(w)[:, None]) < x.shape[1]:
        raise InvalidInput("calibration.calibration_variables_are_collinear_sample")
    if method == "linear":
        T = x.T @ (w[:, None] * x)
        lam = np.linalg.solve(T, t - x.T @ w)
        return 1.0 + x @ lam, 1
    eta = np.zeros(t.size)
    scale = np.maximum(np.abs(t), 1.0)
    for it in range(1, MAX_ITERATIONS + 1):
        g = np.exp(x @ eta)
        miss = t - x.T @ (w * g)
        if np.max(np.abs(miss) / scale) < TOLERANCE:
            return g, it
        J = x.T @ ((w * g)[:, None] * x)
        eta = eta + np.linalg.solve(J, miss)
    raise InvalidInput("calibration.raking_did_converge_totals_cannot")


def _residual(z: FloatArray, x: FloatArray, d: FloatArray, g: FloatArray) -> FloatArray:
    """g·(z − xᵀB), B the d-weighted least-squares fit of z on x (R ``qr.resid``)."""
    sw = np.sqrt(d)
    B, *_ = np.linalg.lstsq(x * sw[:, None], z * sw, rcond=None)
    return g * (z - x @ B)


def _design_variance(e: FloatArray, p: FloatArray, labels: NDArray[Any], variance: str,
                     ) -> float:
    total = 0.0
    for _label, idx in split_strata(labels):
        ph = p[idx]
        if int(np.sum(ph < CERTAIN)) == 1:
            continue  # one non-certainty unit: no within-stratum variance (R: remove)
        v = stratum_variance(variance, e[idx] * ph, ph)
        total += 0.0 if not math.isfinite(v) else v
    return total


def calibrate(y: ArrayLike, pik: ArrayLike, X: ArrayLike, totals: ArrayLike, *,
              strata: ArrayLike | None = None, method: str = "linear",
              population: float | None = None, confidence: float = 0.95,
              interval: str = "beta", variance: str = "deville") -> Calibrated:
    """Rate and count of y with weights calibrated to *totals* of the columns of *X*.

    *population*: the frame's N when known (for the HT rate t̂/N; with an intercept or a full
    set of category counts among the totals the calibrated Σ g/π equals it).  *variance*:
    ``deville``, ``hajek`` or ``wr`` within strata on the calibration residuals (the SRS
    case is R's exactly).
    """
    yv = np.asarray(y, dtype=np.float64)
    p = np.asarray(pik, dtype=np.float64)
    x = np.asarray(X, dtype=np.float64)
    if yv.shape != p.shape or yv.ndim != 1 or x.shape[0] != yv.size:
        raise InvalidInput("calibration.y_pik_rows_x_have")
    if variance not in ("deville", "hajek", "wr"):
        raise InvalidInput("calibration.calibrated_estimates_support_deville_hajek")
    labels = np.zeros(yv.size, dtype=np.int64) if strata is None else np.asarray(strata)
    d = 1.0 / p
    g, iterations = calibration_factors(x, d, totals, method)
    w = d * g
    t = float(np.sum(w * yv))
    n_hat = float(np.sum(w))
    r = t / n_hat
    v_t = _design_variance(_residual(yv, x, d, g) * d, p, labels, variance)
    u = (yv - r) / n_hat
    v_r = _design_variance(_residual(u, x, d, g) * d, p, labels, variance)
    known = population is not None
    N = float(population) if population is not None else n_hat
    ht_rate, v_ht = (t / N, v_t / N**2) if known else (r, v_r)
    n_strata = len(split_strata(labels))
    est = build_rate_estimate(
        None, int(yv.size), round(float(yv.sum())), N, known, t, v_t, r, v_r, ht_rate, v_ht,
        kish_deff(w), yv.size - n_strata, confidence, interval, bool(np.allclose(w, w[0])),
        f"{variance} on {method} calibration residuals (R svyrecvar)",
        f"hajek, weights calibrated ({method}) Σgy/π ÷ Σg/π",
        "calibrated t̂/N" if known else "calibrated ratio (N unknown)")
    return Calibrated(est, g, method, iterations)


def category_matrix(fields: Mapping[str, ArrayLike],
                    counts: Mapping[str, Mapping[str, float]],
                    ) -> tuple[FloatArray, FloatArray, list[str], list[str]]:
    """(X, totals, column names, dropped levels) for calibrating to category counts.

    The first field's levels all get a column (together they are the intercept: their counts
    sum to N); every further field drops its first level (R's treatment contrasts span the
    same space, so g is the same).  Levels of the frame that no sampled unit has cannot be
    calibrated to and are dropped (named in the fourth element), as R's ``partial=TRUE``.
    """
    cols: list[FloatArray] = []
    tots: list[float] = []
    names: list[str] = []
    dropped: list[str] = []
    for k, (field, values) in enumerate(fields.items()):
        vals = np.asarray(values).astype(str)
        known = counts.get(field, {})
        levels = sorted(known)
        present = [lv for lv in levels if np.any(vals == lv)]
        dropped.extend(f"{field}={lv}" for lv in levels if lv not in present)
        for lv in present[(0 if k == 0 else 1):]:
            cols.append((vals == lv).astype(np.float64))
            tots.append(float(known[lv]))
            names.append(f"{field}={lv}")
    if not cols:
        raise InvalidInput("calibration.nothing_calibrate")
    return np.column_stack(cols), np.array(tots), names, dropped
