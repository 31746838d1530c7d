"""Plans in the store, on SQLite and PostgreSQL: reproducible draws, frozen frames, four
eyes, immutability, exclusions, diff, estimates from lab results, exports."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from sampler import estimate
from sampler.campaign_scope import create_campaign
from sampler.export import export_plan
from sampler.plans import (
    approve_plan,
    draw_plan,
    estimate_plan,
    plan_diff,
    plan_summary,
    previous_rejection,
    reject_plan,
    submit_plan,
)
from store.artifacts import ArtifactStore
from store.db import Database
from store.errors import Conflict, InvalidInput
from store.models import (
    AuditEvent,
    Listing,
    ListingStatus,
    Plan,
    PlanItem,
    PlanStatus,
    Purchase,
    SupervisionClass,
)
from store.settings import Settings
from tests import factory


def _campaign(db: Database, name: str = "autumn", **kw: object) -> int:
    with db.session() as s:
        kw.setdefault("n", 40)
        return create_campaign(s, name, actor="alice", **kw).id  # type: ignore[arg-type]


def _items(db: Database, plan_id: int) -> list[tuple[int, float, int, str]]:
    with db.session() as s:
        return [(it.listing_id, it.inclusion_probability, it.seq, it.stratum)
                for it in s.get(Plan, plan_id).items]  # type: ignore[union-attr]


def test_same_inputs_and_seed_give_the_identical_plan(market: Database,
                                                      settings: Settings) -> None:
    cid = _campaign(market, method="pivotal")
    with market.session() as s:
        a = draw_plan(s, cid, seed=42, actor="alice", settings=settings)
        b = draw_plan(s, cid, seed=42, actor="alice", settings=settings)
        c = draw_plan(s, cid, seed=43, actor="alice", settings=settings)
        ids = (a.id, b.id, c.id)
        assert (a.version, b.version, c.version) == (1, 2, 3)
        assert a.frame_sha256 == b.frame_sha256 == c.frame_sha256
        assert a.status is PlanStatus.SUPERSEDED and c.status is PlanStatus.DRAFT
    assert _items(market, ids[0]) == _items(market, ids[1])
    assert _items(market, ids[0]) != _items(market, ids[2])
    items = _items(market, ids[0])
    assert len(items) == 40 and len({i[0] for i in items}) == 40


def test_the_plan_does_not_depend_on_row_ids(tmp_path: Path, settings: Settings) -> None:
    """The same listings stored in another order (another crawl's arrival order gives other
    row ids) and the same seed draw the same listings with the same π."""
    drawn = []
    for name, reverse in (("a", False), ("b", True)):
        db = Database.open(f"sqlite:///{tmp_path / name}.db")
        factory.market(db, reverse=reverse)
        with db.session() as s:
            c = create_campaign(s, "同一计划", actor="alice", n=25, method="pivotal")
            plan = draw_plan(s, c.id, seed=2026, actor="alice", settings=settings)
            drawn.append(sorted((it.listing.external_id, round(it.inclusion_probability, 12))
                                for it in plan.items))
            first_ids = sorted(it.listing_id for it in plan.items)
        db.dispose()
        drawn.append(first_ids)
    assert drawn[0] == drawn[2]  # same listings, same π
    assert drawn[1] != drawn[3]  # though stored under other row ids


def test_frame_is_frozen_content_addressed_and_eligible_only(market: Database,
                                                             settings: Settings) -> None:
    cid = _campaign(market, method="systematic")
    with market.session() as s:
        plan = draw_plan(s, cid, seed=1, actor="alice", settings=settings)
        sha, size = plan.frame_sha256, plan.frame_size
        listed = [it.listing for it in plan.items]
        assert all(li.status is ListingStatus.ACTIVE for li in listed)
        assert all(li.supervision_class is not SupervisionClass.PROHIBITED for li in listed)
        assert plan.parameters["excluded"]["prohibited_class"] > 0
    path = ArtifactStore(settings.artifacts_dir).path(sha)
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == sha
    lines = data.decode().splitlines()
    assert lines[0].startswith("listing_id,stratum,size")
    assert len(lines) == size + 1
    with market.session() as s:
        banned = set(s.scalars(select(Listing.id).where(
            (Listing.supervision_class == SupervisionClass.PROHIBITED)
            | (Listing.status != ListingStatus.ACTIVE))))
    framed = {int(line.split(",")[0]) for line in lines[1:]}
    assert banned and not framed & banned


def test_four_eyes_review_and_audit(market: Database, settings: Settings) -> None:
    cid = _campaign(market)
    with market.session() as s:
        pid = draw_plan(s, cid, seed=5, actor="alice", settings=settings).id
    with market.session() as s:
        with pytest.raises(Conflict):
            approve_plan(s, pid, "bob", "supervisor")  # not submitted yet
        submit_plan(s, pid, "alice")
    for actor, role in (("alice", "supervisor"), ("dave", "investigator"),
                        ("erin", "sampler")):
        with pytest.raises(Conflict), market.session() as s:
            approve_plan(s, pid, actor, role)
    with pytest.raises(InvalidInput), market.session() as s:
        reject_plan(s, pid, "bob", "supervisor", "  ")
    with market.session() as s:
        reject_plan(s, pid, "bob", "supervisor", "too many from one seller")
    # A rejected plan is not sent again as it is, nor is a new draw of the same items.
    with pytest.raises(Conflict, match="draw a new version"), market.session() as s:
        submit_plan(s, pid, "frank")
    with market.session() as s:
        same = draw_plan(s, cid, seed=5, actor="frank", settings=settings).id
    with pytest.raises(Conflict, match="same items"), market.session() as s:
        submit_plan(s, same, "frank")
    with market.session() as s:
        new = draw_plan(s, cid, seed=6, actor="frank", settings=settings)
        rejected = previous_rejection(s, new)
        assert rejected is not None and rejected.id == pid
        assert rejected.review_comment == "too many from one seller"  # kept
        pid2 = new.id
        submit_plan(s, pid2, "frank")
    with pytest.raises(Conflict), market.session() as s:
        approve_plan(s, pid2, "frank", "admin")  # the drawer and submitter
    with market.session() as s:
        plan = approve_plan(s, pid2, "carol", "admin", "批准")
        assert plan.status is PlanStatus.APPROVED and plan.reviewed_by == "carol"
        actions = [e.action for e in s.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "plan",
                                     AuditEvent.object_id == str(pid)).order_by(AuditEvent.id))]
        assert s.get(Plan, pid).review_comment == "too many from one seller"
    assert actions == ["plan.draw", "plan.submit", "plan.rejected"]


def test_approved_plan_is_immutable(market: Database, settings: Settings) -> None:
    pid = factory.approved_plan(market, settings)
    before = _items(market, pid)
    with pytest.raises(Conflict), market.session() as s:
        s.get(Plan, pid).items[0].inclusion_probability = 0.5  # type: ignore[union-attr]
    with pytest.raises(Conflict), market.session() as s:
        s.get(Plan, pid).seed = 1  # type: ignore[union-attr]
    with pytest.raises(Conflict), market.session() as s:
        s.get(Plan, pid).status = PlanStatus.DRAFT  # type: ignore[union-attr]
    with pytest.raises(Conflict), market.session() as s:
        s.delete(s.get(Plan, pid).items[0])  # type: ignore[union-attr]
    with pytest.raises(Conflict), market.session() as s:
        s.delete(s.get(Plan, pid))
    with pytest.raises(Conflict), market.session() as s:
        s.add(PlanItem(plan_id=pid, listing_id=before[0][0] + 100000, seq=999, stratum="x",
                       inclusion_probability=0.1))
    assert _items(market, pid) == before
    with market.session() as s:
        assert s.get(Plan, pid).status is PlanStatus.APPROVED  # type: ignore[union-attr]
        # drawing again is how a plan changes: a new version, the approved one untouched
        cid = s.get(Plan, pid).campaign_id  # type: ignore[union-attr]
        new = draw_plan(s, cid, seed=10, actor="alice", settings=settings)
        assert new.version == 2
        assert s.get(Plan, pid).status is PlanStatus.APPROVED  # type: ignore[union-attr]


def test_exclude_listings_bought_recently_and_diff(market: Database,
                                                   settings: Settings) -> None:
    pid = factory.approved_plan(market, settings)
    with market.session() as s:
        items = s.get(Plan, pid).items  # type: ignore[union-attr]
        bought = [it.listing_id for it in items[:5]]
        for it in items[:5]:
            s.add(Purchase(idempotency_key=f"k{it.id}", plan_item_id=it.id,
                           ordered_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3)))
    cid = _campaign(market, "winter", exclude_bought_days=30)
    with market.session() as s:
        plan = draw_plan(s, cid, seed=9, actor="alice", settings=settings)
        assert plan.parameters["excluded"]["bought_recently"] == 5
        assert not {it.listing_id for it in plan.items} & set(bought)
        new_id = plan.id
        diff = plan_diff(s, pid, new_id)
    assert diff["frame_changed"] and not diff["same_campaign"]
    assert diff["frame_size"][1] == diff["frame_size"][0] - 5
    assert diff["design"]["exclude_bought_days"] == [None, 30]
    assert len(diff["added"]) == len(diff["removed"]) >= 5
    assert diff["kept"] + len(diff["removed"]) == 40


def test_summary_budget_and_seller_limit(market: Database, settings: Settings) -> None:
    cid = _campaign(market, n=None, budget="2500", method="systematic", max_per_seller=2)
    with market.session() as s:
        pid = draw_plan(s, cid, seed=3, actor="alice", settings=settings).id
        summary = plan_summary(s, pid)
    assert summary["totals"]["expected_cost"] <= 2500
    assert summary["sellers"]["max_buys"] <= 2
    assert sum(r["n_h"] for r in summary["strata"]) == summary["totals"]["n"]
    assert sum(r["N_h"] for r in summary["strata"]) == summary["totals"]["N"]
    assert sum(summary["risk_distribution"].values()) == summary["totals"]["n"]


def test_estimate_plan_matches_the_engine(market: Database, settings: Settings) -> None:
    pid = factory.approved_plan(market, settings)
    with pytest.raises(InvalidInput), market.session() as s:
        estimate_plan(s, pid)
    with market.session() as s:
        factory.lab_results(s, pid, fail_every=4)
    with market.session() as s:
        est = estimate_plan(s, pid)
        plan = s.get(Plan, pid)
        items = plan.items  # type: ignore[union-attr]
        y = np.array([1.0 if k % 4 == 0 else 0.0 for k in range(len(items))])
        pik = np.array([it.inclusion_probability for it in items])
        strata = np.array([it.stratum for it in items])
        sizes = plan.parameters["stratum_sizes"]  # type: ignore[union-attr]
    direct = estimate(y, pik, strata=strata, population_sizes=sizes)
    assert est["results"] == 40 and est["pending"] == 0 and est["failures"] == int(y.sum())
    assert est["overall"]["hajek_rate"] == pytest.approx(direct.overall.hajek_rate)
    assert est["overall"]["ht_count"] == pytest.approx(direct.overall.ht_count)
    lo, hi = est["overall"]["hajek_rate_ci"]
    assert 0 < lo < est["overall"]["hajek_rate"] < hi < 1
    assert {e["stratum"] for e in est["by_stratum"]} == set(strata.tolist())


def test_estimate_plan_with_pending_items(market: Database, settings: Settings) -> None:
    pid = factory.approved_plan(market, settings)
    with market.session() as s:  # one failure, 15 pending
        factory.lab_results(s, pid, fail_every=1000, upto=25)
    with market.session() as s:
        est = estimate_plan(s, pid)
    assert est["results"] == 25 and est["pending"] == 15 and est["adjusted_for_pending"]
    total_N = sum(e["population"] for e in est["by_stratum"])
    assert est["overall"]["population"] == pytest.approx(total_N)
    assert est["overall"]["hajek_rate_ci"][1] > 0


def test_exports(sqlite_db: Database, settings: Settings, tmp_path: Path) -> None:
    factory.market(sqlite_db)
    pid = factory.approved_plan(sqlite_db, settings)
    with sqlite_db.session() as s:
        for fmt in ("csv", "json", "xlsx"):
            export_plan(s, pid, fmt, tmp_path / f"p.{fmt}", locale="zh-CN", settings=settings)
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert data["id"] == pid and len(data["items"]) == 40
    assert data["summary"]["totals"]["n"] == 40
    rows = (tmp_path / "p.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(rows) == 41 and "层" in rows[1]
    from openpyxl import load_workbook

    wb = load_workbook(tmp_path / "p.xlsx")
    assert wb.sheetnames == ["计划", "分层", "计划明细", "图表"]
    items = wb["计划明细"]
    assert items.max_row == 41 and items.freeze_panes == "A2" and items.auto_filter.ref
    headers = [c.value for c in items[1]]
    assert "入样概率 π" in headers and "商品名称" in headers
    pi_col = headers.index("入样概率 π") + 1
    assert isinstance(items.cell(2, pi_col).value, float)
    assert items.cell(2, pi_col).number_format == "0.0000"
    assert items.cell(2, headers.index("商品编号") + 1).data_type == "s"  # ids as text
    strata = wb["分层"]
    rate_col = [c.value for c in strata[1]].index("抽样比") + 1
    assert strata.cell(2, rate_col).number_format == "0.0%"
    assert len(wb["图表"]._charts) == 1
    # a stratum names its platform in both sheets (the JSON and CSV keep the code)
    assert {str(strata.cell(r, 1).value).split("/")[0]
            for r in range(2, strata.max_row + 1)} <= {"Mall 商城", "Shop 小店"}
    shown = {str(items.cell(r, headers.index("层") + 1).value).split("/")[0]
             for r in range(2, items.max_row + 1)}
    assert shown == {"Mall 商城", "Shop 小店"}, shown
    assert {it["stratum"].split("/")[0] for it in data["items"]} == {"mall", "shop"}
    assert wb["计划"].column_dimensions["B"].width >= 60
    facts = {r[0].value: r[1] for r in wb["计划"].iter_rows(min_row=2)}
    assert facts["样本量"].value == 40 and facts["样本量"].number_format == "#,##0"
    assert isinstance(facts["抽样框商品数"].value, int)
    assert facts["随机种子"].data_type == "s"  # an identifier stays text
    if facts["预期费用（元）"].value is not None:
        assert isinstance(facts["预期费用（元）"].value, float)
        assert facts["预期费用（元）"].number_format == "#,##0.00"


def test_plan_item_reasons_are_the_catalogues_sentences(sqlite_db: Database,
                                                       settings: Settings) -> None:
    """An item's reasons are codes and parameters whose sentences come from
    store/messages.toml (plan_reason.*), the stratum's coded parts labelled in each language."""
    from store.labels import stratum_label
    from store.messages import render

    factory.market(sqlite_db)
    pid = factory.approved_plan(sqlite_db, settings)
    with sqlite_db.session() as s:
        plan = s.get(Plan, pid)
        assert plan is not None
        reasons = [r for it in plan.items for r in it.reasons if not r["code"].startswith("risk:")]
    assert {r["code"] for r in reasons} >= {"stratum"}
    for r in reasons:
        assert r["en"] == render(f"plan_reason.{r['code']}", r["params"], "en")
        assert r["zh"] == render(f"plan_reason.{r['code']}", r["params"], "zh-CN")
    first = next(r for r in reasons if r["code"] == "stratum")
    assert stratum_label(first["params"]["stratum"], "zh-CN") in first["zh"]
    assert stratum_label(first["params"]["stratum"], "en") in first["en"]


