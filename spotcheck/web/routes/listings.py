"""Listings: search over everything crawled, and one listing's history and signals."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from crawlers.listings import ListingFilter, filter_conditions
from spotcheck.web import charts
from spotcheck.web.deps import CurrentUser, Permission, console, render
from spotcheck.web.i18n import gettext as _
from spotcheck.web.routes.campaigns import reason_text
from store.models import (
    RISK_ORDER,
    Artifact,
    Capture,
    ForeignNotice,
    Listing,
    ListingRisk,
    ListingSnapshot,
    NoticeMatch,
    Platform,
    RiskSignal,
    Sector,
    Seller,
    SupervisionClass,
)

router = APIRouter()
PAGE = 50
SORTS: dict[str, tuple[Any, ...]] = {
    "risk": RISK_ORDER,
    "price": (Listing.price_cny.desc().nulls_last(), Listing.id),
    "recent": (Listing.last_seen.desc(), Listing.id)}


def filtered(session: Session, q: str, platform: str, sector: str, cls: str) -> Select[Any]:
    """Listings matching the form, one page's columns, no order; text search by store.search
    (FTS5 or trigram indexes: title, brand, model, external id, seller name)."""
    stmt: Any = (select(Listing.id, Listing.title, Listing.brand, Listing.price, Listing.currency,
                   Listing.sector, Listing.supervision_class,
                   ListingRisk.score.label("risk_score"), Listing.status, Platform.code,
                   Seller.name, Listing.last_seen)
            .join(Platform, Platform.id == Listing.platform_id)
            .outerjoin(Seller, Seller.id == Listing.seller_id))
    # The CLI's filter (crawlers.listings); a value the form does not offer filters nothing.
    form = ListingFilter(platform=platform or None,
                         sector=sector if sector in {s.value for s in Sector} else None,
                         supervision_class=cls if cls in {c.value for c in SupervisionClass}
                         else None, text=q if q.strip() else None)
    stmt = stmt.where(*filter_conditions(form, session))
    result: Select[Any] = stmt
    return result


def search_page(session: Session, q: str, platform: str, sector: str, cls: str, sort: str,
                offset: int, limit: int) -> list[Any]:
    """One page of the search, in the chosen order.

    By risk (the default), scored listings come first, read in the order of the
    ``ix_listing_risk_score`` index (so a page reads about *limit* rows, not the whole table),
    then the listings not scored yet, newest first.
    """
    base = filtered(session, q, platform, sector, cls)
    risk_join = ListingRisk.listing_id == Listing.id
    if sort not in SORTS or sort == "risk":
        scored = base.join(ListingRisk, risk_join)
        rows = list(session.execute(scored.order_by(*RISK_ORDER).offset(offset).limit(limit)))
        if len(rows) == limit:
            return rows
        skip = 0
        if not rows and offset:
            skip = offset - int(session.scalar(
                select(func.count()).select_from(scored.subquery())) or 0)
        unscored = (base.outerjoin(ListingRisk, risk_join)
                    .where(ListingRisk.listing_id.is_(None)).order_by(Listing.id.desc()))
        return rows + list(session.execute(unscored.offset(max(0, skip))
                                           .limit(limit - len(rows))))
    ordered = base.outerjoin(ListingRisk, risk_join).order_by(*SORTS[sort])
    return list(session.execute(ordered.offset(offset).limit(limit)))


@router.get("/listings", response_class=HTMLResponse)
def listings(request: Request, user: CurrentUser = Permission("listings.view"),
             q: str = Query("", max_length=200), platform: str = Query("", max_length=64),
             sector: str = Query("", max_length=32), cls: str = Query("", max_length=32),
             sort: str = Query("risk", max_length=16), page: int = Query(1, ge=1, le=10_000),
             format: str = Query("html", pattern="^(html|csv)$")) -> Response:
    from spotcheck.web.lists import CSV_LIMIT, csv_response, page_url

    if format == "csv":
        return _listings_csv(request, user, q, platform, sector, cls, sort, CSV_LIMIT,
                             csv_response)
    with console(request).db.session() as s:
        rows = search_page(s, q, platform, sector, cls, sort, (page - 1) * PAGE, PAGE + 1)
        # the filter offers platforms by name (the code is the form's value)
        platforms = [(code, name) for code, name in
                     s.execute(select(Platform.code, Platform.name).order_by(Platform.code))]
        total = int(s.scalar(select(func.count()).select_from(
            filtered(s, q, platform, sector, cls).with_only_columns(Listing.id).subquery()))
            or 0)
    more = len(rows) > PAGE
    context: dict[str, Any] = {
        "rows": rows[:PAGE], "more": more, "page": page, "q": q, "platform": platform,
        "sector": sector, "cls": cls, "sort": sort, "platforms": platforms, "total": total,
        "csv_url": page_url(request, format="csv"),
        "sectors": [s.value for s in Sector], "classes": [c.value for c in SupervisionClass]}
    template = ("console/listings_results.html" if request.headers.get("hx-request")
                else "console/listings.html")
    return render(request, template, **context)


def _listings_csv(request: Request, user: CurrentUser, q: str, platform: str, sector: str,
                  cls: str, sort: str, limit: int, csv_response: Any) -> Response:
    """The search's every row (up to *limit*) as CSV, headers in the reader's language."""
    from spotcheck.web.deps import audit, day
    from spotcheck.web.labels import class_name, sector_name
    from spotcheck.web.lists import speak

    speak(request)
    with console(request).db.session() as s:
        rows = search_page(s, q, platform, sector, cls, sort, 0, limit)
    audit(request, user.name, "listings.export", "listing", None, rows=len(rows), q=q[:100])
    return csv_response("listings.csv", [
        _("Id"), _("Title"), _("Brand"), _("Price"), _("Currency"), _("Platform"), _("Seller"),
        _("Sector"), _("Supervision class"), _("Risk"), _("Last seen")],
        [(r.id, r.title, r.brand or "", r.price, r.currency or "", r.code, r.name or "",
          sector_name(r.sector.value), class_name(r.supervision_class.value),
          "" if r.risk_score is None else f"{r.risk_score:.3f}", day(r.last_seen))
         for r in rows])


@router.get("/listings/{listing_id}", response_class=HTMLResponse)
def listing(request: Request, listing_id: int,
            user: CurrentUser = Permission("listings.view")) -> Response:
    with console(request).db.session() as s:
        item = s.get(Listing, listing_id)
        if item is None:
            raise HTTPException(404)
        platform = item.platform
        seller = item.seller
        reasons = item.risk_reasons
        snapshots = list(s.scalars(select(ListingSnapshot)
                                   .where(ListingSnapshot.listing_id == item.id)
                                   .order_by(ListingSnapshot.version.desc()).limit(200)))
        about = [RiskSignal.listing_id == item.id]
        if item.seller_id:
            about.append(RiskSignal.seller_id == item.seller_id)
        signals = list(s.scalars(select(RiskSignal).where(or_(*about))
                                 .order_by(RiskSignal.observed_at.desc()).limit(200)))
        notices = list(s.execute(
            select(NoticeMatch, ForeignNotice)
            .join(ForeignNotice, ForeignNotice.id == NoticeMatch.notice_id)
            .where(NoticeMatch.listing_id == item.id)
            .order_by(NoticeMatch.score.desc()).limit(50)).all())
        captures = list(s.scalars(select(Capture).where(Capture.listing_id == item.id)
                                  .order_by(Capture.started_at.desc()).limit(50)))
        # Covert buyers' captures show the persona: thumbnails only for those who may see it.
        from evidence.covert import is_persona_capture

        visible = [c.id for c in captures
                   if user.can("personas.secrets") or not is_persona_capture(c)]
        shots = {cid: sha for cid, sha in s.execute(
            select(Artifact.capture_id, Artifact.sha256)
            .where(Artifact.capture_id.in_(visible),
                   Artifact.role.like("screenshot%"), Artifact.media_type.like("image/%"))
            .order_by(Artifact.role))}
    prices = [(snap.seen_at.strftime("%Y-%m-%d"), float(snap.data["price"]))
              for snap in reversed(snapshots)
              if isinstance(snap.data, dict) and _is_number(snap.data.get("price"))]
    price_chart = (charts.line_chart(prices, title=_("Price over the snapshots"))
                   if len(prices) > 1 else None)
    from crawlers.classify import default_classifier

    # the shop's category is its own text; the sector our rules map it to is shown beside it
    mapped = default_classifier().category_sector(item.category) if item.category else None
    return render(request, "console/listing.html", item=item, platform=platform,
                  category_sector=mapped.value if mapped else None,
                  seller=seller, reasons=reasons, snapshots=snapshots, signals=signals, notices=notices,
                  captures=captures, shots=shots, price_chart=price_chart,
                  reason_text=reason_text)


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
