"""Risk signals and explainable risk scores (issue 5).

Public API (see README.md in this folder):

- ``sampler.risk.importers.import_file(session, path, fmt) -> ImportResult``
- ``sampler.risk.matching.match_notices(session, threshold=0.75) -> MatchSummary``
- ``sampler.risk.networks.build_seller_networks(session) -> NetworkSummary``
- ``sampler.risk.scoring.score_listings(db_or_engine, weights=None, campaign_id=None)``
- ``sampler.risk.explain(session, listing_id) -> list[Reason]``
- ``sampler.risk.leads(session) -> list[Lead]``
- ``sampler.risk.calibrate.calibrate(session) -> CalibrationReport``
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sampler.risk.reasons import Reason

if TYPE_CHECKING:
    from sampler.risk.leads import Lead

__all__ = ["Reason", "explain", "leads"]


def explain(session: Any, listing_id: int) -> list[Reason]:
    """The stored reasons of a listing's risk score, largest contribution first."""
    from sampler.risk.explain import explain as _explain

    return _explain(session, listing_id)


def leads(session: Any) -> list[Lead]:
    """Prohibited-class listings: enforcement leads, never in a purchase frame."""
    from sampler.risk.leads import leads as _leads

    return _leads(session)