def test_plan_report_reads_codes_by_their_labels(sqlite_db: Database,
                                                 settings: Settings) -> None:
    """The PDF's page names the method, allocation, frame exclusions and strata by the one
    label table (store.labels), in either language, never by their codes."""
    from sampler.export import render_html

    factory.market(sqlite_db)
    pid = factory.approved_plan(sqlite_db, settings)
    with sqlite_db.session() as s:
        plan = s.get(Plan, pid)
        assert plan is not None and plan.parameters["excluded"]["prohibited_class"] > 0
        zh, en = render_html(s, pid, "zh-CN"), render_html(s, pid, "en")
    assert "禁止入境类（执法线索，不购买）" in zh and "prohibited_class" not in zh
    assert "prohibited class (enforcement leads, not bought)" in en
    assert "prohibited_class" not in en
    assert "按比例分配" in zh or "按风险分配" in zh or "Neyman 最优分配" in zh
    assert "light_industry" not in zh and "light_industry" not in en
    # the strata and items tables and the chart name the platform, never its code
    assert "<td>Mall 商城/" in zh and "mall/" not in zh and "mall/" not in en  # reasons too
    assert ">Shop 小店/" in en


def test_sampling_form_export(sqlite_db: Database, settings: Settings, tmp_path: Path) -> None:
    """The bureau's 抽样单: one row per item with standards and test items (by the listing's
    classification rule, else its sector), the lab and seal number once received."""
    from openpyxl import load_workbook

    from sampler.plan_workbook import standards_for
    from scheduler import purchases as sp
    factory.market(sqlite_db)
    pid = factory.approved_plan(sqlite_db, settings)
    with sqlite_db.session() as s:
        plan = s.get(Plan, pid)
        assert plan is not None
        first = plan.items[0]
        first.listing.class_reasons = [{"rule": "ccc-household-appliances", "class": "key"}]
        expected = standards_for(first.listing)
        sp.create_purchase_tasks(s, pid, actor="alice", assign=False)
        purchase = s.scalar(select(Purchase).where(Purchase.plan_item_id == first.id))
        assert purchase is not None
        sp.mark_ordered(s, purchase.id, "ORD-F-1", "88.00", actor="alice")
        sp.receive_sample(s, purchase.id, "SEAL-F-1", actor="alice")
        sp.send_to_lab(s, purchase.id, "国家家用电器质量检验检测中心", actor="alice")
        export_plan(s, pid, "form", tmp_path / "form.xlsx", locale="zh-CN", settings=settings)
    assert expected[0][0].startswith("GB 4706.1-2005")
    ws = load_workbook(tmp_path / "form.xlsx")["抽样单"]
    assert "抽样单" in str(ws["A1"].value)
    headers = [c.value for c in ws[2]]
    for h in ("样品名称", "执行标准", "检验项目", "承检机构", "封样编号"):
        assert h in headers, h
    row = {h: ws.cell(3, j + 1).value for j, h in enumerate(headers)}
    assert "GB 4706.1-2005" in row["执行标准"] and "泄漏电流和电气强度" in row["检验项目"]
    assert row["承检机构"] == "国家家用电器质量检验检测中心" and row["封样编号"] == "SEAL-F-1"
    assert ws.max_row == 2 + 40 and ws.freeze_panes == "A3"
    assert all(ws.cell(r, headers.index("检验项目") + 1).value for r in range(3, 43))


