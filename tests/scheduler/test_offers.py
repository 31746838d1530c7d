"""Evidence of what was offered (scheduler.offers): approving a plan queues captures of every
item's listing (a recorded ``offers`` job run), a purchase recorded by hand gets its capture
"when bought", a second run captures nothing again, and a failed sample's case pack holds
them.  Real sandbox pages, real Chromium, a real local TSA.

Run under ``flock /tmp/spotcheck-browser.lock``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from evidence.keys import load_or_create
from evidence.localtsa import LocalTSA
from evidence.packs import export_pack
from evidence.trust import TrustAnchors
from evidence.verify import verify_pack
from sampler.campaign_scope import create_campaign
from sampler.plans import draw_plan, submit_plan
from sandbox import Sandbox
from scheduler import purchases
from scheduler.offers import (
    APPROVAL_PURPOSE,
    BOUGHT_PURPOSE,
    bought_targets,
    capture_offers,
)
from scheduler.preregistration import approve_and_register
from scheduler.runs import wait_for_queued_runs
from store.db import Database
from store.models import Capture, CaptureStatus, JobRun, Plan
from store.settings import Settings
from tests.conftest import need
from tests.factory.shop import pick, sandbox_listing

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed=5, listings=200, obstacles=False) as sb:
        yield sb


@pytest.fixture()
def world(tmp_path: Any, sandbox: Sandbox, chromium_path: str | None
          ) -> Iterator[tuple[Database, Settings]]:
    need(shutil.which("openssl") is not None, "openssl is not installed")
    from crawlers.platforms import register_sandbox_platforms

    tsa = LocalTSA(tmp_path / "tsa")
    tsa.start()
    settings = Settings(home=tmp_path / "home", db="", capture_offers=True,
                        capture_allow_networks=["127.0.0.0/8"], tsa_urls=[tsa.url],
                        trusted_tsa_cas=[str(tsa.ca_file)], capture_concurrency=3,
                        capture_timeout=60.0)
    settings.ensure_home()
    db = Database.open(settings.database_url, settings=settings)
    load_or_create(settings.keys_dir)
    with db.session() as s:
        [mall] = [p for p in register_sandbox_platforms(s, dict(sandbox.urls))
                  if p.code == "mall"]
        mall.jurisdiction_bureau = "杭州海关"
        for li in pick(sandbox.truth(platform="mall"), "mall", 12):
            sandbox_listing(s, mall.id, li)
    try:
        yield db, settings
    finally:
        db.dispose()
        tsa.stop()


def test_approval_captures_every_offer_and_packs_hold_them(
        world: tuple[Database, Settings], tmp_path: Any) -> None:
    db, settings = world
    with db.session() as s:
        cid = create_campaign(s, "offers", actor="amy", platforms=["mall"], n=4,
                              method="srs", allocation="proportional", min_per_stratum=1).id
        plan = draw_plan(s, cid, seed=3, actor="amy", settings=settings)
        submit_plan(s, plan.id, "amy")
        plan_id = plan.id
    with db.session() as s:
        approve_and_register(s, plan_id, "sue", "supervisor", None, settings)
    assert wait_for_queued_runs(timeout=600)
    purpose = APPROVAL_PURPOSE.format(plan=plan_id)
    with db.session() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        items = {it.listing_id for it in plan.items}
        caps = list(s.scalars(select(Capture).where(Capture.purpose == purpose)))
        run = s.scalar(select(JobRun).where(JobRun.job == "offers"))
    assert run is not None and run.outcome == "ok", run and (run.result, run.error)
    assert {c.listing_id for c in caps} == items and len(caps) == len(items) == 4
    assert all(c.status in CaptureStatus.evidence() and c.persona_id is None for c in caps)

    # Bought (recorded by hand): the next run captures the listing "when bought", once.
    with db.session() as s:
        pid = purchases.create_purchase_tasks(s, plan_id, actor="amy", assign=False).created[0]
        purchases.mark_ordered(s, pid, "ORD-1", "19.90", actor="amy")
    with db.session() as s:  # one plan's run takes that plan's purchases only
        assert [t.purchase_id for t in bought_targets(s, plan_id=plan_id)] == [pid]
        assert bought_targets(s, plan_id=plan_id + 1) == []
    again = capture_offers(db, settings, campaign_id=cid, actor="scheduler")
    assert again["at_approval"] == [] and len(again["when_bought"]) == 1, again
    assert capture_offers(db, settings, campaign_id=cid)["_outcome"] == "skipped"
    with db.session() as s:
        bought = s.get(Capture, again["when_bought"][0])
        assert bought is not None and bought.purchase_id == pid
        assert bought.purpose == BOUGHT_PURPOSE.format(purchase=pid)
        purchases.receive_sample(s, pid, "S-OFF-1", actor="chen")
        purchases.send_to_lab(s, pid, "lab", actor="chen")
        _r, case = purchases.record_lab_result(s, pid, "fail", clauses=["GB 1"], actor="amy")
        assert case is not None
        case_id, listing_id = case.id, bought.listing_id

    # The failed sample's pack: the offer at approval and when bought, and the chain.
    out = export_pack(db, case_id=case_id, out=tmp_path / "case.zip", actor="ian",
                      settings=settings, pdf=False)
    report = verify_pack(out, anchors=TrustAnchors.for_installation(settings))
    assert report.ok, [(c.name, c.detail) for c in report.failures]
    import json
    import zipfile

    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    purposes = {c["purpose"] for c in manifest["captures"]}
    assert {purpose, BOUGHT_PURPOSE.format(purchase=pid)} <= purposes
    assert all(c["listing_id"] == listing_id for c in manifest["captures"])
    assert manifest["sample_chain"]["steps"][-1] == "lab_result"


_APPROVE_AND_DIE = r"""
import json, os, signal, sys, time
from sqlalchemy import select
from store.db import Database
from store.models import JobRun
from store.settings import Settings
from scheduler.preregistration import approve_and_register

