"""The scheduled ``recapture`` job on the accelerated clock, against the sandbox and Chromium.

Bought listings (a price that will change, a title that will be edited, one that stays the
same) and flagged ones (open cases with a pending takedown; the mall answers 404 for a removed
listing, the shop 200 "此商品已下架") are captured on day 0 by the first fire time, then the
sandbox moves to the day on which its truth says those things happened, and the next fire
time must record exactly them: the changes with before/after values, the takedowns flagged
and their pending takedown measures completed with the capture as proof.  Ten captures.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from sandbox import Sandbox
from scheduler import cases
from scheduler.service import run_due
from store.db import Database
from store.models import (
    AuditEvent,
    Capture,
    CaptureStatus,
    Listing,
    ListingStatus,
    Measure,
    MeasureKind,
    Plan,
    Platform,
    Purchase,
    PurchaseStatus,
)
from store.settings import Settings
from tests.factory.shop import sandbox_listing, sandbox_plan

pytestmark = [pytest.mark.browser, pytest.mark.slow]

D = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
BOUGHT = ("price", "title", "same")
FLAGGED = ("removed-mall", "removed-shop")


def _fate(platform: str, then: dict[str, Any], now: dict[str, Any]) -> str | None:
    if now["status"] == "removed":
        return f"removed-{platform}"
    if platform != "mall":
        return None
    if now["title"] != then["title"]:
        return "title" if now["price"] == then["price"] else None
    return "price" if now["price"] != then["price"] else "same"


def choose(sb: Sandbox) -> tuple[int, dict[str, tuple[dict[str, Any], dict[str, Any]]]]:
    """The first day by which the truth has a listing for every case (day-0, day-d truth)."""
    day0 = [li for li in sb.truth(day=0)["listings"]
            if li["status"] == "active" and li["platform"] in ("mall", "shop")
            and not li["flags"]["hostile_title"] and not li["flags"]["page_quirk"]]
    for d in range(1, 31):
        later = {li["key"]: li for li in sb.truth(day=d)["listings"]}
        picks: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for li in day0:
            fate = _fate(li["platform"], li, later[li["key"]])
            if fate and fate not in picks:
                picks[fate] = (li, later[li["key"]])
        if len(picks) == len(BOUGHT) + len(FLAGGED):
            return d, picks
    raise AssertionError("the sandbox's truth has no day with every case")


@pytest.fixture()
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=7, listings=300, obstacles=False) as sb:
        yield sb


def _run(db: Database, settings: Settings, when: dt.datetime) -> list[Any]:
    done = run_due(db, settings, when)
    assert not [r.error for r in done if r.outcome == "error"]
    return done


def test_recapture_records_changes_and_takedowns(sqlite_db: Database, settings: Settings,
                                                 sandbox: Sandbox,
                                                 chromium_path: str | None) -> None:
    cfg = settings.model_copy(update={"capture_allow_networks": ["127.0.0.0/8"]})
    day, picks = choose(sandbox)
    with sqlite_db.session() as s:
        _, plan_id, bought_ids = sandbox_plan(s, sandbox.urls,
                                               [picks[k][0] for k in BOUGHT], platform="mall")
        plan = s.get(Plan, plan_id)
        assert plan is not None
        plan.campaign.schedules = {"recapture": "0 8 * * *", "timezone": "UTC"}
        plan.campaign.period_start, plan.campaign.period_end = D.date(), D.date()
        cid = plan.campaign_id
        for item in plan.items:
            s.add(Purchase(idempotency_key=f"plan:{plan_id}:item:{item.id}",
                           plan_item_id=item.id, status=PurchaseStatus.ORDERED, ordered_at=D))
        platforms = {p.code: p.id for p in s.scalars(select(Platform))}
        flagged_ids, numbers = [], []
        for fate in FLAGGED:
            li = picks[fate][0]
            row = sandbox_listing(s, platforms[li["platform"]], li)
            case = cases.open_case(s, "counterfeit", listing_id=row.id, actor="amy", at=D)
            cases.add_measure(s, case.number, "takedown", due=D.date() + dt.timedelta(days=7),
                              actor="amy", at=D)
            cases.add_measure(s, case.number, "interview", actor="amy", at=D)
            flagged_ids.append(row.id)
            numbers.append(case.number)
    ids = dict(zip(BOUGHT + FLAGGED, bought_ids + flagged_ids, strict=True))

    # day 0: the first fire time captures every target; nothing to compare with yet
    first = {r.kind: r for r in _run(sqlite_db, cfg, D + dt.timedelta(hours=8, minutes=5))}
    assert set(first) == {"recapture"} and first["recapture"].outcome == "ok"
    assert first["recapture"].result == {"captured": 5, "changed": [], "taken_down": [],
                                         "failed": [], "availability": {}}
    with sqlite_db.session() as s:
        caps = list(s.scalars(select(Capture).where(Capture.kind == "listing")))
        assert sorted(c.listing_id or 0 for c in caps) == sorted(ids.values())
        assert all(c.status == CaptureStatus.OK for c in caps)
        day0_caps = {c.listing_id: c.id for c in caps}

    # the world moves on; the next fire time (coalesced over the days in between) sees it
    sandbox.set_day(day)
    when = D + dt.timedelta(days=day, hours=8, minutes=5)
    [run] = [r for r in _run(sqlite_db, cfg, when) if r.kind == "recapture"]
    assert run.key.startswith(f"recapture:campaign:{cid}:") and run.outcome == "ok"
    result = run.result
    assert result["captured"] == 5 and result["failed"] == []
    assert sorted(result["taken_down"]) == sorted(flagged_ids)
    changed = {c["listing"]: c for c in result["changed"]}
    assert set(changed) == {ids["price"], ids["title"]}  # not the unchanged one
    assert changed[ids["price"]]["changes"] == {
        "price": [picks["price"][0]["price"], picks["price"][1]["price"]]}
    assert changed[ids["title"]]["changes"] == {
        "title": [picks["title"][0]["title"], picks["title"][1]["title"]]}
    for lid, c in changed.items():
        assert c["why"] == "bought" and c["before"] == day0_caps[lid]

    with sqlite_db.session() as s:
        audits = {int(a.object_id or 0): a.detail for a in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "listing.changed"))}
        assert audits.keys() == changed.keys()
        assert audits[ids["price"]]["changes"] == changed[ids["price"]]["changes"]
        gone = {int(a.object_id or 0): a.detail for a in s.scalars(
            select(AuditEvent).where(AuditEvent.action == "listing.taken_down"))}
        assert gone.keys() == set(flagged_ids)
        for fate, number in zip(FLAGGED, numbers, strict=True):
            lid = ids[fate]
            listing = s.get(Listing, lid)
            assert listing is not None and listing.status == ListingStatus.POSSIBLY_REMOVED
            proof = s.scalar(select(Capture).where(Capture.listing_id == lid)
                             .order_by(Capture.id.desc()).limit(1))
            assert proof is not None and proof.id != day0_caps[lid]
            assert proof.meta["status"] == (404 if fate == "removed-mall" else 200)
            assert gone[lid]["capture"] == proof.id
            case = cases.get_case(s, number)
            measures = {m.kind: m for m in s.scalars(select(Measure)
                                                     .where(Measure.case_id == case.id))}
            takedown = measures[MeasureKind.TAKEDOWN]
            assert takedown.done_at is not None
            assert f"#{proof.id}" in (takedown.outcome or "")
            assert measures[MeasureKind.INTERVIEW].done_at is None  # only the takedown
        for key in BOUGHT:
            listing = s.get(Listing, ids[key])
            assert listing is not None and listing.status == ListingStatus.ACTIVE

    # the same fire time again does nothing (exactly once)
    assert [r for r in _run(sqlite_db, cfg, when) if r.kind == "recapture"] == []
    with sqlite_db.session() as s:
        assert len(list(s.scalars(select(Capture.id)))) == 10