def test_report_reads_as_text_and_registration_manifest(sqlite_db: Database,
                                                        settings: Settings) -> None:
    """The zh report translates its codes and headings (no "<built-in method items …>"); the
    registration manifest recomputes every π from the frozen frame and matches the items."""
    from sampler.export import render_html
    from sampler.registration import compare_with_plan, registration_manifest
    factory.market(sqlite_db)
    pid = factory.approved_plan(sqlite_db, settings)
    with sqlite_db.session() as s:
        html = render_html(s, pid, "zh-CN")
        plan = s.get(Plan, pid)
        assert plan is not None
        manifest = registration_manifest(s, plan, settings)
        assert compare_with_plan(manifest, plan) == []
        assert len(manifest["frame_pi"]) == plan.frame_size
        assert sum(float(p) for _, p in manifest["frame_pi"]) == pytest.approx(40)
        manifest["items"][0]["pi"] = "0.5"
        assert compare_with_plan(manifest, plan)
    assert "built-in method" not in html and "计划明细" in html
    for code in ("pivotal", "proportional", "prohibited_class", "light_industry"):
        assert code not in html.split("<body>")[1].split('class="items"')[0], code
    assert "未预登记" in html or "预登记" in html


def test_spreadsheet_cells_cannot_run_formulas() -> None:
    from sampler.export import _cell

    assert _cell("=HYPERLINK(\"http://evil\")").startswith("'")
    assert _cell("普通标题") == "普通标题"


