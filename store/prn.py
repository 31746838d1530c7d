"""The permanent random number (PRN) of a listing: one formula for every path that stores one.

Coordinated samples over time (Pareto / sequential Poisson designs, rotation) rest on each
listing keeping the same uniform number for life.  It is derived from what the listing *is*
(platform code and the platform's own id for it), never from a database row id, so the same
listing gets the same number in any database and whoever stores it first (the crawl writer,
an import, a test).  The crawl writer sets it on insert; the ORM path gets it from
:func:`fill_missing_prns`, registered on every session by :mod:`store.db`; the sampler only
reads it.  Listings stored before this rule under another formula keep their number (past
plans were coordinated on it) and are listed in ``listing_prn_legacy`` (migration 0007).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from store.models import Listing, Platform

__all__ = ["fill_missing_prns", "permanent_random_number", "valid_prn"]


def permanent_random_number(platform_code: str, external_id: str) -> float:
    """A listing's PRN in (0, 1): SHA-256 of its identity, uniform and reproducible."""
    digest = hashlib.sha256(f"{platform_code}\x1f{external_id}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2**64


def valid_prn(value: float | None) -> bool:
    return value is not None and 0.0 < value < 1.0


def fill_missing_prns(session: Session, _ctx: Any = None, _instances: Any = None) -> None:
    """``before_flush``: give every new listing without a PRN the one formula's number."""
    for obj in session.new:
        if isinstance(obj, Listing) and not valid_prn(obj.prn):
            platform = obj.platform if obj.platform is not None else (
                session.get(Platform, obj.platform_id) if obj.platform_id is not None else None)
            if platform is not None and obj.external_id is not None:
                obj.prn = permanent_random_number(platform.code, obj.external_id)
