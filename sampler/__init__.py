"""Risk-weighted sampling designs, purchase plans and estimates of non-compliance.

The engine is usable on its own, on NumPy arrays (see ``sampler/README.md``)::

    import numpy as np
    from sampler import inclusion_probabilities, draw, estimate

    pik = inclusion_probabilities(risk_scores, n=59, floor=0.001)
    chosen = draw(pik, "pivotal", np.random.default_rng(7))
    result = estimate(failed[chosen], pik[chosen], population_sizes=len(pik))

Plans in the database live in :mod:`sampler.plans`; risk scoring in :mod:`sampler.risk`.
The modules the other packages call are in ``__all__`` beside the engine's names.
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
    "campaign_scope",  # campaigns and their scope (the population a plan is drawn from)
    "design",  # a stratified πps design on a frame held in arrays
    "detection_probability",
    "discovery_sample_size",
    "domains",  # estimates by domain (platform, sector, origin, seller network)
    "draw",
    "draw_many",
    "draw_stratified",
    "estimate",
    "export",  # a plan as csv, xlsx, json, pdf, the sampling form
    "inclusion_probabilities",
    "kish_deff",
    "korn_graubard",
    "plan_estimates",  # a plan's estimates from its lab results
    "plans",  # purchase plans: draw, summary, diff, the four-eyes review
    "precision_sample_size",
    "products",  # product links and clusters, a failure carried to every copy
    "registration",  # what a plan's pre-registration states, compared with a plan
    "risk",  # risk signals and explainable scores
    "run_design",
    "sizes",  # sample sizes for detection and precision
    "stratified_inclusion_probabilities",
    "textfile",  # text files as bureaus exchange them (UTF-8, UTF-16, GB18030)
]
