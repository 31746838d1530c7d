"""Estimates for domains that are not strata, and post-stratification to known counts.

**Domains** (platform, sector, origin, seller network …) cut across the strata, so a domain's
sample size is random.  The rate of domain d is the ratio R̂_d = Σ_d y/π ÷ Σ_d 1/π, and its
variance is computed over the *whole* design with the linearised variable
z = 1_d (y − R̂_d)/N̂_d (zero outside the domain) — not from the domain's units alone, which
would treat its sample size as fixed.  That is what R ``survey::svyby(~y, ~d, design,
svymean)`` and ``svyciprop(~y, subset(design, d == …))`` do; the interval's df is R's
``degf`` of the subset: the domain's units minus the strata they fall in.  The domain's count
is Σ_d y/π with variance from z = 1_d y.  With the domain's population size known
(``domain_sizes``), the HT rate is Σ_d y/π ÷ N_d.

**Post-stratification** (R ``survey::postStratify``): weights are scaled within each
post-stratum g so they add up to its known count N_g (g_k = N_g / Σ_g 1/π); the variance
uses the linearised variable with the post-stratum means removed exactly as R's
``svyrecvar`` does: x'_k = x_k − w*_k · Σ_{j∈g} w_j e_j / Σ_{j∈g} w_j, with x = w* e the
weighted score, w the design weights and w* = g w the post-stratified ones.

Both use the stratum variance of :mod:`sampler.variance` (``deville``, ``hajek``; with equal
π in a stratum the exact SRS variance, which is what R computes for a stratified SRS with
fpc — checked against R in ``tests/sampler/test_r_golden.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sampler.estimation import RateEstimate, build_rate_estimate, kish_deff
from sampler.probabilities import split_strata
from sampler.variance import CERTAIN, stratum_variance
from store.errors import InvalidInput

FloatArray = NDArray[np.float64]

#: Plan domains the CLI offers (``spotcheck plan estimate --by``).
DOMAIN_FIELDS: tuple[str, ...] = ("platform", "sector", "origin", "seller-network")


def _check(y: ArrayLike, pik: ArrayLike, labels: ArrayLike | None,
           name: str) -> tuple[FloatArray, FloatArray, NDArray[Any]]:
    yv = np.asarray(y, dtype=np.float64)
    p = np.asarray(pik, dtype=np.float64)
    if yv.shape != p.shape or yv.ndim != 1 or yv.size == 0:
        raise InvalidInput("domains.y_pik_non_empty_one")
    if np.any((p <= 0) | (p > 1 + 1e-9)):
        raise InvalidInput("domains.every_sampled_unit_needs_inclusion")
    lab = np.zeros(yv.size, dtype=np.int64) if labels is None else np.asarray(labels)
    if lab.shape != yv.shape:
        raise InvalidInput("domains.have_one_label_per_sampled", name=name)
    return yv, p, lab


def _design_variance(z: FloatArray, p: FloatArray, groups: list[tuple[Any, NDArray[np.intp]]],
                     variance: str, lonely_bound: FloatArray) -> float:
    """Σ_h v_h(z); a stratum with one non-certainty unit adds its *lonely_bound* share."""
    total = 0.0
    for _label, idx in groups:
        ph = p[idx]
        if int(np.sum(ph < CERTAIN)) == 1:
            total += float(np.sum(lonely_bound[idx]))
            continue
        v = stratum_variance(variance, z[idx], ph)
        total += 0.0 if not math.isfinite(v) else v
    return total


def estimate_domains(y: ArrayLike, pik: ArrayLike, domains: ArrayLike, *,
                     strata: ArrayLike | None = None,
                     domain_sizes: Mapping[Any, float] | None = None,
                     confidence: float = 0.95, interval: str = "beta",
                     variance: str = "deville") -> list[RateEstimate]:
    """One :class:`RateEstimate` per domain label (sorted), its ``stratum`` field the label."""
    yv, p, dom = _check(y, pik, domains, "domains")
    _, _, lab = _check(y, pik, strata, "strata")
    if variance not in ("deville", "hajek", "wr"):
        raise InvalidInput("domains.domain_estimates_support_deville_hajek")
    groups = list(split_strata(lab))
    w = 1.0 / p
    out: list[RateEstimate] = []
    for label, idx in split_strata(dom):
        ind = np.zeros(yv.size)
        ind[idx] = 1.0
        t = float(np.sum(ind * yv * w))
        n_hat = float(np.sum(ind * w))
        r = t / n_hat
        z_t = ind * yv
        z_r = ind * (yv - r) / n_hat
        # one non-certainty unit in a stratum: the largest variance of a 0/1 outcome
        bound = np.where(p < CERTAIN, (1.0 - p) * 0.25 / p**2, 0.0) * ind
        v_t = _design_variance(z_t, p, groups, variance, bound)
        v_r = _design_variance(z_r, p, groups, variance, bound / n_hat**2)
        n_strata = np.unique(lab[idx]).size
        known = domain_sizes is not None and label in domain_sizes
        N = float(domain_sizes[label]) if known and domain_sizes is not None else n_hat
        if known:
            ht_rate, v_ht, ht_est = t / N, v_t / N**2, "ht t̂_d/N_d"
        else:
            ht_rate, v_ht, ht_est = r, v_r, "ratio t̂_d/N̂_d (N_d unknown)"
        pd = p[idx]
        out.append(build_rate_estimate(
            label, int(idx.size), round(float(yv[idx].sum())), N, known, t, v_t,
            r, v_r, ht_rate, v_ht, kish_deff(1.0 / pd), idx.size - n_strata,
            confidence, interval, bool(np.allclose(pd, pd[0])),
            f"{variance}, domain linearised over the design",
            "hajek domain ratio Σ_d y/π ÷ Σ_d 1/π", ht_est))
    return out


def poststratify(y: ArrayLike, pik: ArrayLike, post: ArrayLike, counts: Mapping[Any, float],
                 *, strata: ArrayLike | None = None, confidence: float = 0.95,
                 interval: str = "beta", variance: str = "deville") -> RateEstimate:
    """The post-stratified rate and count (weights scaled to the known *counts* N_g)."""
    yv, p, ps = _check(y, pik, post, "post")
    _, _, lab = _check(y, pik, strata, "strata")
    if variance not in ("deville", "hajek", "wr"):
        raise InvalidInput("domains.post_stratification_supports_deville_hajek")
    groups = list(split_strata(lab))
    w = 1.0 / p
    g = np.empty(yv.size)
    members: list[NDArray[np.intp]] = []
    for label, idx in split_strata(ps):
        if label not in counts:
            raise InvalidInput("domains.known_count_post_stratum", label=label)
        g[idx] = float(counts[label]) / float(np.sum(w[idx]))
        members.append(idx)
    ws = w * g
    N = float(np.sum(ws))
    t = float(np.sum(ws * yv))
    r = t / N

    def residual(x: FloatArray) -> FloatArray:
        out = x.copy()
        for idx in members:
            e = x[idx] / ws[idx]  # the unit's score, unweighted
            out[idx] -= ws[idx] * float(np.sum(w[idx] * e) / np.sum(w[idx]))
        return out

    # R's x is the weighted score; our variance functions take z with x = z/π, so z = π x.
    x_t = residual(ws * yv)
    x_r = residual(ws * (yv - r) / N)
    bound = np.where(p < CERTAIN, (1.0 - p) * 0.25 / p**2, 0.0)
    v_t = _design_variance(p * x_t, p, groups, variance, bound * g**2)
    v_r = _design_variance(p * x_r, p, groups, variance, bound * (g / N) ** 2)
    return build_rate_estimate(
        None, int(yv.size), round(float(yv.sum())), N, True, t, v_t, r, v_r, r, v_r,
        kish_deff(ws), yv.size - len(groups), confidence, interval,
        bool(np.allclose(ws, ws[0])), f"{variance}, post-stratified (R postStratify)",
        "post-stratified ratio Σ g y/π ÷ Σ g/π", "post-stratified t̂/N")
