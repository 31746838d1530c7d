"""Campaigns as the sampler sees them: scope and design, validated once at creation.

The scheduler adds schedules later; here a campaign is what a plan is drawn from.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sampler.design import Design
from sampler.frame import DEFAULT_STRATA, STRATUM_FIELDS
from store.errors import Conflict, InvalidInput, NotFound
from store.models import AuditEvent, Campaign, Sector, SupervisionClass

#: Design fields kept in Campaign.design (n and budget live in their own columns).
DESIGN_KEYS = ("method", "allocation", "min_per_stratum", "floor_ratio", "max_per_seller",
               "prior_rates", "prn_shift")


def create_campaign(session: Session, name: str, *, actor: str,
                    platforms: list[str] | None = None, sectors: list[str] | None = None,
                    classes: list[str] | None = None, categories: list[str] | None = None,
                    n: int | None = None, budget: Decimal | float | str | None = None,
                    method: str = "pivotal", allocation: str = "risk",
                    strata: list[str] | None = None, max_per_seller: int | None = None,
                    exclude_bought_days: int | None = None, min_per_stratum: int = 2,
                    floor_ratio: float = 0.1, prior_rates: dict[str, float] | None = None,
                    team: str = "", prn_shift: float = 0.0,
                    risk_weights: dict[str, Any] | None = None,
                    exclude_out_of_stock: bool = False,
                    take_all_failed_products: bool = False) -> Campaign:
    """A new campaign; every argument is checked here so that drawing later cannot trip.

    *risk_weights* override the default risk weights for this campaign (the same tables as a
    weights file: ``{"weights": {...}, "params": {...}}`` or a flat factor → weight map);
    *prn_shift* moves the permanent random numbers of Pareto sampling, so that a campaign
    buys listings other than those an unshifted earlier campaign bought (coordination);
    *exclude_out_of_stock* leaves listings the crawl last saw out of stock or discontinued
    out of every frame (they cannot be bought; one found so at purchase time is a
    non-response); *take_all_failed_products* buys every copy of a product that failed
    elsewhere (sampler.products) with π = 1 in a take-all stratum reported apart.
    """
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("campaign_scope.campaign_name_characters")
    if session.scalar(select(Campaign.id).where(Campaign.name == name)) is not None:
        raise Conflict("campaign_scope.campaign_named_exists_already", name=name)
    for s in sectors or []:
        if s not in {e.value for e in Sector}:
            raise InvalidInput("campaign_scope.unknown_sector_use", s=s,
                               sectors=', '.join(e.value for e in Sector))
    for c in classes or []:
        if c not in {e.value for e in SupervisionClass}:
            raise InvalidInput("campaign_scope.unknown_supervision_class", c=c)
        if c == SupervisionClass.PROHIBITED.value:
            raise InvalidInput("campaign_scope.prohibited_class_listings_are_enforcement")
    money: Decimal | None = None
    if budget is not None:
        try:
            money = Decimal(str(budget))
        except InvalidOperation as exc:
            raise InvalidInput("campaign_scope.budget_number", budget=budget) from exc
    fields = list(strata) if strata else list(DEFAULT_STRATA)
    bad = [f for f in fields if f not in STRATUM_FIELDS]
    if bad:
        raise InvalidInput("campaign_scope.unknown_stratum_field_s_use", bad=bad,
                           join_stratum_fields=', '.join(STRATUM_FIELDS))
    if exclude_bought_days is not None and exclude_bought_days < 0:
        raise InvalidInput("campaign_scope.exclude_bought_days_negative")
    if risk_weights:
        from sampler.risk.weights import default_weights

        default_weights().merged(risk_weights, f"campaign {name}")  # InvalidInput if wrong
    design = Design(method=method, allocation=allocation, n=n,
                    budget=None if money is None else float(money),
                    min_per_stratum=min_per_stratum, floor_ratio=floor_ratio,
                    max_per_seller=max_per_seller, prior_rates=dict(prior_rates or {}),
                    prn_shift=prn_shift)
    stored: dict[str, Any] = {k: getattr(design, k) for k in DESIGN_KEYS}
    stored["strata"] = fields
    stored["exclude_bought_days"] = exclude_bought_days
    if exclude_out_of_stock:
        stored["exclude_out_of_stock"] = True
    if take_all_failed_products:
        stored["take_all_failed_products"] = True
    campaign = Campaign(name=name, team=team,
                        scope={"platforms": list(platforms or []), "sectors": list(sectors or []),
                               "classes": list(classes or []),
                               "categories": list(categories or [])},
                        sample_size=n, budget=money, design=stored,
                        risk_weights=dict(risk_weights or {}))
    session.add(campaign)
    session.flush()
    session.add(AuditEvent(actor=actor, action="campaign.create", object_type="campaign",
                           object_id=str(campaign.id), detail={"name": name}))
    return campaign


def campaign_design(campaign: Campaign) -> Design:
    """The campaign's design as a :class:`Design` (n or budget from their columns)."""
    cfg = campaign.design or {}
    kwargs = {k: cfg[k] for k in DESIGN_KEYS if k in cfg and cfg[k] is not None}
    return Design(n=campaign.sample_size,
                  budget=None if campaign.budget is None else float(campaign.budget), **kwargs)


def get_campaign(session: Session, ref: str | int) -> Campaign:
    """A campaign by id or by name."""
    campaign = None
    if isinstance(ref, int) or str(ref).isdigit():
        campaign = session.get(Campaign, int(ref))
    if campaign is None:
        campaign = session.scalar(select(Campaign).where(Campaign.name == str(ref)))
    if campaign is None:
        raise NotFound("campaign_scope.campaign", ref=ref)
    return campaign


def list_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id)))


def campaign_dict(campaign: Campaign) -> dict[str, Any]:
    return {"id": campaign.id, "name": campaign.name, "team": campaign.team,
            "status": campaign.status, "scope": campaign.scope,
            "sample_size": campaign.sample_size,
            "budget": None if campaign.budget is None else str(campaign.budget),
            "design": campaign.design, "risk_weights": campaign.risk_weights,
            "created_at": campaign.created_at,
            "plans": [{"id": p.id, "version": p.version, "status": p.status.value}
                      for p in campaign.plans]}
