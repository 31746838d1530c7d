"""The frame of a campaign: which listings a plan may buy, frozen and hashed.

Eligible: ACTIVE listings in the campaign's scope (platforms, sectors, supervision classes,
categories), never of the prohibited class (those are enforcement leads, not purchases), and
not bought in the last K days when the design asks so; when it asks so too, not out of stock
or discontinued as the crawl last saw them (a listing whose page said nothing stays in).  The size of a listing is its risk
score when it has one (else 1).

The frozen frame is a small CSV — one row per listing, sorted by id, floats written
round-trip exact — stored in the artifact store (:mod:`store.artifacts`) and
recorded as an :class:`~store.models.Artifact` (role ``plan_frame``).  The plan keeps the
SHA-256, so anyone can check later what population a plan was drawn from.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sampler.design import TAKE_ALL, Frame
from store.artifacts import ArtifactStore
from store.errors import InvalidInput
from store.models import (
    Artifact,
    Campaign,
    Listing,
    ListingStatus,
    PlanItem,
    Platform,
    Purchase,
    PurchaseStatus,
    Sector,
    SupervisionClass,
)
from store.prn import permanent_random_number, valid_prn
from store.settings import Settings
from store.vocabulary import UNBUYABLE

FRAME_COLUMNS = ("listing_id", "stratum", "size", "price_cny", "seller", "prn", "risk_score")
#: Listing fields a stratum may be built from.
STRATUM_FIELDS = ("platform", "sector", "supervision_class", "category", "origin")
DEFAULT_STRATA = ("platform", "sector")
#: Why eligible-looking listings are left out of a frame (counted in ``excluded``; their
#: labels: ``frame_exclusion`` in :mod:`store.labels`).
EXCLUSIONS = PROHIBITED_CLASS, OUT_OF_STOCK, BOUGHT_RECENTLY = (
    "prohibited_class", "out_of_stock", "bought_recently")


@dataclass
class FrameTable:
    """The frozen frame: rows in listing-id order, plus what was left out and why."""

    rows: list[dict[str, Any]]
    excluded: dict[str, int] = field(default_factory=dict)

    def to_frame(self) -> Frame:
        def col(name: str, dtype: Any = object) -> np.ndarray:
            return np.array([r[name] for r in self.rows], dtype=dtype)

        prices = np.array([np.nan if r["price_cny"] is None else r["price_cny"]
                           for r in self.rows], dtype=np.float64)
        return Frame(ids=col("listing_id", np.int64), strata=col("stratum", str),
                     sizes=col("size", np.float64), prices=prices, sellers=col("seller"),
                     prn=col("prn", np.float64))

    def to_csv_bytes(self) -> bytes:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(FRAME_COLUMNS)
        for r in self.rows:
            writer.writerow(["" if r[c] is None else repr(r[c]) if isinstance(r[c], float)
                             else r[c] for c in FRAME_COLUMNS])
        return buf.getvalue().encode("utf-8")


def _stratum_label(values: dict[str, Any], fields: tuple[str, ...]) -> str:
    return "/".join(str(values[f] or "-") for f in fields) if fields else "all"


def build_frame(session: Session, campaign: Campaign, *, strata: tuple[str, ...] | None = None,
                exclude_bought_days: int | None = None,
                as_of: dt.datetime | None = None,
                exclude_unbuyable: bool = False,
                take_all: set[int] | None = None) -> FrameTable:
    """The eligible listings of *campaign*, with stratum, size, price, seller and PRN;
    listings in *take_all* go to the take-all stratum (sampler.design.TAKE_ALL)."""
    fields = tuple(strata) if strata is not None else DEFAULT_STRATA
    bad = [f for f in fields if f not in STRATUM_FIELDS]
    if bad:
        raise InvalidInput("frame.unknown_stratum_field_s_use", bad=bad,
                           join_stratum_fields=', '.join(STRATUM_FIELDS))
    scope = campaign.scope or {}
    base = (select(Listing, Platform.code).join(Platform, Listing.platform_id == Platform.id)
            .where(Listing.status == ListingStatus.ACTIVE))
    if scope.get("platforms"):
        base = base.where(Platform.code.in_(list(scope["platforms"])))
    if scope.get("sectors"):
        base = base.where(Listing.sector.in_([Sector(s) for s in scope["sectors"]]))
    if scope.get("categories"):
        base = base.where(Listing.category.in_(list(scope["categories"])))
    classes = [SupervisionClass(c) for c in scope.get("classes") or
               [SupervisionClass.KEY.value, SupervisionClass.GENERAL.value]]
    q = base.where(Listing.supervision_class.in_(
        [c for c in classes if c is not SupervisionClass.PROHIBITED]))
    excluded: dict[str, int] = {}
    prohibited = session.scalar(select(func.count()).select_from(
        base.where(Listing.supervision_class == SupervisionClass.PROHIBITED).subquery()))
    if prohibited:
        excluded[PROHIBITED_CLASS] = int(prohibited)
    if exclude_unbuyable:
        unbuyable = Listing.availability.in_(sorted(a.value for a in UNBUYABLE))
        gone = session.scalar(select(func.count()).select_from(q.where(unbuyable).subquery()))
        if gone:
            excluded[OUT_OF_STOCK] = int(gone)
        q = q.where(or_(Listing.availability.is_(None), ~unbuyable))
    recent: set[int] = set()
    if exclude_bought_days:
        since = (as_of or dt.datetime.now(dt.UTC)) - dt.timedelta(days=exclude_bought_days)
        recent = set(session.scalars(
            select(PlanItem.listing_id).join(Purchase, Purchase.plan_item_id == PlanItem.id)
            .where(func.coalesce(Purchase.ordered_at, Purchase.created_at) >= since,
                   Purchase.status.not_in([PurchaseStatus.CANCELLED, PurchaseStatus.FAILED]))))
    rows: list[dict[str, Any]] = []
    skipped_recent = 0
    # Ordered by what the listing *is* (platform, external id), not by its row id: ids follow
    # the order in which a concurrent crawl happened to store listings, and a draw over the
    # same listings with the same seed must pick the same ones in any database.
    for listing, platform_code in session.execute(q.order_by(Platform.code,
                                                             Listing.external_id)):
        if listing.id in recent:
            skipped_recent += 1
            continue
        # The PRN is the crawl's (store.prn, set when the listing was stored); the frame
        # reads it and never writes a crawl-owned column.
        prn = listing.prn
        if prn is None or not valid_prn(prn):
            prn = permanent_random_number(platform_code, listing.external_id)
        values = {"platform": platform_code, "sector": listing.sector.value,
                  "supervision_class": listing.supervision_class.value,
                  "category": listing.category, "origin": listing.origin}
        score = listing.risk_score
        size = float(score) if score is not None and score >= 0 else 1.0
        stratum = TAKE_ALL if take_all and listing.id in take_all else \
            _stratum_label(values, fields)
        rows.append({"listing_id": listing.id, "stratum": stratum,
                     "size": size,
                     "price_cny": None if listing.price_cny is None else float(listing.price_cny),
                     "seller": None if listing.seller_id is None else str(listing.seller_id),
                     "prn": float(prn), "risk_score": score})
    if skipped_recent:
        excluded[BOUGHT_RECENTLY] = skipped_recent
    if not rows:
        raise InvalidInput("frame.campaign_has_eligible_listing_scope",
                           campaign_name=campaign.name)
    return FrameTable(rows=rows, excluded=excluded)


def freeze_frame(session: Session, table: FrameTable, settings: Settings) -> str:
    """Write the frame as a content-addressed artifact, record it, and return its SHA-256."""
    data = table.to_csv_bytes()
    sha = ArtifactStore(settings.artifacts_dir).put(data).sha256
    exists = session.scalar(select(Artifact.id).where(Artifact.sha256 == sha,
                                                      Artifact.role == "plan_frame"))
    if exists is None:
        session.add(Artifact(capture_id=None, role="plan_frame", sha256=sha, size=len(data),
                             media_type="text/csv"))
    return sha


def load_frame_bytes(settings: Settings, sha256: str) -> bytes:
    """The frozen frame's bytes, checked against its hash (NotFound, VerificationFailed)."""
    return ArtifactStore(settings.artifacts_dir).read(sha256)
