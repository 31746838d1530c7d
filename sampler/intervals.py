"""Confidence intervals for a proportion estimated from a survey sample, as R computes them.

Every function returns an :class:`Interval` that names the method it used, so a report can
print it beside the numbers.  The methods mirror R ``survey::svyciprop`` (survey 4.1) and
``stats::binom.test``; ``tests/r/golden.R`` checks them against R to 1e-9.

* ``beta`` — Korn & Graubard (1998), exactly as ``svyciprop(method="beta")``: the effective
  sample size n* = p̂(1−p̂)/v(p̂) (no cap), times (t_{n−1}/t_df)² with n the number of sampled
  units and df the design's degrees of freedom (units − strata, R's ``degf``), then the
  Clopper–Pearson limits ``qbeta(α/2, n*p̂, n*(1−p̂)+1)`` and ``qbeta(1−α/2, n*p̂+1, n*(1−p̂))``.
  **Zero failures (p̂ = 0, or p̂ = 1, or v = 0)**: R returns NaN (0/0).  We set
  n* = n / deff_Kish before the same t factor — with equal weights the Clopper–Pearson
  interval [0, 1 − (α/2)^{1/n}] of x = 0 in n; unequal weights widen it — and say so in the
  method label (``beta, p̂=0: n*=n/deff_Kish``).  NCHS (Parker et al. 2017) uses n* = n there.
  Note: for a simple random sample without finite-population correction R's variance is
  p̂(1−p̂)/(n−1), so its n* is n−1, not n: ``beta`` is then Clopper–Pearson on n−1 trials.
* ``clopper-pearson`` — the exact binomial interval of x failures in n (``binom.test``), for
  equal-probability (SRS) samples only; with unequal weights it would ignore the design, so it
  is refused.
* ``logit`` — ``svyciprop(method="logit")``: a Wald interval on the logit scale,
  expit(logit p̂ ± t_{df} · se/(p̂(1−p̂))) (the intercept of a quasibinomial ``svyglm``).
* ``xlogit`` — ``svyciprop(method="xlogit")``: the same transformation through
  ``svycontrast``; numerically identical to ``logit`` for a single proportion.
  At p̂ ∈ {0, 1} the logit is infinite (R returns a degenerate or NaN interval): both fall
  back to the ``beta`` zero-failure rule and say so.

References: Korn, E. L. & Graubard, B. I. (1998) Confidence intervals for proportions with
small expected number of positive counts estimated from survey data, *Survey Methodology*
24, 193–201; Lumley, T., R package ``survey``, ``svyciprop``; Parker, J. D. et al. (2017)
NCHS data presentation standards for proportions, *Vital Health Stat* 2(175).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from store.errors import InvalidInput

#: Interval methods, in R's names (``beta`` is Korn–Graubard).
INTERVAL_METHODS: tuple[str, ...] = ("beta", "clopper-pearson", "logit", "xlogit")
#: What people read for each is in store.labels (``interval_method``).
ZERO_RULE = "p̂=0: n*=n/deff_Kish"
ONE_RULE = "p̂=1: n*=n/deff_Kish"


@dataclass(frozen=True)
class Interval:
    """A two-sided interval for a proportion and how it was computed."""

    low: float
    high: float
    method: str
    n_effective: float | None = None

    @property
    def pair(self) -> tuple[float, float]:
        return (self.low, self.high)


def _qbeta(q: float, a: float, b: float) -> float:
    """R's ``qbeta`` including its limits: shape 0 puts all mass at 0 (a) or 1 (b)."""
    # scipy is imported where it is used: scipy.special costs ~0.3 s at start-up, paid by
    # every process that imports ``sampler`` (the CLI, test workers) even when it computes
    # no interval.
    from scipy import special

    if a <= 0:
        return 0.0
    if b <= 0:
        return 1.0
    return float(special.betaincinv(a, b, q))


def _t(df: float, q: float) -> float:
    from scipy import special  # lazily: see _qbeta

    return float(special.stdtrit(df, q)) if math.isfinite(df) else float(special.ndtri(q))


def _degenerate(p: float, variance: float) -> bool:
    return not (0.0 < p < 1.0) or not (variance > 0.0) or not math.isfinite(variance)