settings = Settings(**json.loads(sys.argv[1]))
db = Database.open(settings.database_url, settings=settings)
with db.session() as s:
    approve_and_register(s, int(sys.argv[2]), "sue", "supervisor", None, settings)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:  # killed while its thread captures, the worst moment
    with db.session() as s:
        if s.scalar(select(JobRun.outcome).where(JobRun.job == "offers")) == "running":
            break
    time.sleep(0.05)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_queued_captures_survive_a_killed_process_and_run_once(
        world: tuple[Database, Settings], tmp_path: Any) -> None:
    """Approving queues the captures as a ``queued`` job run in the approval's transaction.
    The approving process is killed (SIGKILL) while its thread works on them; the scheduler
    (run_due, holding the lease) then finishes the run, and every item's listing is captured
    exactly once; a second taker finds nothing to do."""
    import datetime as dt
    import subprocess
    import sys

    from scheduler.runs import queued_runs, run_queued
    from scheduler.service import run_due

    db, settings = world
    with db.session() as s:
        cid = create_campaign(s, "queued", actor="amy", platforms=["mall"], n=3,
                              method="srs", allocation="proportional", min_per_stratum=1).id
        plan = draw_plan(s, cid, seed=4, actor="amy", settings=settings)
        submit_plan(s, plan.id, "amy")
        plan_id = plan.id
    proc = subprocess.run([sys.executable, "-c", _APPROVE_AND_DIE,
                           settings.model_dump_json(), str(plan_id)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    with db.session() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None and plan.status.value == "approved"
        items = {it.listing_id for it in plan.items}
        run = s.scalar(select(JobRun).where(JobRun.job == "offers"))
        assert run is not None and run.outcome in ("queued", "running"), run.outcome
        assert run.result["options"]["plan_id"] == plan_id
        left_by = run.holder

    done = run_due(db, settings, dt.datetime.now(dt.UTC))
    assert [d.outcome for d in done if d.kind == "offers"] == ["ok"], (left_by, done)
    assert run_queued(db, settings, holder="another-worker") == [] and not queued_runs(db)
    with db.session() as s:
        caps = list(s.scalars(select(Capture).where(
            Capture.purpose == APPROVAL_PURPOSE.format(plan=plan_id),
            Capture.status.in_(CaptureStatus.evidence()))))
        runs = list(s.scalars(select(JobRun).where(JobRun.job == "offers")))
    assert sorted(c.listing_id for c in caps) == sorted(items), left_by  # each exactly once
    assert len(runs) == 1 and runs[0].outcome == "ok" and runs[0].holder != left_by
