"""Every code a component defines in a tuple of its own has its label in store.labels: the
label table sits in the bottom layer and cannot import the tuples, so a code added to one
(the ``offers`` job, shown raw on the campaign page's schedule form) is caught here."""

from __future__ import annotations

import dataclasses

import pytest

from evidence import chain
from sampler import calibration, domains, estimation, intervals, methods, plan_estimates, replicates
from sampler.allocation import ALLOCATIONS
from sampler.design import Design
from sampler.frame import EXCLUSIONS
from scheduler import runs, schedules
from spotcheck.web.routes import leads as leads_routes
from store.labels import TEXT_LABELS

SOURCES = {
    "job_kind": schedules.JOB_KINDS,
    "sampling_method": tuple(methods.METHODS),
    "allocation": tuple(ALLOCATIONS),
    "chain_step": chain.STEPS,
    "estimate_domain": tuple(domains.DOMAIN_FIELDS),
    "variance_method": (*plan_estimates.PLAN_VARIANCES, estimation.EQUAL_PI),
    "estimator": estimation.ESTIMATORS,
    "interval_method": (*intervals.INTERVAL_METHODS, f"beta, {intervals.ZERO_RULE}",
                        f"beta, {intervals.ONE_RULE}"),
    "lonely_stratum": tuple(estimation.LONELY_OPTIONS),
    "replicate_type": tuple(replicates.REPLICATE_TYPES),
    "calfun": tuple(calibration.CALIBRATION_METHODS),
    "frame_exclusion": EXCLUSIONS,
    "capture_request_state": leads_routes.STATES,
    "run_outcome": (*runs.FINISHED, "running", "queued"),
    # a plan's stored design: the Design's fields and what the campaign adds to them
    "design_key": (*(f.name for f in dataclasses.fields(Design)), "strata",
                   "exclude_bought_days", "exclude_out_of_stock", "take_all_failed_products"),
}


@pytest.mark.parametrize("domain", sorted(SOURCES))
def test_every_code_of_the_source_has_its_label(domain: str) -> None:
    codes = SOURCES[domain]
    assert codes, domain  # the source is found
    assert sorted(set(codes) - set(TEXT_LABELS[domain])) == []