def korn_graubard(p: float, variance: float, n: int, df: float, *, deff_kish: float = 1.0,
                  confidence: float = 0.95) -> Interval:
    """``svyciprop(method="beta")``: Clopper–Pearson with n* = p̂(1−p̂)/v · (t_{n−1}/t_df)².

    *n* is the number of sampled units of the domain (R's ``nrow(design)``), *df* the design
    degrees of freedom (R's ``degf(design)``).  See the module docstring for p̂ ∈ {0, 1}.
    """
    alpha = 1.0 - confidence
    p = min(max(p, 0.0), 1.0)
    if n <= 0:
        return Interval(0.0, 1.0, "beta, no data", 0.0)
    label = "beta"
    if _degenerate(p, variance):
        n_eff = n / max(deff_kish, 1.0)
        label = f"beta, {ONE_RULE if p >= 1.0 else ZERO_RULE}"
    else:
        n_eff = p * (1.0 - p) / variance
    if n >= 2 and df >= 1:
        n_eff *= (_t(n - 1, alpha / 2) / _t(df, alpha / 2)) ** 2
    else:
        label += ", no t factor (df<1)"
    low = _qbeta(alpha / 2, n_eff * p, n_eff * (1.0 - p) + 1.0)
    high = _qbeta(1.0 - alpha / 2, n_eff * p + 1.0, n_eff * (1.0 - p))
    return Interval(low, high, label, float(n_eff))


def clopper_pearson(x: int, n: int, *, confidence: float = 0.95) -> Interval:
    """Exact binomial interval for x failures in n (R ``binom.test(x, n)$conf.int``)."""
    if n <= 0:
        return Interval(0.0, 1.0, "clopper-pearson, no data", 0.0)
    if not 0 <= x <= n:
        raise InvalidInput("intervals.failures_lie", x=x, n=n)
    from scipy import special  # lazily: see _qbeta

    alpha = 1.0 - confidence
    low = 0.0 if x == 0 else float(special.betaincinv(x, n - x + 1, alpha / 2))
    high = 1.0 if x == n else float(special.betaincinv(x + 1, n - x, 1 - alpha / 2))
    return Interval(low, high, "clopper-pearson", float(n))


def logit_interval(p: float, variance: float, n: int, df: float, *, deff_kish: float = 1.0,
                   confidence: float = 0.95, name: str = "logit") -> Interval:
    """``svyciprop(method="logit"|"xlogit")``: expit(logit p̂ ± t_df · se / (p̂(1−p̂)))."""
    if _degenerate(p, variance):
        kg = korn_graubard(p, variance, n, df, deff_kish=deff_kish, confidence=confidence)
        return Interval(kg.low, kg.high, f"{name}→{kg.method}", kg.n_effective)
    from scipy import special  # lazily: see _qbeta

    alpha = 1.0 - confidence
    q = 1.0 - alpha / 2
    t = _t(df, q) if df >= 1 else float(special.ndtri(q))
    centre = math.log(p / (1.0 - p))
    half = t * math.sqrt(variance) / (p * (1.0 - p))
    return Interval(float(special.expit(centre - half)), float(special.expit(centre + half)),
                    name, p * (1.0 - p) / variance)


def proportion_interval(method: str, p: float, variance: float, n: int, df: float, *,
                        failures: int | None = None, equal_weights: bool = False,
                        deff_kish: float = 1.0, confidence: float = 0.95) -> Interval:
    """The interval of *method* (one of :data:`INTERVAL_METHODS`) for an estimated rate."""
    if not 0 < confidence < 1:
        raise InvalidInput("intervals.confidence_between")
    if method == "beta":
        return korn_graubard(p, variance, n, df, deff_kish=deff_kish, confidence=confidence)
    if method in ("logit", "xlogit"):
        return logit_interval(p, variance, n, df, deff_kish=deff_kish, confidence=confidence,
                              name=method)
    if method == "clopper-pearson":
        if not equal_weights or failures is None:
            raise InvalidInput("intervals.clopper_pearson_equal_probability_srs")
        return clopper_pearson(failures, n, confidence=confidence)
    raise InvalidInput("intervals.unknown_interval_method_choose_one", method=method,
                       join_interval_methods=', '.join(INTERVAL_METHODS))
