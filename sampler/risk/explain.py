"""Why a listing has its risk score: the stored reasons, in words, largest first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from sampler.risk.reasons import Reason
from store.errors import NotFound
from store.models import Listing, Platform


def find_listing(session: Session, ref: str | int) -> Listing:
    """A listing by id, by URL, or by ``platform:external_id``."""
    text = str(ref).strip()
    row: Listing | None = None
    if text.isdigit():
        row = session.get(Listing, int(text))
    if row is None and ":" in text and not text.startswith("http"):
        code, ext = text.split(":", 1)
        row = session.scalar(select(Listing).join(Platform).where(
            Platform.code == code, Listing.external_id == ext))
    if row is None:
        row = session.scalar(select(Listing).where(or_(Listing.url == text,
                                                       Listing.external_id == text)).limit(1))
    if row is None:
        raise NotFound("risk_explain.no_listing", text=repr(text[:200]))
    return row


def explain(session: Session, listing_id: int | str) -> list[Reason]:
    """The stored top reasons of a listing's score (empty if it was never scored)."""
    listing = find_listing(session, listing_id)
    return [Reason.from_dict(r) for r in (listing.risk_reasons or []) if isinstance(r, dict)]


def explanation(session: Session, ref: int | str) -> dict[str, Any]:
    """Everything a reviewer needs about one listing's score, as a dict (CLI, console)."""
    listing = find_listing(session, ref)
    reasons = explain(session, listing.id)
    return {"listing_id": listing.id, "platform": listing.platform.code,
            "external_id": listing.external_id, "title": (listing.title or "")[:300],
            "url": listing.url, "supervision_class": listing.supervision_class.value,
            "risk_score": listing.risk_score,
            "risk_scored_at": listing.risk_scored_at.isoformat() if listing.risk_scored_at else None,
            "eligible_for_purchase": listing.risk_score is not None
            and listing.supervision_class.value != "prohibited",
            "reasons": [r.as_dict() for r in reasons]}
