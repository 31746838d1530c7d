"""Buyer personas: who buys covertly on which platform, how busy each is against the rotation
rules, and — for those who buy — their secrets, revealed one persona at a time and audited."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select

from scheduler.personas import PersonaView, list_personas, show_persona
from scheduler.rotation import RotationRules
from spotcheck.web import charts
from spotcheck.web.deps import CurrentUser, Permission, console, render
from spotcheck.web.i18n import gettext as _
from store.models import Listing, PlanItem, Purchase, PurchaseStatus

router = APIRouter()

#: Purchases that did not happen do not count against a persona.
_NOT_BOUGHT = (PurchaseStatus.CANCELLED, PurchaseStatus.FAILED)


def _usage(request: Request, rules: RotationRules, now: dt.datetime
           ) -> dict[int, dict[str, Any]]:
    """Per persona: buys in the rotation period, sellers still locked out, the last buy."""
    since = now - dt.timedelta(days=max(rules.lockout_days, rules.period_days))
    when = func.coalesce(Purchase.ordered_at, Purchase.scheduled_for, Purchase.created_at)
    with console(request).db.session() as s:
        rows = s.execute(
            select(Purchase.persona_id, Listing.seller_id, when)
            .join(PlanItem, PlanItem.id == Purchase.plan_item_id)
            .join(Listing, Listing.id == PlanItem.listing_id)
            .where(Purchase.persona_id.is_not(None), Purchase.status.not_in(_NOT_BOUGHT),
                   when >= since)).all()
    period = now - dt.timedelta(days=rules.period_days)
    lockout = now - dt.timedelta(days=rules.lockout_days)
    buys: Counter[int] = Counter()
    locked: dict[int, set[int]] = defaultdict(set)
    last: dict[int, dt.datetime] = {}
    for persona_id, seller_id, at in rows:
        if persona_id is None:
            continue
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        if at >= period:
            buys[persona_id] += 1
        if seller_id is not None and at >= lockout:
            locked[persona_id].add(seller_id)
        if persona_id not in last or at > last[persona_id]:
            last[persona_id] = at
    return {pid: {"buys": buys.get(pid, 0), "locked_sellers": len(locked.get(pid, ())),
                  "last": last.get(pid)} for pid in set(buys) | set(locked) | set(last)}


def _page(request: Request, user: CurrentUser, revealed: PersonaView | None = None
          ) -> Response:
    rules = RotationRules()
    now = dt.datetime.now(dt.UTC)
    with console(request).db.session() as s:
        views = list_personas(s, console(request).settings)
    if revealed is not None:
        views = [revealed if v.id == revealed.id else v for v in views]
    usage = _usage(request, rules, now)
    empty = {"buys": 0, "locked_sellers": 0, "last": None}
    rows = [(v, usage.get(v.id, empty)) for v in views]
    from scheduler.purchases import breach_dict, rotation_breaches
    from spotcheck.web.routes.purchasing import breach_text

    with console(request).db.session() as s:
        breaches = [breach_dict(b) for b in rotation_breaches(s, rules)]
    broken: Counter[int] = Counter(b["persona_id"] for b in breaches
                                   if b["persona_id"] is not None)
    flags = [breach_text(b) for b in breaches]
    from spotcheck.web.deps import platform_names

    names = platform_names(request)  # a chart names a platform as the table does
    chart = charts.bar_chart(
        [(f"{names.get(v.platform, v.platform)} · {v.alias}", float(u["buys"]))
         for v, u in rows[:40]],
        title=_("Buys per persona in the last %(days)s days (limit %(cap)s)")
        % {"days": rules.period_days, "cap": rules.persona_per_period},
        secondary=[float(rules.persona_per_period)] * min(len(rows), 40),
        width=720) if rows else None
    return render(request, "console/personas.html", rows=rows, rules=rules, chart=chart,
                  may_reveal=user.can("personas.secrets"), broken=broken, flags=flags)


@router.get("/personas", response_class=HTMLResponse)
def personas(request: Request, user: CurrentUser = Permission("personas.view"),
             format: str = Query("html", pattern="^(html|csv)$")) -> Response:
    """The personas' load against the rotation rules; as CSV, the same load without the
    masked account, address and payment columns (a CSV is never a way round the masking)."""
    if format == "csv":
        return _csv(request, user)
    return _page(request, user)


def _csv(request: Request, user: CurrentUser) -> Response:
    from scheduler.purchases import breach_dict, rotation_breaches
    from spotcheck.web.deps import audit, day, platform_names
    from spotcheck.web.lists import csv_response, speak

    rules = RotationRules()
    with console(request).db.session() as s:
        views = list_personas(s, console(request).settings)
        breaches = [breach_dict(b) for b in rotation_breaches(s, rules)]
    broken: Counter[int] = Counter(b["persona_id"] for b in breaches
                                   if b["persona_id"] is not None)
    usage = _usage(request, rules, dt.datetime.now(dt.UTC))
    names = platform_names(request)
    speak(request)
    audit(request, user.name, "personas.export", "buyer_persona", None, rows=len(views))
    empty = {"buys": 0, "locked_sellers": 0, "last": None}
    return csv_response("personas.csv", [
        _("Platform"), _("Alias"), _("Status"),
        _("Buys in %(days)s days") % {"days": rules.period_days}, _("Sellers locked out"),
        _("Rules broken"), _("Last buy")],
        [(names.get(v.platform, v.platform), v.alias, _("active") if v.active else _("retired"),
          u["buys"], u["locked_sellers"], broken.get(v.id, 0),
          day(u["last"]) if u["last"] else "")
         for v, u in ((v, usage.get(v.id, empty)) for v in views)])


@router.post("/personas/{persona_id}/reveal", response_class=HTMLResponse)
def reveal(request: Request, persona_id: int,
           user: CurrentUser = Permission("personas.secrets")) -> Response:
    """One persona in clear, for a role that buys; scheduler.personas audits the reveal (and
    raises NotFound, a 404, for an unknown id)."""
    with console(request).db.session() as s:
        view = show_persona(s, persona_id, console(request).settings, reveal=True,
                            role=user.role.value, actor=user.name)
    response = _page(request, user, revealed=view)
    response.headers["Cache-Control"] = "no-store"
    return response
