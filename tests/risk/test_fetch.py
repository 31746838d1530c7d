"""`signals fetch` against a local HTTP server (127.0.0.1) replaying recorded answers: the
Safety Gate index and its weekly reports, the CPSC Recalls API, Health Canada's open data."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from sampler.risk.fetch import fetch
from store.db import Database
from store.errors import ServiceUnavailable
from store.models import ForeignNotice
from store.settings import Settings
from tests.conftest import SiteHandler, serve_http
from tests.risk.conftest import data_file


class Replay(SiteHandler):
    """Answers from files, as the public endpoints answered; records every request."""

    routes: dict[str, tuple[str, bytes]] = {}
    seen: list[str] = []

    def do_GET(self) -> None:
        Replay.seen.append(self.path)
        url = urlparse(self.path)
        answer = Replay.routes.get(url.path)
        if answer is None:
            self.send_error(404)
            return
        kind, body = answer
        if url.path == "/RestWebServices/Recall":  # the API's own date filter
            start = parse_qs(url.query).get("RecallDateStart", [""])[0]
            body = json.dumps([r for r in json.loads(body)
                               if r["RecallDate"][:10] >= start]).encode()
        self.send(200, body, kind)


@pytest.fixture()
def server() -> Iterator[str]:
    with serve_http(Replay) as url:
        base = url.rstrip("/")
        index = data_file("safety_gate_weekly_index.xml").read_text("utf-8").replace(
            "https://ec.europa.eu", base)
        Replay.routes = {
            "/safety-gate-alerts/api/download/weeklyReport/list/xml/en":
                ("application/xml", index.encode()),
            "/safety-gate-alerts/api/download/weeklyReport/detail/xml/10000335":
                ("application/xml", data_file("safety_gate_weekly_report.xml").read_bytes()),
            "/safety-gate-alerts/api/download/weeklyReport/detail/xml/10000336":
                ("application/xml",
                 data_file("safety_gate_weekly_report_compact.xml").read_bytes()),
            "/RestWebServices/Recall": ("application/json",
                                        data_file("cpsc_recalls.json").read_bytes()),
            "/hc/HCRSAMOpenData.json": ("application/json",
                                        data_file("health_canada_recalls.json").read_bytes()),
        }
        Replay.seen = []
        yield base


def _settings(settings: Settings, base: str) -> Settings:
    return settings.model_copy(update={
        "signals_safety_gate_url": f"{base}/safety-gate-alerts/api/download/weeklyReport/list/"
                                   "xml/en",
        "signals_cpsc_url": f"{base}/RestWebServices/Recall",
        "signals_health_canada_url": f"{base}/hc/HCRSAMOpenData.json",
        "signals_fetch_timeout": 10.0})


def _refs(db: Database, source: str) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(ForeignNotice.reference)
                             .where(ForeignNotice.source == source)))


def test_safety_gate_weekly_reports_since(sqlite_db: Database, settings: Settings,
                                          server: str) -> None:
    cfg = _settings(settings, server)
    with sqlite_db.session() as s:
        result = fetch(s, "safety-gate", cfg, dt.date(2026, 12, 10))
    assert [d["url"].rsplit("/", 1)[1] for d in result.downloads] == ["10000336?language=en"]
    assert _refs(sqlite_db, "safety-gate") == {"SR/03190/26"}
    with sqlite_db.session() as s:  # default since: the newest on record (12 Dec) -> week 50
        again = fetch(s, "safety-gate", cfg)
        older = fetch(s, "safety-gate", cfg, dt.date(2026, 12, 1))
    assert (again.added, again.unchanged) == (0, 1)
    assert older.added == 2 and _refs(sqlite_db, "safety-gate") == {
        "SR/03190/26", "SR/03101/26", "SR/03117/26"}
    kept = list((Path(cfg.home) / "signals" / "safety-gate").glob("*.xml"))
    assert len(kept) == 2  # each report kept once, by content hash


def test_safety_gate_week_without_alerts_is_no_error(sqlite_db: Database, settings: Settings,
                                                    server: str) -> None:
    """A weekly report without <notifications> (a week without alerts) is kept and counted
    as read 0, not a refusal: the fetch knows it by the problem's code, whatever language."""
    compact = data_file("safety_gate_weekly_report_compact.xml").read_text("utf-8")
    empty = compact[:compact.index("<notifications")] + "</Safety-Gate>"
    Replay.routes["/safety-gate-alerts/api/download/weeklyReport/detail/xml/10000336"] = (
        "application/xml", empty.encode())
    with sqlite_db.session() as s:
        result = fetch(s, "safety-gate", _settings(settings, server), dt.date(2026, 12, 10))
    assert [(d["url"].rsplit("/", 1)[1], d["read"], d["added"]) for d in result.downloads] == [
        ("10000336?language=en", 0, 0)]
    assert result.added == 0 and _refs(sqlite_db, "safety-gate") == set()


