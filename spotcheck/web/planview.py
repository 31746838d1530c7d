"""The plan review page's figures, read with column queries.

sampler.plans.plan_summary and plan_diff compute the same figures through ORM entities, which
for a 2,000-item plan (and its previous version) means materialising some 10,000 objects with
their JSON columns: seconds per page.  The review page must render in well under a second, so
it reads plain columns here and follows the sampler's definitions exactly;
tests/web/test_planview.py checks that both give the same answers on the same plans.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from sampler.plans import compare_plans, summarise_items
from spotcheck.web.deps import money, short
from store.models import Listing, ListingRisk, Plan, PlanItem, Seller


@dataclass(slots=True)
class ItemRow:
    """One plan item as the review page shows it (its reasons: :func:`reason_texts`)."""

    seq: int
    listing_id: int
    title: str
    price: Decimal | None
    currency: str | None
    seller_id: int | None
    seller: str | None
    stratum: str
    pi: float
    certainty: bool
    risk: float | None
    supervision_class: str
    expected_price: Decimal | None


def load_items(s: Session, plan_id: int) -> list[ItemRow]:
    rows = s.execute(
        select(PlanItem.seq, PlanItem.listing_id, Listing.title, Listing.price,
               Listing.currency, Listing.seller_id, Seller.name, PlanItem.stratum,
               PlanItem.inclusion_probability, PlanItem.certainty,
               ListingRisk.score, Listing.supervision_class, PlanItem.expected_price)
        .join(Listing, Listing.id == PlanItem.listing_id)
        .outerjoin(ListingRisk, ListingRisk.listing_id == Listing.id)
        .outerjoin(Seller, Seller.id == Listing.seller_id)
        .where(PlanItem.plan_id == plan_id).order_by(PlanItem.seq))
    return [ItemRow(seq, lid, title or "", price, cur, sid, seller, stratum, float(pi),
                    bool(cert), risk, getattr(cls, "value", str(cls)), expected)
            for (seq, lid, title, price, cur, sid, seller, stratum, pi, cert, risk, cls,
                 expected) in rows]


#: Reason texts per (plan id, its drawing time, language).  A plan item's reasons are written
#: once, when the plan is drawn, and their JSON is the costliest part of the page to read
#: (a 2,000-item plan carries ~1.3 MB of it), so a reviewer's reloads do not read it again.
_REASONS: OrderedDict[tuple[str, int, dt.datetime, str], dict[int, list[str]]] = OrderedDict()
_REASONS_LOCK = threading.Lock()
REASON_CACHE_PLANS = 16


def clear_cache() -> None:
    """Forget the remembered reason texts (the benchmark times a plan's first view)."""
    with _REASONS_LOCK:
        _REASONS.clear()


def reason_texts(s: Session, plan: Plan, lang: str, text: Callable[[Any], str],
                 limit: int = 6) -> dict[int, list[str]]:
    """The first *limit* reasons of every item of *plan* as display text (``text(reason)``),
    by item seq; remembered for the last few plans and languages."""
    url = s.get_bind().engine.url.render_as_string(hide_password=True)
    key = (url, plan.id, plan.created_at, lang)
    with _REASONS_LOCK:
        found = _REASONS.get(key)
        if found is not None:
            _REASONS.move_to_end(key)
            return found
    out: dict[int, list[str]] = {}
    for seq, reasons in s.execute(select(PlanItem.seq, PlanItem.reasons)
                                  .where(PlanItem.plan_id == plan.id)):
        items = reasons if isinstance(reasons, list) else [reasons]
        out[seq] = [text(r) for r in items[:limit]]
    with _REASONS_LOCK:
        _REASONS[key] = out
        while len(_REASONS) > REASON_CACHE_PLANS:
            _REASONS.popitem(last=False)
    return out


def summary(plan: Plan, items: list[ItemRow]) -> dict[str, Any]:
    """The ``strata``, ``totals``, ``risk_distribution`` and ``sellers`` of
    sampler.plans.plan_summary, from already loaded items."""
    return summarise_items(plan, items)


def diff(s: Session, a: Plan, b: Plan, b_items: list[ItemRow]) -> dict[str, Any]:
    """sampler.plans.compare_plans(a, b) for the page, from b's already loaded items:
    added/removed items carry listing_id, title and π; changed ones the π and stratum
    pairs."""
    old = {lid: (float(pi), stratum) for lid, pi, stratum in s.execute(
        select(PlanItem.listing_id, PlanItem.inclusion_probability, PlanItem.stratum)
        .where(PlanItem.plan_id == a.id))}
    new = {it.listing_id: (it.pi, it.stratum) for it in b_items}
    titles = {it.listing_id: it.title for it in b_items}
    out = compare_plans(a, b, old, new)
    gone = out.pop("removed_ids")
    gone_titles: dict[int, str] = {}
    for start in range(0, len(gone), 500):  # only the removed ones' titles are new to us
        gone_titles.update((lid, title or "") for lid, title in s.execute(
            select(Listing.id, Listing.title).where(Listing.id.in_(gone[start:start + 500]))))
    out["added"] = [{"listing_id": lid, "title": titles[lid], "inclusion_probability": new[lid][0]}
                    for lid in out.pop("added_ids")]
    out["removed"] = [{"listing_id": lid, "title": gone_titles.get(lid, ""),
                       "inclusion_probability": old[lid][0]} for lid in gone]
    return out


def items_html(items: list[ItemRow], thumbs: dict[int, str], why: dict[int, list[str]],
               class_label: Callable[[str], str], certain: str,
               platforms: Mapping[str, str] | None = None) -> Markup:
    """The rows of the review page's items table (a stratum names its platform from
    *platforms*, :func:`spotcheck.web.deps.platform_names`).

    Built here rather than in the Jinja loop: 2,000 rows of nine cells made the template the
    larger half of the page's server time.  Every value that comes from crawled or drawn data
    goes through ``escape``, as autoescape would."""
    badge = Markup(' <span class="badge certain">{}</span>').format(certain)
    from spotcheck.web.labels import stratum_label

    labels: dict[str, Markup] = {}
    strata: dict[str, str] = {}
    out: list[str] = []
    for it in items:
        lid = int(it.listing_id)
        sha = thumbs.get(lid)
        thumb = (f'<img class="thumb" loading="lazy" src="/artifacts/{escape(sha)}/thumb" alt="">'
                 if sha else '<span class="muted small">—</span>')
        cls = it.supervision_class
        title_badge: str = ""
        if cls != "general":
            if cls not in labels:
                labels[cls] = Markup(' <span class="badge {}">{}</span>').format(cls,
                                                                               class_label(cls))
            title_badge = labels[cls]
        price = (money(it.price, it.currency) if it.price is not None
                 else money(it.expected_price, "CNY"))
        risk = f"{it.risk:.2f}" if it.risk is not None else "—"
        reasons = "".join(f"<li>{escape(r)}</li>" for r in why.get(it.seq, ()))
        if it.stratum not in strata:
            strata[it.stratum] = str(escape(stratum_label(it.stratum, platforms)))
        out.append(
            f'<tr>\n<td class="num">{int(it.seq)}</td>\n<td>{thumb}</td>\n'
            f'<td class="title-cell"><a href="/listings/{lid}">{escape(short(it.title, 160))}'
            f'</a>{title_badge}</td>\n<td class="num">{escape(price)}</td>\n'
            f'<td>{escape(it.seller or "—")}</td>\n<td>{strata[it.stratum]}</td>\n'
            f'<td class="num">{it.pi:.3f}{badge if it.certainty else ""}</td>\n'
            f'<td class="num">{risk}</td>\n<td><ul class="reasons">{reasons}</ul></td>\n</tr>')
    return Markup("\n".join(out))
