"""Risk-weighted sampling designs, purchase plans and estimates of non-compliance.

The engine is usable on its own, on NumPy arrays (see ``sampler/README.md``)::

    import numpy as np
    from sampler import inclusion_probabilities, draw, estimate

    pik = inclusion_probabilities(risk_scores, n=59, floor=0.001)
    chosen = draw(pik, "pivotal", np.random.default_rng(7))
    result = estimate(failed[chosen], pik[chosen], population_sizes=len(pik))

Plans in the database live in :mod:`sampler.plans`; risk scoring in :mod:`sampler.risk`.
"""

from sampler.allocation import ALLOCATIONS, allocate
from sampler.design import Design, DrawResult, Frame, run_design
from sampler.errors import DesignInfeasible
from sampler.estimation import EstimationResult, RateEstimate, estimate, kish_deff, korn_graubard
from sampler.methods import METHODS, draw, draw_many, draw_stratified
from sampler.probabilities import inclusion_probabilities, stratified_inclusion_probabilities
from sampler.sizes import detection_probability, discovery_sample_size, precision_sample_size

__all__ = [
    "ALLOCATIONS",
    "METHODS",
    "Design",
    "DesignInfeasible",
    "DrawResult",
    "EstimationResult",
    "Frame",
    "RateEstimate",
    "allocate",
    "detection_probability",
    "discovery_sample_size",
    "draw",
    "draw_many",
    "draw_stratified",
    "estimate",
    "inclusion_probabilities",
    "kish_deff",
    "korn_graubard",
    "precision_sample_size",
    "run_design",
    "stratified_inclusion_probabilities",
]
