"""The demo's sequence after lab results, on the sandbox (in-process, small): a failed listing
whose photo the sandbox planted on other sellers and platforms carries its failure to every
copy (found by the photos alone, re-scored with the reason), and the campaign's next plan takes
the copies with π = 1 in a take-all stratum while the rest keeps its design."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from sandbox.catalog import get_catalog
from sandbox.photos import copies_of, planted
from sandbox.runner import Sandbox
from scheduler.propagation import carry_failures, draw_with_take_all
from store.artifacts import ArtifactStore
from store.db import Database
from store.images import keep_photo, set_listing_photos
from store.models import AuditEvent, Listing, PlanItem, Platform
from tests import factory

SEED, N = 11, 300


def test_a_failure_reaches_its_copies_and_the_next_plan_takes_them(sqlite_db: Database,
                                                                   settings: Any) -> None:
    from sampler.campaign_scope import create_campaign
    from sampler.design import TAKE_ALL

    cat = get_catalog(SEED, N)
    hero = min(cat.recalled_map())  # a product a notice names: the sandbox copies it
    copies = copies_of(SEED, N, hero)
    assert len(copies) == 4
    families = planted(SEED, N)
    others = [i for i in range(N) if i not in families and not copies_of(SEED, N, i)][:24]
    artifacts = ArtifactStore(settings.artifacts_dir)
    with Sandbox(seed=SEED, listings=N, day=0, obstacles=False) as sb, \
            httpx.Client(timeout=30) as http, sqlite_db.session() as s:
        platforms = {}
        for code in sb.urls:
            p = Platform(code=code, name=code)
            s.add(p)
            s.flush()
            platforms[code] = p.id
        ids: dict[int, int] = {}
        for i in [hero, *copies, *others]:
            b = cat.base(i)
            url = f"{sb.urls[b.platform]}/img/{b.external_id}/1.jpg"
            photo = http.get(url)
            assert photo.status_code == 200
            row = Listing(platform_id=platforms[b.platform], external_id=b.external_id,
                          url=f"{sb.urls[b.platform]}/x/{b.external_id}", title=b.title_en,
                          price=10 + i % 50, currency="CNY")
            s.add(row)
            s.flush()
            ids[i] = row.id
            set_listing_photos(s, row.id, [keep_photo(artifacts, url, photo.content)])
        factory.failed_lab(s, ids[hero])
        s.flush()
        report = carry_failures(s, settings=settings)
        assert report.failed_listings == 1 and report.copies == 4
        assert report.other_platform == 3  # one copy sells on the failed listing's platform
        assert report.by_source == {"lab_fail": 4} and report.rescored == 4
        assert {e["listing_id"] for e in report.examples} == {ids[j] for j in copies}
        # in the reader's language, one language a line
        assert "3 on other platforms" in report.lines()[0]
        zh = report.lines("zh-CN")
        assert "其中 3 个在其他平台" in zh[0] and not any("platforms" in line or "product "
                                                       in line for line in zh), zh
        for j in copies:
            row = s.get(Listing, ids[j])
            assert row is not None
            reason = next(r for r in row.risk_reasons if r["code"] == "product_failed")
            assert reason["params"]["ref"] == f"L{ids[hero]}"
        for i in others:  # nothing else is touched
            row = s.get(Listing, ids[i])
            assert row is not None and not any(
                r["code"] == "product_failed" for r in row.risk_reasons or [])
        assert carry_failures(s, settings=settings).copies == 4  # idempotent

        camp = create_campaign(s, "next half year", actor="li.na", n=6, strata=["platform"],
                               min_per_stratum=1)
        plan = draw_with_take_all(s, camp.id, seed=7, actor="li.na", settings=settings)
        assert plan.take_all == sorted(ids[j] for j in copies)
        assert plan.others == 6 and plan.items == 10 and plan.frame == len(ids)
        items = s.scalars(select(PlanItem).where(PlanItem.plan_id == plan.plan_id)).all()
        taken = [it for it in items if it.stratum == TAKE_ALL]
        assert all(it.inclusion_probability == 1.0 and it.certainty for it in taken)
        assert all(0 < it.inclusion_probability < 1 for it in items if it.stratum != TAKE_ALL)
        assert "π = 1" in plan.lines()[0] and "take-all stratum" in plan.lines()[0]
        assert "必抽层 4 个同款商品" in plan.lines("zh-CN")[0]
        assert "next plan" not in plan.lines("zh-CN")[0]
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "campaign.take_all"))
        # The plan registers at approval: π recomputed from its frozen frame (the design's n
        # without the take-all units) agrees with every item's, take-all ones included.
        from sampler.plans import submit_plan
        from sampler.registration import frame_pi
        from scheduler.preregistration import approve_and_register
        from store.models import Plan

        stored = s.get(Plan, plan.plan_id)
        assert stored is not None
        frame, pik, alloc = frame_pi(stored, settings)
        assert alloc[TAKE_ALL] == 4 and sum(alloc.values()) == plan.items
        by_id = dict(zip(frame.ids.tolist(), pik.tolist(), strict=True))
        assert all(by_id[lid] == 1.0 for lid in plan.take_all)
        submit_plan(s, plan.plan_id, "li.na")
        approve_and_register(s, plan.plan_id, "wang.qiang", "supervisor", "ok", settings)
        assert s.scalar(select(AuditEvent.id).where(AuditEvent.action == "plan.registered",
                                                    AuditEvent.object_id == str(plan.plan_id)))
