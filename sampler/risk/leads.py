"""Enforcement leads: prohibited-class listings, which are never bought but captured and cased.

docs/design.md: goods of the prohibited class (hazardous chemicals, waste and used goods, ...) must
never be sold this way, so a listing of this class is an enforcement lead, not a purchase.
Scoring gives them no size measure (risk_score NULL), so no πps frame can draw them; this list
is where they go instead, most serious first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import (
    Case,
    Listing,
    ListingRisk,
    ListingStatus,
    Platform,
    Seller,
    SupervisionClass,
)


@dataclass
class Lead:
    """One prohibited-class listing to capture as evidence and open a case for."""

    listing_id: int
    platform: str
    jurisdiction_bureau: str
    seller: str | None
    seller_cluster: str | None
    title: str
    url: str
    status: str
    class_reasons: list[Any]
    reasons: list[dict[str, Any]]
    lead_score: float
    case_numbers: list[str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def eligible_for_purchase() -> Any:
    """A SQLAlchemy condition for listings that may enter a purchase frame.

    Sampling code adds it to its frame query: scored, not prohibited, not removed.
    """
    return (Listing.risk.has((ListingRisk.score.is_not(None)) & (ListingRisk.score > 0))
            & (Listing.supervision_class != SupervisionClass.PROHIBITED)
            & (Listing.status != ListingStatus.REMOVED))


def leads(session: Session, include_removed: bool = False, limit: int | None = None
          ) -> list[Lead]:
    """Prohibited-class listings, highest lead score first."""
    query = (select(Listing, Platform, Seller).join(Platform, Platform.id == Listing.platform_id)
             .outerjoin(Seller, Seller.id == Listing.seller_id)
             .where(Listing.supervision_class == SupervisionClass.PROHIBITED))
    if not include_removed:
        query = query.where(Listing.status != ListingStatus.REMOVED)
    rows = session.execute(query).all()
    ids = [r[0].id for r in rows]
    cases: dict[int, list[str]] = {}
    for start in range(0, len(ids), 500):
        for lid, number in session.execute(select(Case.listing_id, Case.number).where(
                Case.listing_id.in_(ids[start:start + 500]))):
            if lid is not None:
                cases.setdefault(lid, []).append(number)
    out = []
    for listing, platform, seller in rows:
        reasons = [r for r in (listing.risk_reasons or []) if isinstance(r, dict)]
        score = 0.0
        for r in reasons:
            if r.get("code") == "prohibited":
                score = float((r.get("params") or {}).get("lead_score") or r.get("points") or 0)
        out.append(Lead(
            listing_id=listing.id, platform=platform.code,
            jurisdiction_bureau=platform.jurisdiction_bureau, seller=seller.name if seller else None,
            seller_cluster=seller.cluster_id if seller else None,
            title=(listing.title or "")[:300], url=listing.url, status=listing.status.value,
            class_reasons=list(listing.class_reasons or []), reasons=reasons, lead_score=score,
            case_numbers=cases.get(listing.id, [])))
    out.sort(key=lambda lead: (-lead.lead_score, lead.listing_id))
    return out[:limit] if limit else out
