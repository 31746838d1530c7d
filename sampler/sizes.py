"""How many purchases: the sample-size planner.

Discovery (acceptance) sampling asks: how many buys make it likely, with confidence C, to
catch at least one non-compliant listing if the rate is at least p*?  With a large frame
P(no failure in n) = (1−p*)ⁿ, hence n = ⌈ln(1−C) / ln(1−p*)⌉ — 59 buys for C = 95 %,
p* = 5 %; 299 for 1 %; 29 for 10 %.  For a small frame of N listings, D = ⌈p*·N⌉ of them
non-compliant, the hypergeometric version needs fewer.

Precision planning asks how many buys estimate a rate p to ± e:  n₀ = z²p(1−p)/e², with the
finite-population correction n = n₀/(1 + (n₀−1)/N) and a design effect.
"""

from __future__ import annotations

import math

from store.errors import InvalidInput


def _check(confidence: float, rate: float) -> None:
    if not 0 < confidence < 1:
        raise InvalidInput("sizes.confidence_between", confidence=confidence)
    if not 0 < rate < 1:
        raise InvalidInput("sizes.rate_between", rate=rate)


def discovery_sample_size(confidence: float, rate: float, population: int | None = None) -> int:
    """Smallest n with P(at least one failure) ≥ *confidence* when the rate is *rate*."""
    _check(confidence, rate)
    n_inf = math.ceil(math.log(1 - confidence) / math.log(1 - rate) - 1e-12)
    if population is None:
        return n_inf
    if population < 1:
        raise InvalidInput("sizes.population_least")
    # scipy.stats is imported where it is used: it costs ~0.5 s at start-up, paid by every
    # process that imports ``sampler`` (the CLI, test workers) even when it plans no size.
    from scipy import stats

    defective = math.ceil(rate * population - 1e-12)
    for n in range(1, min(n_inf, population) + 1):
        if stats.hypergeom.pmf(0, population, defective, n) <= 1 - confidence:
            return n
    return min(n_inf, population)


def detection_probability(n: int, rate: float, population: int | None = None) -> float:
    """P(at least one failure among n buys) when the true rate is *rate*."""
    if population is None:
        return 1.0 - (1.0 - rate) ** n
    from scipy import stats  # lazily: see discovery_sample_size

    defective = math.ceil(rate * population - 1e-12)
    return float(1.0 - stats.hypergeom.pmf(0, population, defective, min(n, population)))


def precision_sample_size(rate: float, margin: float, confidence: float = 0.95,
                          population: int | None = None, deff: float = 1.0) -> int:
    """Buys needed to estimate a rate near *rate* to ± *margin* at *confidence*."""
    _check(confidence, rate)
    if not 0 < margin < 1:
        raise InvalidInput("sizes.margin_between")
    from scipy import stats  # lazily: see discovery_sample_size

    z = stats.norm.ppf(1 - (1 - confidence) / 2)
    n0 = deff * z * z * rate * (1 - rate) / margin**2
    if population is not None:
        n0 = n0 / (1 + (n0 - 1) / population)
    return math.ceil(n0 - 1e-9)
