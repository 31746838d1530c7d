"""The campaign's jobs: crawl → score → draw → offers (captures of what the approved plan's
items offer) → purchase tasks → buy → re-capture → statistics,
and ``leads``: cases opened for enforcement leads.

Each job body composes the domain packages (crawlers, sampler incl. sampler.risk, evidence)
and is idempotent — running it again for the same fire time does no harm and buys nothing
twice — because :func:`scheduler.runs.execute` may resume it after a kill.  Bodies return a
small JSON summary stored in the job run; ``"_outcome": "skipped"`` marks a run with nothing
to do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from typing import Any

from sqlalchemy import select

from scheduler.jobs import JobContext, job
from store.errors import SpotcheckError
from store.models import (
    Campaign,
    Capture,
    CaptureStatus,
    Case,
    CaseStatus,
    Listing,
    ListingStatus,
    Measure,
    MeasureKind,
    Plan,
    PlanStatus,
    Platform,
    Purchase,
    PurchaseStatus,
)

log = logging.getLogger("spotcheck.scheduler.pipeline")

#: Covert orders one ``buy`` run places at most (the rest wait for the next fire time).
BUY_BATCH = 20
#: Platform crawls one crawl run makes at once (each a child process).
CRAWL_PARALLEL = 3
#: Listings one ``recapture`` run captures at most.
RECAPTURE_BATCH = 50
#: Order times up to this count as due for a "buy now" (``buy`` with ``now``).
FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
#: Cases one ``leads`` run opens at most (each starts with a capture of the listing).
LEADS_BATCH = 20


def _campaign(ctx: JobContext) -> Campaign:
    with ctx.db.session() as s:
        c = s.get(Campaign, ctx.campaign_id)
        if c is None:
            raise SpotcheckError("pipeline.campaign_longer_exists",
                                 ctx_campaign_id=ctx.campaign_id)
        s.expunge(c)
        return c


def _seed(ctx: JobContext) -> int:
    """A draw seed derived from the run (same fire time → same seed → same plan)."""
    basis = f"{ctx.kind}:{ctx.campaign_id}:{ctx.scheduled_for or ctx.now}".encode()
    return int.from_bytes(hashlib.sha256(basis).digest()[:8], "big") >> 1


@job("crawl")
def crawl(ctx: JobContext) -> dict[str, Any]:
    """Crawl every platform in the campaign's scope, each in a child process, up to
    :data:`CRAWL_PARALLEL` at once (platforms are different sites: each crawl keeps its own
    site's politeness, and they no longer wait for one another).  A failed platform's error
    is raised once every crawl has ended, the first in scope order.

    Options: ``timeout`` (seconds per platform crawl, default none)."""
    from concurrent.futures import ThreadPoolExecutor

    from crawlers.run import crawl_platform

    campaign = _campaign(ctx)
    codes = list((campaign.scope or {}).get("platforms") or [])
    if not codes:
        with ctx.db.session() as s:
            codes = list(s.scalars(select(Platform.code).order_by(Platform.code)))
    timeout = ctx.options.get("timeout")

    def one(code: str) -> Any:
        return crawl_platform(code, settings=ctx.settings, progress=False,
                              timeout=float(timeout) if timeout else None)

    with ThreadPoolExecutor(max_workers=max(1, min(CRAWL_PARALLEL, len(codes))),
                            thread_name_prefix="crawl") as pool:
        futures = [(code, pool.submit(one, code)) for code in codes]
    out: dict[str, Any] = {}
    for code, future in futures:
        summary = future.result()
        out[code] = {k: getattr(summary, k, None) for k in
                     ("run_id", "status", "pages", "items", "new_listings", "changed_listings",
                      "removed_listings", "rejected_items", "errors")}
        out[code]["seconds"] = round(float(getattr(summary, "seconds", 0.0) or 0.0), 1)
    return {"platforms": out}


@job("signals")
def signals(ctx: JobContext) -> dict[str, Any]:
    """Fetch new foreign notices from every source whose URL is set, import and match them.

    A source that cannot be reached (offline machine, endpoint down) is reported in the run's
    result and the others still run; the run fails only when every source failed.  Option
    ``since`` (an ISO date) fetches from that day instead of each source's newest on record.
    """
    from sampler.risk.fetch import SOURCES, fetch
    from sampler.risk.matching import match_notices
    from store.errors import InvalidInput, ServiceUnavailable

    since = (dt.date.fromisoformat(str(ctx.options["since"])) if ctx.options.get("since")
             else None)
    out: dict[str, Any] = {}
    failed = 0
    for source in SOURCES:
        if not getattr(ctx.settings, f"signals_{source.replace('-', '_')}_url", ""):
            continue
        try:
            with ctx.db.session() as s:
                result = fetch(s, source, ctx.settings, since)
                data = result.as_dict()
                if result.notice_ids:
                    data["matches"] = match_notices(s, notice_ids=result.notice_ids).matches
            out[source] = data
        except (InvalidInput, ServiceUnavailable) as exc:
            failed += 1
            out[source] = {"error": str(exc)[:500]}
    if out and failed == len(out):
        raise InvalidInput("pipeline.every_source_failed",
                           failures="; ".join(f"{k}: {v['error']}" for k, v in out.items()))
    return out


@job("score")
def score(ctx: JobContext) -> dict[str, Any]:
    """Link sellers into networks (shared contacts and photos) and listings and notices into
    products (a failure elsewhere in a listing's product is one of its risk reasons), then
    score every listing with the campaign's risk weights.  The one scoring sequence: the
    scheduler's fire times and the demo both run this body."""
    from sampler.products import build_links
    from sampler.risk.networks import build_seller_networks
    from sampler.risk.scoring import score_listings

    with ctx.db.session() as s:
        networks = build_seller_networks(s)
    with ctx.db.session() as s:
        links = build_links(s)
    summary = score_listings(ctx.db, campaign_id=ctx.campaign_id, settings=ctx.settings,
                             now=ctx.now)
    return {"listings": summary.listings, "scored": summary.scored,
            "prohibited": summary.prohibited, "median": summary.median_score,
            "max": summary.max_score, "networks": networks.as_dict(),
            "product_links": links.as_dict()}


@job("draw")
def draw(ctx: JobContext) -> dict[str, Any]:
    """Draw a plan version and submit it for a supervisor's review.

    Skipped while a submitted plan still waits for review (drawing again would supersede
    what the supervisor is reading).  Options: ``seed`` (else derived from the fire time).
    """
    from sampler.plans import draw_plan, submit_plan

    with ctx.db.session() as s:
        waiting = s.scalar(select(Plan).where(Plan.campaign_id == ctx.campaign_id,
                                              Plan.status == PlanStatus.SUBMITTED))
        if waiting is not None:
            return {"_outcome": "skipped", "reason": f"plan #{waiting.id} awaits review"}
        seed = int(ctx.options["seed"]) if ctx.options.get("seed") is not None else _seed(ctx)
        plan = draw_plan(s, ctx.campaign_id or 0, seed=seed, actor=ctx.actor,
                         settings=ctx.settings, as_of=ctx.now)
        submit_plan(s, plan.id, ctx.actor)
        return {"plan": plan.id, "version": plan.version, "items": len(plan.items),
                "seed": plan.seed}


@job("offers")
def offers(ctx: JobContext) -> dict[str, Any]:
    """Capture every approved plan item's listing, and every bought item's, not captured yet
    (queued at approval with the plan's id; scheduled, it catches up for the campaign)."""
    from scheduler.offers import capture_offers

    plan_id = ctx.options.get("plan_id")
    return capture_offers(ctx.db, ctx.settings,
                          plan_id=int(plan_id) if plan_id is not None else None,
                          campaign_id=ctx.campaign_id,
                          actor=str(ctx.options.get("actor") or ctx.actor))


@job("purchase")
def purchase(ctx: JobContext) -> dict[str, Any]:
    """Create purchase tasks (deadline, persona, order time) for every approved plan.

    Options: ``seed`` for the persona assignment (else the rotation's own)."""
    from scheduler.purchases import create_purchase_tasks

    seed = ctx.options.get("seed")
    out = []
    with ctx.db.session() as s:
        plans = list(s.scalars(select(Plan.id).where(Plan.campaign_id == ctx.campaign_id,
                                                     Plan.status == PlanStatus.APPROVED)))
    for pid in plans:
        with ctx.db.session() as s:
            report = create_purchase_tasks(s, pid, actor=ctx.actor, now=ctx.now,
                                           seed=int(seed) if seed is not None else None)
            out.append({"plan": pid, "created": len(report.created),
                        "tasks": sorted(report.created + report.existing),
                        "assigned": len(report.assigned),
                        "unassigned": report.as_dict()["unassigned"],
                        "skipped": report.as_dict()["skipped"]})
    if not out:
        return {"_outcome": "skipped", "reason": "no approved plan"}
    return {"plans": out}


@job("buy")
def buy(ctx: JobContext) -> dict[str, Any]:
    """Place the covert orders whose time has come, each in a browser context of its
    persona's own (one Chromium for the batch).

    Options: ``limit`` (orders at most, default :data:`BUY_BATCH`); ``now`` true for an
    operator's "buy now" of every assigned task, whatever its order time."""
    from scheduler.buying import buy_many, due_purchases

    limit = int(ctx.options.get("limit") or BUY_BATCH)
    until = FAR_FUTURE if ctx.options.get("now") else ctx.now
    due = due_purchases(ctx.db, until, ctx.campaign_id)[:limit]
    if not due:
        return {"_outcome": "skipped", "reason": "no purchase due"}
    # one browser for the batch, a fresh context per order (scheduler.buying.buy_many)
    outcomes = buy_many(ctx.db, due, ctx.settings, actor=ctx.actor, holder=ctx.holder)
    results = [o.as_dict() if not isinstance(o, SpotcheckError)
               # an uncertain or claimed attempt: never retried here
               else {"purchase": pid, "status": "blocked", "error": str(o)}
               for pid, o in zip(due, outcomes, strict=True)]
    return {"purchases": results}


def _recapture_targets(ctx: JobContext) -> list[tuple[int, str, str]]:
    """Listings bought in this campaign, or in an open case: (id, url, why)."""
    from store.models import PlanItem

    with ctx.db.session() as s:
        bought = s.execute(
            select(Listing.id, Listing.url)
            .join(PlanItem, PlanItem.listing_id == Listing.id)
            .join(Purchase, Purchase.plan_item_id == PlanItem.id)
            .join(Plan, Plan.id == PlanItem.plan_id)
            .where(Plan.campaign_id == ctx.campaign_id,
                   Purchase.status.not_in([PurchaseStatus.PLANNED, PurchaseStatus.CANCELLED]),
                   Listing.status != ListingStatus.REMOVED)).all()
        flagged = s.execute(
            select(Listing.id, Listing.url).join(Case, Case.listing_id == Listing.id)
            .where(Case.status != CaseStatus.CLOSED,
                   Listing.status != ListingStatus.REMOVED)).all()
    seen: dict[int, tuple[int, str, str]] = {}
    for lid, url in bought:
        seen.setdefault(lid, (lid, url, "bought"))
    for lid, url in flagged:
        seen.setdefault(lid, (lid, url, "case"))
    return list(seen.values())[:RECAPTURE_BATCH]


def _gone(cap: Capture) -> bool:
    """Whether a capture shows the listing taken down: HTTP 404/410, or a page saying it is
    no longer sold (one definition, shared with the capture diff)."""
    from evidence.diff import page_gone

    return page_gone(cap.meta, cap.facts)


@job("recapture")
def recapture(ctx: JobContext) -> dict[str, Any]:
    """Capture bought and flagged listings again; flag changes and takedowns.

    A change (price, title, availability with before/after values, or a visual difference)
    is written to the audit log (``listing.changed``); a takedown marks the listing possibly
    removed, is audited (``listing.taken_down``) and completes the open takedown measures of
    the listing's cases with the capture as their proof.
    """
    from evidence.capture import capture_urls
    from evidence.diff import diff_captures
    from scheduler.page_reading import read_availability

    targets = _recapture_targets(ctx)
    if not targets:
        return {"_outcome": "skipped", "reason": "nothing bought or flagged"}
    with ctx.db.session() as s:
        previous = {}
        for lid, _, _ in targets:
            prev = s.scalar(select(Capture.id).where(
                Capture.listing_id == lid, Capture.kind == "listing",
                Capture.status == CaptureStatus.OK).order_by(Capture.id.desc()).limit(1))
            previous[lid] = prev
    ids = capture_urls(ctx.db, [u for _, u, _ in targets], kind="listing",
                       listing_ids=[lid for lid, _, _ in targets],
                       purpose="scheduled re-capture of a bought or flagged listing",
                       operator=ctx.actor, settings=ctx.settings,
                       page_reader=read_availability)
    changed, taken_down, failed = [], [], []
    availability: dict[int, str] = {}
    for (lid, _, why), cid in zip(targets, ids, strict=True):
        with ctx.db.session() as s:
            cap = s.get(Capture, cid)
            assert cap is not None
            if cap.status != CaptureStatus.OK:
                failed.append(lid)
            if cap.status == CaptureStatus.OK and _gone(cap):
                taken_down.append(lid)
                _note_takedown(s, lid, cid, why, ctx)
                continue
            if cap.status == CaptureStatus.OK and _note_availability(s, lid, cap, ctx):
                availability[lid] = str(cap.facts["availability"])
        prev = previous.get(lid)
        if prev is None or cap.status != CaptureStatus.OK:
            continue
        try:
            d = diff_captures(ctx.db, prev, cid, ctx.settings)
        except SpotcheckError as exc:
            log.warning("diff of captures %s and %s failed: %s", prev, cid, exc)
            continue
        if d.changes or d.changed_pixels > 0.01:
            changed.append({"listing": lid, "why": why, "before": prev, "after": cid,
                            "changes": {k: [v[0], v[1]] for k, v in d.changes.items()},
                            "changed_pixels": round(d.changed_pixels, 4)})
    if changed:
        from store.models import AuditEvent

        with ctx.db.session() as s:
            for c in changed:
                s.add(AuditEvent(actor=ctx.actor, action="listing.changed",
                                 object_type="listing", object_id=str(c["listing"]), detail=c))
    return {"captured": len(ids), "changed": changed, "taken_down": taken_down,
            "failed": failed, "availability": {str(k): v for k, v in availability.items()}}


def _note_availability(session: Any, listing_id: int, cap: Capture, ctx: JobContext) -> bool:
    """The listing takes the availability its re-capture read (a snapshot naming it when it
    changed: the listing's history shows it as a crawl's reading would).  A capture whose
    page said nothing of it changes nothing, nor does "in stock" on a listing whose
    availability was never read (that it can be bought is no news)."""
    from crawlers.store_writer import note_availability
    from store.vocabulary import Availability, availability_code

    code = availability_code((cap.facts or {}).get("availability"))
    if code is None:
        return False
    listing = session.get(Listing, listing_id)
    if listing is None or (listing.availability is None and code == Availability.IN_STOCK):
        return False
    return note_availability(session, listing_id, code, ctx.now)


def _note_takedown(session: Any, listing_id: int, capture_id: int, why: str,
                   ctx: JobContext) -> None:
    from store.models import AuditEvent

    listing = session.get(Listing, listing_id)
    was = listing.status.value if listing is not None else None
    if listing is not None and listing.status != ListingStatus.REMOVED:
        listing.status = ListingStatus.POSSIBLY_REMOVED
    completed = []
    for m in session.scalars(select(Measure).join(Case).where(
            Case.listing_id == listing_id, Case.status != CaseStatus.CLOSED,
            Measure.kind == MeasureKind.TAKEDOWN, Measure.done_at.is_(None))):
        m.done_at = ctx.now
        m.outcome = f"listing no longer available (re-capture #{capture_id})"
        completed.append(m.id)
    if was != ListingStatus.POSSIBLY_REMOVED.value or completed:  # news, not every re-run
        session.add(AuditEvent(actor=ctx.actor, action="listing.taken_down",
                               object_type="listing", object_id=str(listing_id),
                               detail={"capture": capture_id, "why": why,
                                       "measures_completed": completed}))


@job("stats")
def stats(ctx: JobContext) -> dict[str, Any]:
    """The half-year statistics of the half year that ended last (XLSX + PDF, zh-CN and en)."""
    from scheduler.reports import half_year_report, previous_period

    # the bureau's day, not UTC's: at 00:30 on 1 January in Beijing the half year that
    # ended is H2 (UTC still reads 31 December)
    now = ctx.now if ctx.now.tzinfo else ctx.now.replace(tzinfo=dt.UTC)
    period = previous_period(now.astimezone(ctx.settings.zone).date())
    out_dir = ctx.settings.reports_dir / period
    with ctx.db.session() as s:
        result = half_year_report(s, period, out_dir, ("xlsx", "pdf", "json"),
                                  settings=ctx.settings, now=ctx.now)
    return {"period": period, "files": result["files"],
            "samples": result["statistics"]["totals"]}



def _counterfeit_like(codes: set[Any]) -> bool:
    """Reason codes that make a listing a counterfeit lead."""
    return "counterfeit_words" in codes or {"product_failed", "price_low"} <= codes


def _lead_targets(ctx: JobContext) -> list[tuple[int, str, str]]:
    """(listing id, URL, case kind) of leads in the campaign's platforms with no case yet:
    prohibited-class listings (highest lead score first), then listings whose title uses
    counterfeit slang or that copy a failed product at a price far below comparable ones
    (highest risk first)."""
    from sampler.risk.leads import leads
    from store.models import RISK_ORDER, ListingRisk, RiskReasonSet

    campaign = _campaign(ctx)
    platforms = set((campaign.scope or {}).get("platforms") or [])
    out: list[tuple[int, str, str]] = []
    with ctx.db.session() as s:
        cased = set(s.scalars(select(Case.listing_id).where(Case.listing_id.is_not(None))))
        for lead in leads(s):
            if (not platforms or lead.platform in platforms) and lead.listing_id not in cased:
                out.append((lead.listing_id, lead.url, "prohibited"))
        # Counterfeit slang in the title; or a copy of a product that failed elsewhere sold
        # far below its comparable price (a counterfeit-like copy of a failed product).
        slang = [rs.id for rs in s.scalars(select(RiskReasonSet))
                 if _counterfeit_like({r.get("code") for r in rs.reasons or []
                                       if isinstance(r, dict)})]
        if slang:
            query = (select(Listing.id, Listing.url, Platform.code)
                     .join(ListingRisk, ListingRisk.listing_id == Listing.id)
                     .join(Platform, Platform.id == Listing.platform_id)
                     .where(ListingRisk.reason_set_id.in_(slang),
                            Listing.status == ListingStatus.ACTIVE)
                     .order_by(*RISK_ORDER))
            for lid, url, code in s.execute(query):
                if (not platforms or code in platforms) and lid not in cased:
                    out.append((lid, url, "counterfeit"))
    return out[:LEADS_BATCH]


@job("leads")
def open_lead_cases(ctx: JobContext) -> dict[str, Any]:
    """Open a case for every enforcement lead without one (issue: a counterfeit or prohibited
    lead opens a case), each starting with a capture of the listing as evidence.

    Idempotent: a listing with a case is no lead any more, and ``open_case`` returns the open
    case of the same listing and kind.  A failed capture still opens the case (the lead is
    real; the capture can be repeated from the case), and is reported.
    """
    from evidence.capture import capture_urls
    from scheduler.cases import open_case
    from scheduler.copies import has_copies
    from scheduler.page_reading import read_availability

    targets = _lead_targets(ctx)
    if not targets:
        return {"_outcome": "skipped", "reason": "no lead without a case"}
    ids = capture_urls(ctx.db, [u for _, u, _ in targets], kind="listing",
                       listing_ids=[lid for lid, _, _ in targets],
                       purpose="evidence for an enforcement lead", operator=ctx.actor,
                       settings=ctx.settings, page_reader=read_availability)
    opened: list[str] = []
    uncaptured: list[int] = []
    with_copies: list[tuple[str, str]] = []  # (queued run key, case number)
    for (lid, _, kind), cid in zip(targets, ids, strict=True):
        with ctx.db.session() as s:
            cap = s.get(Capture, cid)
            ok = cap is not None and cap.status == CaptureStatus.OK
            if not ok:
                uncaptured.append(lid)
            case = open_case(s, kind, listing_id=lid, actor=ctx.actor, at=ctx.now,
                             capture_ids=[cid] if ok else None,
                             summary="opened by the scheduler for an enforcement lead")
            opened.append(case.number)
            if kind == "counterfeit" and ctx.enqueue is not None and has_copies(s, lid):
                # A copy of a product sold elsewhere too: the case gets captures of every
                # other listing of the product, queued with the case (scheduler.copies).
                key = ctx.enqueue(s, "copies", {"case_id": case.id, "actor": ctx.actor})
                with_copies.append((key, case.number))
    for key, _ in with_copies:  # committed: start them here, without waiting
        if ctx.start is not None:
            ctx.start(key)
    return {"opened": opened, "uncaptured": uncaptured,
            "copies_queued": [number for _, number in with_copies]}


@job("copies")
def copies(ctx: JobContext) -> dict[str, Any]:
    """Capture every other listing of a lead case's product for the case (queued when the
    case is opened, with its id); scheduled, it catches up on every open counterfeit case."""
    from scheduler.copies import capture_copies

    actor = str(ctx.options.get("actor") or ctx.actor)
    if ctx.options.get("case_id") is not None:
        return capture_copies(ctx.db, ctx.settings, int(ctx.options["case_id"]), actor=actor)
    with ctx.db.session() as s:
        open_cases = list(s.scalars(select(Case.id).where(
            Case.kind == "counterfeit", Case.status != CaseStatus.CLOSED,
            Case.listing_id.is_not(None)).order_by(Case.id)))
    done = [capture_copies(ctx.db, ctx.settings, cid, actor=actor) for cid in open_cases]
    captured = [d for d in done if d.get("captured")]
    if not captured:
        return {"_outcome": "skipped", "reason": "no copy left to capture"}
    return {"cases": [d["case"] for d in captured],
            "captured": sum(int(d["captured"]) for d in captured)}



@job("capture")
def capture_page(ctx: JobContext) -> dict[str, Any]:
    """One page captured as evidence at a person's request (the console's capture button or
    URL form), queued in the database (:func:`scheduler.runs.enqueue`, run at once by
    :func:`scheduler.runs.queue_run`, or by the scheduler if the console dies first) so the
    request returns at once; the run's row (queued, running, the capture's id or why it
    failed) is the status the requester follows."""
    from evidence.capture import CaptureRequest, capture_many
    from scheduler.page_reading import read_availability
    from store.errors import SpotcheckError
    from store.labels import LOCALES

    url = ctx.options.get("url")
    if not url:
        return {"_outcome": "skipped", "reason": "no URL (a run resumed without its request)"}
    listing = ctx.options.get("listing_id")
    req = CaptureRequest(url=str(url), kind=str(ctx.options.get("kind") or "listing"),
                         listing_id=int(listing) if listing is not None else None,
                         purpose=str(ctx.options.get("purpose") or "captured on request"),
                         pdf=bool(ctx.options["pdf"]) if ctx.options.get("pdf") is not None
                         else None, page_reader=read_availability)
    operator = str(ctx.options.get("operator") or ctx.actor)
    try:
        [res] = asyncio.run(capture_many(ctx.db, [req], operator=operator,
                                         settings=ctx.settings))
    except SpotcheckError as exc:  # no browser: nothing captured, said why
        return {"_outcome": "error", "url": url, "capture": None, "error": str(exc),
                "refusal": {"code": exc.code, "params": {k: str(v) for k, v in
                                                         exc.params.items()},
                            # as each reader reads it (a quoted refusal inside it too)
                            "text": {loc: exc.message(loc) for loc in LOCALES}}}
    return {"_outcome": "ok" if res.ok else "error", "url": url, "capture": res.capture_id,
            "error": res.error, "failure": res.failure, "partial": res.partial}