@pytest.mark.browser
def test_pdf_report_renders_chinese(sqlite_db: Database, settings: Settings,
                                    tmp_path: Path, chromium_path: str | None) -> None:
    factory.market(sqlite_db)
    pid = factory.approved_plan(sqlite_db, settings)
    with sqlite_db.session() as s:
        # hostile crawled text in a title must be escaped, not rendered as markup
        item = s.get(Plan, pid).items[0]  # type: ignore[union-attr]
        item.listing.title = "<script>alert(1)</script>危险标题"
    out = tmp_path / "plan.pdf"
    with sqlite_db.session() as s:
        export_plan(s, pid, "pdf", out, locale="zh-CN", settings=settings)
        from sampler.export import render_html

        html = render_html(s, pid, "en")
    assert out.read_bytes()[:5] == b"%PDF-"
    assert "&lt;script&gt;" in html and "<script>" not in html and "<svg" in html
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                              check=True).stdout
        flat = "".join(text.split())
        assert "购买计划" in flat and "危险标题" in flat and "alert(1)" in flat
        # Every page the items table runs on starts with its header row (a <thead>).
        pages = text.split("\f")
        first = next(i for i, p in enumerate(pages) if "入选理由" in p)
        runs_on = [p for p in pages[first + 1:] if re.search(r"π\s*=\s*0\.", p)]
        assert runs_on, "the items fit on one page: the test needs more items"
        assert all("入选理由" in p for p in runs_on)


def test_the_report_reads_the_registration_time_in_the_bureau_s_zone() -> None:
    """A person reads the pre-registration's time-stamp in the bureau's zone to the second,
    with the instant in UTC beside it (it was the token's ISO text, in UTC)."""
    from sampler.export import registration_text
    from store.labels import text_labels_of

    reg = {"manifest_sha256": "ab" * 32, "key_fingerprint": "cd" * 32,
           "timestamps": [{"gen_time": "2026-12-08T04:26:25+00:00"}]}
    zh = registration_text(reg, text_labels_of("plan_report", "zh-CN"), "approved", "zh-CN")
    assert "2026-12-08 12:26:25 北京时间 (2026-12-08 04:26:25 UTC)" in zh
    assert "T04:26:25" not in zh
    en = registration_text(reg, text_labels_of("plan_report", "en"), "approved", "en")
    assert "2026-12-08 12:26:25 Beijing time" in en
