"""A re-capture reads availability as the crawl does, end to end (Chromium, a real HTTP server
on 127.0.0.1): a shop page whose visible text changes from in stock to "Sold out" — no
schema.org markup, no element named for stock — shows the change in the re-capture diff,
in the job's result and audit, and in the listing's history (a snapshot naming it, the
console's listing page, ``products show --json``); a takedown later still reads as removed.

Markup-only facts (evidence without the scheduler's reader) read nothing on these pages:
the test checks that too, so it fails if the reader is not handed in."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from crawlers.platforms import add_platform
from evidence.diff import diff_captures
from evidence.facts import extract_facts
from scheduler import cases
from scheduler.jobs import JobContext
from scheduler.pipeline import recapture
from store.artifacts import ArtifactStore
from store.db import Database
from store.labels import label
from store.models import (
    Artifact,
    AuditEvent,
    Capture,
    Listing,
    ListingSnapshot,
    ListingStatus,
    Sector,
    SupervisionClass,
)
from store.settings import Settings
from store.vocabulary import Availability
from tests.clirun import spotcheck
from tests.conftest import SiteHandler, serve_http

pytestmark = [pytest.mark.browser, pytest.mark.slow]

D = dt.datetime(2026, 12, 10, 8, tzinfo=dt.UTC)
PAGES = {
    "in_stock": ('<h1>Desk Lamp L-7</h1><p class="price">$24.00</p><p>In stock</p>'
                 '<button type="button">Add to cart</button>'),
    # The plain note the crawl reads (crawlers.extract: dom:stock-text); no buy control.
    "sold_out": '<h1>Desk Lamp L-7</h1><p class="price">$24.00</p><p>Sold out</p>',
    # A shop's 200 page for a listing it took down.
    "removed": "<h1>This product is no longer available</h1>",
}


def _page(state: str) -> str:
    return ('<!doctype html><html lang="en"><head><title>Desk Lamp L-7 | Lamps</title></head>'
            '<body><nav><a href="/">Home</a> <a href="/outlet">Sold out deals</a></nav>'
            f'<main>{PAGES[state]}</main></body></html>')


class Shop:
    state = "in_stock"


@pytest.fixture()
def shop() -> Iterator[str]:
    class Handler(SiteHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/item/7"):
                self.send(200, _page(Shop.state).encode(), "text/html; charset=utf-8")
            else:
                self.send(404, b"not here")

    Shop.state = "in_stock"
    with serve_http(Handler) as base:
        yield base


def _run(db: Database, settings: Settings, day: int) -> dict[str, Any]:
    ctx = JobContext(db=db, settings=settings, kind="recapture", campaign_id=None,
                     scheduled_for=None, now=D + dt.timedelta(days=day), holder="test")
    return recapture(ctx)


def _last_capture(db: Database, listing_id: int) -> Capture:
    with db.session() as s:
        cap = s.scalar(select(Capture).where(Capture.listing_id == listing_id)
                       .order_by(Capture.id.desc()).limit(1))
        assert cap is not None
        s.expunge(cap)
        return cap


def test_a_visible_sold_out_shows_in_the_recapture_diff_and_the_listings_history(
        sqlite_db: Database, settings: Settings, shop: str,
        chromium_path: str | None) -> None:
    cfg = settings.model_copy(update={"capture_allow_networks": ["127.0.0.0/8"]})
    url = f"{shop}item/7"
    # Markup-only facts see nothing on these pages: the reader is what reads them.
    assert extract_facts(_page("sold_out"), url)["availability"] is None
    with sqlite_db.session() as s:
        platform = add_platform(s, "lamps", start_url=shop, profile="structured-data")
        listing = Listing(platform_id=platform.id, external_id="/item/7", url=url,
                          title="Desk Lamp L-7", price=Decimal("24.00"), currency="USD",
                          sector=Sector.ELECTRICAL, supervision_class=SupervisionClass.KEY)
        s.add(listing)
        s.flush()
        lid = listing.id
        cases.open_case(s, "counterfeit", listing_id=lid, actor="amy", at=D)

    # day 0: in stock (an enabled buy button); a listing never read before takes no snapshot
    first = _run(sqlite_db, cfg, 0)
    assert first["captured"] == 1 and first["failed"] == [] and first["changed"] == []
    assert first["availability"] == {}
    cap0 = _last_capture(sqlite_db, lid)
    assert cap0.facts["availability"] == "in_stock"
    assert cap0.facts["sources"]["availability"] == "reader:dom:buy-button"

    # day 1: the page now says "Sold out" in a plain paragraph
    Shop.state = "sold_out"
    second = _run(sqlite_db, cfg, 1)
    cap1 = _last_capture(sqlite_db, lid)
    assert cap1.facts["availability"] == "out_of_stock"
    assert cap1.facts["sources"]["availability"] == "reader:dom:stock-text"
    assert second["taken_down"] == [] and second["availability"] == {str(lid): "out_of_stock"}
    [change] = second["changed"]
    assert change["listing"] == lid and change["before"] == cap0.id and change["after"] == cap1.id
    assert change["changes"]["availability"] == ["in_stock", "out_of_stock"]
    # The capture's provenance page (part of the evidence) says it in words.
    with sqlite_db.session() as s:
        sha = s.scalar(select(Artifact.sha256).where(Artifact.capture_id == cap1.id,
                                                     Artifact.role == "provenance"))
    assert sha is not None
    provenance = ArtifactStore(cfg.artifacts_dir).read(sha).decode()
    assert label(Availability, "out_of_stock", cfg.locale) in provenance
    assert "out_of_stock" not in provenance
    d = diff_captures(sqlite_db, cap0.id, cap1.id, cfg)
    assert d.changes["availability"] == ("in_stock", "out_of_stock")
    assert not d.removed and d.as_dict()["changes"]["availability"] == {
        "before": "in_stock", "after": "out_of_stock"}
    with sqlite_db.session() as s:
        row = s.get(Listing, lid)
        assert row is not None and row.availability == "out_of_stock"
        assert row.status == ListingStatus.ACTIVE  # sold out is not taken down
        snaps = s.scalars(select(ListingSnapshot).where(ListingSnapshot.listing_id == lid)
                          .order_by(ListingSnapshot.version)).all()
        assert [(sn.changes, sn.data["availability"]) for sn in snaps] == [
            (["availability"], "out_of_stock")]
        audit = s.scalar(select(AuditEvent).where(AuditEvent.action == "listing.changed"))
        assert audit is not None and audit.detail["changes"]["availability"] == [
            "in_stock", "out_of_stock"]

    _history_shows_it(sqlite_db, cfg, lid)
    _cli_diff_shows_it(cfg, cap0.id, cap1.id)

    # the same page again: no second snapshot
    assert _run(sqlite_db, cfg, 2)["availability"] == {}

    # day 3: taken down (a 200 page saying so) — still read as removed
    Shop.state = "removed"
    third = _run(sqlite_db, cfg, 3)
    assert third["taken_down"] == [lid]
    cap3 = _last_capture(sqlite_db, lid)
    assert cap3.facts["availability"] == "discontinued"
    assert cap3.facts["sources"]["availability"] == "removal-notice"
    assert diff_captures(sqlite_db, cap1.id, cap3.id, cfg).removed
    with sqlite_db.session() as s:
        row = s.get(Listing, lid)
        assert row is not None and row.status == ListingStatus.POSSIBLY_REMOVED


def _history_shows_it(db: Database, settings: Settings, lid: int) -> None:
    """The listing's history names the change: ``listings history --json`` (a snapshot seen
    by no crawl), the same in Chinese for a person, and the console's listing page."""
    from spotcheck import users
    from spotcheck.web.app import create_app
    from tests.factory.console import PASSWORD
    from tests.web.conftest import Live, serve

    env = {"SPOTCHECK_HOME": str(settings.home)}
    ran = spotcheck("listings", "history", str(lid), "--json", env=env, unset=("SPOTCHECK_DB",))
    assert ran.returncode == 0, ran.stderr
    history = json.loads(ran.stdout)
    assert history["availability"] == "out_of_stock" and history["status"] == "active"
    assert [(sn["changes"], sn["availability"], sn["crawl_run"])
            for sn in history["snapshots"]] == [(["availability"], "out_of_stock", None)]
    read = spotcheck("listings", "history", str(lid), env=env, unset=("SPOTCHECK_DB",))
    assert read.returncode == 0 and "商品历史" in read.stdout
    assert "库存状态" in read.stdout and "缺货" in read.stdout  # labels, not codes
    assert "out_of_stock" not in read.stdout

    users.add_user(db, "ian", "investigator", PASSWORD, actor="test")
    app = create_app(settings, db)
    for url in serve(app):
        with Live(url, db, settings, None, app).login(  # type: ignore[arg-type]
                "ian", headers={"Accept-Language": "zh-CN"}) as client:
            page = client.get(f"/listings/{lid}").text
    snapshots = page[page.index('id="snapshots"'):]
    assert "库存状态" in snapshots[:snapshots.index("</table>")]


def _cli_diff_shows_it(settings: Settings, a: int, b: int) -> None:
    """``evidence diff A B --json`` keeps the codes; a person reads the change in words."""
    env = {"SPOTCHECK_HOME": str(settings.home)}
    ran = spotcheck("evidence", "diff", str(a), str(b), "--json", env=env,
                    unset=("SPOTCHECK_DB",))
    assert ran.returncode == 0, ran.stderr
    d = json.loads(ran.stdout)
    assert d["changes"]["availability"] == {"before": "in_stock", "after": "out_of_stock"}
    assert d["removed"] is False and d["gone"] == [False, False]
    read = spotcheck("evidence", "diff", str(a), str(b), env=env, unset=("SPOTCHECK_DB",))
    assert read.returncode == 0, read.stderr
    assert "库存状态" in read.stdout and "有货" in read.stdout and "缺货" in read.stdout
    assert "out_of_stock" not in read.stdout
