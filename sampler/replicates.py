"""Replicate-weight variances, as R ``survey::as.svrepdesign``.

Why: a replicate design carries its variance in the weights — any statistic (a rate, a
domain's rate, a calibrated rate) gets its standard error by recomputing it with each column
of weights, with no formula per statistic, and the weights can be handed to a partner with
the data.

* ``jkn`` — the stratified delete-one jackknife (``type="JKn"``): replicate j of stratum h
  drops unit j and multiplies the other units of h by n_h/(n_h − 1); rscale
  (n_h − 1)/n_h · (1 − n_h/N_h) with N_h known (R's ``fpc``), so strata taken whole
  (certainty units) add no replicate (R ``survey.drop.replicates``).  A stratum with one unit
  has no replicate (R ``survey.lonely.psu = "remove"``; labelled).
* ``bootstrap`` — Rao & Wu's (1988, *JASA* 83, 231–241) rescaled bootstrap
  (``type="subbootstrap"``): in each stratum n_h − 1 units drawn with replacement, factor
  m_i·n_h/(n_h − 1); scale 1/(B − 1).  Random: seeded by the caller (numpy), so its values
  are not R's; the golden test feeds R's own replicate factors to the same variance code.

v(θ̂) = scale · Σ_r rscale_r (θ_r − θ̄)², θ̄ the mean of the replicates (R's default
``survey.replicates.mse = FALSE``) or θ̂ with ``mse=True``; df = rank of the analysis weights
− 1 (R ``degf``).  Checked against R in ``tests/r/golden.R`` (case ``replicates``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sampler.estimation import RateEstimate, build_rate_estimate, kish_deff
from sampler.probabilities import split_strata
from store.errors import InvalidInput

FloatArray = NDArray[np.float64]
REPLICATE_TYPES: tuple[str, ...] = ("jkn", "bootstrap")


@dataclass(frozen=True)
class Replicates:
    """Replicate factors (n × R, multiplying the design weights), their scales and a note."""

    factors: FloatArray
    rscales: FloatArray
    scale: float
    kind: str
    note: str = ""
    #: Strata of one unit left without replicates (the note's subject, for a coded note).
    lonely: tuple[str, ...] = ()


def jackknife(strata: ArrayLike, population_sizes: Mapping[Any, float] | None = None,
              ) -> Replicates:
    """Stratified delete-one jackknife factors (R ``as.svrepdesign(type="JKn")``)."""
    labels = np.asarray(strata)
    cols: list[FloatArray] = []
    rs: list[float] = []
    lonely: list[str] = []
    for label, idx in split_strata(labels):
        n_h = idx.size
        fpc = 1.0
        if population_sizes is not None and label in population_sizes:
            N_h = float(population_sizes[label])
            if N_h < n_h:
                raise InvalidInput("replicates.stratum_n_h_n_h", label=label, N_h=N_h, n_h=n_h)
            fpc = (N_h - n_h) / N_h
        if fpc == 0.0:
            continue  # taken whole: no sampling variance, no replicate
        if n_h == 1:
            lonely.append(str(label))
            continue
        for j in idx:
            f = np.ones(labels.size)
            f[idx] = n_h / (n_h - 1)
            f[j] = 0.0
            cols.append(f)
            rs.append(fpc * (n_h - 1) / n_h)
    if not cols:
        raise InvalidInput("replicates.every_stratum_was_taken_whole")
    note = (f"strata with one unit left without replicates: {', '.join(lonely)}"
            if lonely else "")
    return Replicates(np.column_stack(cols), np.array(rs), 1.0, "jkn", note,
                      tuple(str(h) for h in lonely))


def bootstrap(strata: ArrayLike, reps: int, rng: np.random.Generator,
              population_sizes: Mapping[Any, float] | None = None) -> Replicates:
    """Rao–Wu rescaled bootstrap factors (R ``as.svrepdesign(type="subbootstrap")``).

    Strata taken whole (n_h = N_h when *population_sizes* says so) and strata with one unit
    keep factor 1.
    """
    if reps < 2:
        raise InvalidInput("replicates.bootstrap_needs_least_replicates")
    labels = np.asarray(strata)
    F = np.ones((labels.size, reps))
    for label, idx in split_strata(labels):
        n_h = idx.size
        whole = (population_sizes is not None and label in population_sizes
                 and float(population_sizes[label]) <= n_h)
        if n_h < 2 or whole:
            continue
        draws = rng.integers(0, n_h, size=(reps, n_h - 1))
        counts = np.stack([np.bincount(row, minlength=n_h) for row in draws], axis=1)
        F[idx] = counts * n_h / (n_h - 1)
    return Replicates(F, np.ones(reps), 1.0 / (reps - 1), "bootstrap")


def _spread(theta: FloatArray, full: float, rep: Replicates, mse: bool) -> float:
    keep = rep.rscales > 0
    centre = full if mse else float(theta[keep].mean())
    return float(rep.scale * np.sum(rep.rscales * (theta - centre) ** 2))


def replicate_estimate(y: ArrayLike, pik: ArrayLike, rep: Replicates, *,
                       population: float | None = None, mse: bool = False,
                       confidence: float = 0.95, interval: str = "beta") -> RateEstimate:
    """HT count and Hájek rate with replicate-weight variances (R ``svytotal``/``svymean`` on
    an ``svrepdesign``); the interval uses df = rank of the analysis weights − 1."""
    yv = np.asarray(y, dtype=np.float64)
    p = np.asarray(pik, dtype=np.float64)
    if yv.shape != p.shape or rep.factors.shape[0] != yv.size:
        raise InvalidInput("replicates.y_pik_replicate_factors_have")
    w = 1.0 / p
    W = w[:, None] * rep.factors
    t_rep = yv @ W
    n_rep = W.sum(axis=0)
    t = float(w @ yv)
    n_hat = float(w.sum())
    r = t / n_hat
    v_t = _spread(t_rep, t, rep, mse)
    v_r = _spread(t_rep / n_rep, r, rep, mse)
    known = population is not None
    N = float(population) if population is not None else n_hat
    ht_rate, v_ht = (t / N, v_t / N**2) if known else (r, v_r)
    df = float(np.linalg.matrix_rank(W, tol=1e-5 * float(np.abs(W).max())) - 1)
    label = f"replicate {rep.kind} ({rep.factors.shape[1]} replicates" + (
        ", mse" if mse else "") + ")"
    return build_rate_estimate(
        None, int(yv.size), round(float(yv.sum())), N, known, t, v_t, r, v_r, ht_rate, v_ht,
        kish_deff(w), df, confidence, interval, bool(np.allclose(p, p[0])), label,
        "hajek R̂=Σy/π÷Σ1/π", "ht t̂/N" if known else "ratio t̂/N̂ (N unknown)")
