"""Carrying a failure to every copy, and the next plan that buys them all (issue 25).

Why one place: after lab results come in (or a notice is confirmed), three things must happen
in order for a failure to reach the other listings of the same product — the product links
rebuilt (sampler.products.build_links: GTIN, brand + model, photos, titles, notice matches),
the listings of a failed product's cluster found (sampler.products.carried_failures), and
those listings re-scored so their risk reasons say why (the ``product_failed`` factor).  Then
the next plan of a campaign can buy every such copy with π = 1 in a take-all stratum,
reported apart (sampler.design.TAKE_ALL), so the rest of the sample keeps its probabilities.
The scheduled ``score`` job does the first part every night; these functions are what a person
(or the demo) calls right after entering lab results, and what they print.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.errors import NotFound
from store.messages import render
from store.models import AuditEvent, Campaign, Listing, PlanItem, Platform
from store.settings import Settings


@dataclass
class CarryReport:
    """What carrying failures to copies found."""

    links: dict[str, Any] = field(default_factory=dict)
    clusters: int = 0
    #: Failure sources: listings with a failed lab result, confirmed notices.
    failed_listings: int = 0
    confirmed_notices: int = 0
    #: Listings that now carry a failure of their product, and how many of them are on
    #: another platform than every failed listing of their cluster.
    copies: int = 0
    other_platform: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    rescored: int = 0
    #: A few of them: listing id, platform, cluster, source, reference, strength.
    examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"links": self.links, "clusters": self.clusters,
                "failed_listings": self.failed_listings,
                "confirmed_notices": self.confirmed_notices, "copies": self.copies,
                "other_platform": self.other_platform, "by_source": self.by_source,
                "rescored": self.rescored, "examples": self.examples}

    def lines(self, locale: str = "en") -> list[str]:
        """What a person reads, in *locale* (the catalogue's ``demo.failure_carried``)."""
        out = [render("demo.failure_carried", {
            "failed": self.failed_listings, "notices": self.confirmed_notices,
            "copies": self.copies, "other_platform": self.other_platform,
            "clusters": self.clusters}, locale)]
        for e in self.examples:
            out.append(render("demo.failure_carried_example", {
                "listing": e["listing_id"], "platform": e["platform"], "ref": e["ref"],
                "cluster": e["cluster"], "strength": f"{e['strength']:.2f}"}, locale))
        return out


def carry_failures(session: Session, *, settings: Settings | None = None,
                   examples: int = 5) -> CarryReport:
    """Rebuild product links, find every listing whose product failed elsewhere, and re-score
    those listings (their ``product_failed`` reason names the failure and the link strength).

    Joins *session*'s transaction; idempotent (a second call finds the same copies)."""
    from sampler.products import build_links, carried_failures, clusters, failure_sources
    from sampler.risk.scoring import score_listings

    report = CarryReport(links=build_links(session).as_dict())
    session.flush()
    failed, notices = failure_sources(session)
    report.failed_listings, report.confirmed_notices = len(failed), len(notices)
    all_clusters = clusters(session, min_size=2)
    report.clusters = len(all_clusters)
    carried = carried_failures(session)
    report.copies = len(carried)
    report.by_source = dict(Counter(c.source for c in carried.values()))
    if not carried:
        return report
    wanted = set(carried) | failed
    platform = dict(session.execute(
        select(Listing.id, Platform.code).join(Platform, Platform.id == Listing.platform_id)
        .where(Listing.id.in_(sorted(wanted)))).all())
    failed_platforms: dict[str, set[str]] = {}
    for cluster in all_clusters:
        failed_platforms[cluster.id] = {platform[lid] for lid in cluster.listing_ids
                                        if lid in failed and lid in platform}
    for lid, c in carried.items():
        if c.source == "notice" or platform.get(lid) not in failed_platforms.get(c.cluster, ()):
            report.other_platform += 1
    summary = score_listings(session, settings=settings, listing_ids=sorted(carried))
    report.rescored = int(getattr(summary, "scored", 0) or 0)
    ranked = sorted(carried.values(), key=lambda c: (-c.strength, c.listing_id))
    report.examples = [{"listing_id": c.listing_id, "platform": platform.get(c.listing_id),
                        **c.as_dict()} for c in ranked[:examples]]
    return report


@dataclass
class NextPlan:
    """The next plan of a campaign, drawn with the take-all stratum."""

    plan_id: int
    version: int
    items: int
    take_all: list[int]
    others: int
    frame: int

    def as_dict(self) -> dict[str, Any]:
        return {"plan": self.plan_id, "version": self.version, "items": self.items,
                "take_all": self.take_all, "others": self.others, "frame": self.frame}

    def lines(self, locale: str = "en") -> list[str]:
        """What a person reads, in *locale* (the catalogue's ``demo.next_plan``)."""
        return [render("demo.next_plan", {"plan": self.plan_id, "version": self.version,
                                          "take_all": len(self.take_all),
                                          "others": self.others}, locale)]


def draw_with_take_all(session: Session, campaign_id: int, *, seed: int, actor: str,
                       settings: Settings | None = None) -> NextPlan:
    """Turn on the campaign's take-all stratum for failed products (recorded in the audit
    log) and draw its next plan version (a draft, to be submitted and approved as usual)."""
    from sampler.design import TAKE_ALL
    from sampler.plans import draw_plan

    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("plans.campaign", campaign_id=campaign_id)
    if not (campaign.design or {}).get("take_all_failed_products"):
        campaign.design = {**(campaign.design or {}), "take_all_failed_products": True}
        session.add(AuditEvent(actor=actor[:100], action="campaign.take_all",
                               object_type="campaign", object_id=str(campaign_id),
                               detail={"take_all_failed_products": True}))
        session.flush()
    plan = draw_plan(session, campaign_id, seed=seed, actor=actor, settings=settings)
    rows = session.execute(select(PlanItem.listing_id, PlanItem.stratum)
                           .where(PlanItem.plan_id == plan.id)).all()
    taken = sorted(lid for lid, stratum in rows if stratum == TAKE_ALL)
    return NextPlan(plan.id, plan.version, len(rows), taken, len(rows) - len(taken),
                    plan.frame_size)
