"""Risk signals and explainable risk scores (issue 5).

Public API (see README.md in this folder):

- ``sampler.risk.importers.import_file(session, path, fmt) -> ImportResult``
- ``sampler.risk.matching.match_notices(session, threshold=0.6) -> MatchSummary``
- ``sampler.risk.networks.build_seller_networks(session) -> NetworkSummary``
- ``sampler.risk.scoring.score_listings(db_or_engine, weights=None, campaign_id=None)``
- ``sampler.risk.explain(session, listing_id) -> list[Reason]``
- ``sampler.risk.leads(session) -> list[Lead]``
- ``sampler.risk.calibrate.calibrate(session) -> CalibrationReport``
"""

from __future__ import annotations

# Imported eagerly, not inside wrapper functions: importing the submodule
# ``sampler.risk.explain`` binds the *module* as the package attribute ``explain``, so a lazy
# wrapper was replaced by the module as soon as any code imported the submodule, and
# ``from sampler.risk import explain`` then gave a module ("'module' object is not callable").
from sampler.risk.explain import explain
from sampler.risk.leads import Lead, leads
from sampler.risk.reasons import Reason

__all__ = ["Lead", "Reason", "calibrate", "explain", "fetch", "importers", "leads", "matching",
           "networks", "normalise", "reasons", "scoring", "weights"]