def test_cpsc_and_health_canada(sqlite_db: Database, settings: Settings, server: str) -> None:
    cfg = _settings(settings, server)
    with sqlite_db.session() as s:
        cpsc = fetch(s, "cpsc", cfg, dt.date(2000, 1, 1))
        hc = fetch(s, "health-canada", cfg, dt.date(2026, 12, 4))
        none = fetch(s, "cpsc", cfg, dt.date(2030, 1, 1))
    assert cpsc.added == 2 and any("RecallDateStart=2000-01-01" in p for p in Replay.seen)
    assert none.added == 0 and none.note.startswith("no recall since")
    assert none.note_code == {"code": "risk_notes.no_recall", "params": {"since": "2030-01-01"}}
    assert none.note_text("zh-CN") == "2030-01-01 以来没有新的召回"
    assert hc.added == 1 and _refs(sqlite_db, "health-canada") == {"82715"}
    with sqlite_db.session() as s:
        n = s.scalar(select(ForeignNotice).where(ForeignNotice.reference == "82715"))
        assert n is not None
        assert n.title == "Voltaris power banks recalled due to fire and burn hazards"
        assert n.hazard == "Consumer products - Fire hazard & burn hazard"
        assert n.url == ("https://recalls-rappels.canada.ca/en/alert-recall/"
                         "voltaris-power-banks-recalled-due-fire-and-burn-hazards")
        assert n.models == ["VO-M5521"]
        assert n.raw["Category"] == "Electronics" and n.risk_types == []


def test_offline_says_so(sqlite_db: Database, settings: Settings) -> None:
    """An endpoint that cannot be reached is a service unavailable (exit 6), not bad input."""
    cfg = _settings(settings, "http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(ServiceUnavailable, match=r"cannot fetch.*offline") as caught, \
            sqlite_db.session() as s:
        fetch(s, "cpsc", cfg, dt.date(2026, 1, 1))
    assert caught.value.exit_code == 6


def test_scheduled_job_fetches_every_source(sqlite_db: Database, settings: Settings,
                                            server: str) -> None:
    """The scheduler's "signals" job: every source fetched; one unreachable source is reported
    and the others still imported."""
    from scheduler.jobs import JobContext
    from scheduler.pipeline import signals
    from scheduler.runs import known_kinds, load_jobs

    load_jobs()
    assert "signals" in known_kinds()
    cfg = _settings(settings, server).model_copy(
        update={"signals_health_canada_url": "http://127.0.0.1:9/down.json"})
    now = dt.datetime(2026, 12, 14, tzinfo=dt.UTC)
    out = signals(JobContext(db=sqlite_db, settings=cfg, kind="signals", campaign_id=None,
                             scheduled_for=now, now=now, holder="test"))
    assert out["safety-gate"]["added"] == 3 and out["cpsc"]["added"] == 0
    assert "cannot fetch" in out["health-canada"]["error"]


def test_fetch_from_the_sandbox_weekly_index(sqlite_db: Database, settings: Settings) -> None:
    """`signals fetch safety-gate` against the sandbox's feed in the current weekly layout:
    every week it lists is fetched and every alert of its one-file export arrives."""
    import httpx
    from lxml import etree

    from sandbox import Sandbox

    with Sandbox(seed=7, listings=300, obstacles=False) as sb:
        cfg = settings.model_copy(update={"signals_safety_gate_url": sb.safety_gate_index_url,
                                          "signals_fetch_timeout": 30.0})
        with sqlite_db.session() as s:
            result = fetch(s, "safety-gate", cfg, dt.date(2000, 1, 1))
        export = etree.fromstring(httpx.get(sb.safety_gate_url).content)
    cases = {n.findtext("caseNumber") for n in export.iter("notifications")}
    assert cases and result.added == len(cases) and len(result.downloads) >= 1
    assert _refs(sqlite_db, "safety-gate") == cases


def test_scheduled_job_fetches_since_a_given_day(sqlite_db: Database, settings: Settings,
                                                 server: str) -> None:
    """Option ``since`` (the demo's: every notice its sandbox feeds publish) fetches from that
    day, where each source's newest on record (or 90 days back) would leave older ones out."""
    from scheduler.jobs import JobContext
    from scheduler.pipeline import signals
    from scheduler.runs import load_jobs

    load_jobs()
    cfg = _settings(settings, server).model_copy(update={"signals_health_canada_url": ""})
    now = dt.datetime(2026, 12, 14, tzinfo=dt.UTC)
    out = signals(JobContext(db=sqlite_db, settings=cfg, kind="signals", campaign_id=None,
                             scheduled_for=now, now=now, holder="test",
                             options={"since": "2000-01-01"}))
    assert set(out) == {"safety-gate", "cpsc"}
    assert out["cpsc"]["since"] == "2000-01-01" and out["cpsc"]["added"] > 0
    assert _refs(sqlite_db, "cpsc")
