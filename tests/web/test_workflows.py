"""Console workflows over real HTTP: purchase steps from order to lab result (with the seal
photo and the lab report uploaded), rotation-rule flags, drawing and submitting plans (a
rejected plan is not sent again as it is), schedules, estimates, CSV exports — each under
the CLI's permission and through the CLI's domain function."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

from sqlalchemy import func, select

from scheduler.purchases import rotation_breaches
from store.models import (
    AuditEvent,
    Campaign,
    Case,
    JobRun,
    LabResult,
    Plan,
    PlanStatus,
    Purchase,
    PurchaseStatus,
    Sample,
)
from tests.factory.console import screenshot_png
from tests.web.conftest import Live, csrf_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _purchase(live: Live, status: PurchaseStatus) -> int:
    with live.db.session() as s:
        return int(s.scalars(select(Purchase.id).where(Purchase.status == status)
                             .order_by(Purchase.id)).first())


def _actions(live: Live, object_id: int) -> list[str]:
    with live.db.session() as s:
        return [e.action for e in s.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "purchase",
                                     AuditEvent.object_id == str(object_id))
            .order_by(AuditEvent.id))]


def test_purchase_from_order_to_lab_result(live: Live) -> None:
    planned, ordered = _purchase(live, PurchaseStatus.PLANNED), _purchase(live,
                                                                          PurchaseStatus.ORDERED)
    # Roles: the CLI's purchases.work (sampler, admin); others see no form and are refused.
    for name in ("ian", "sue"):
        with live.login(name) as c:
            page = c.get("/purchases").text if name == "sue" else c.get("/campaigns").text
            r = c.post(f"/purchases/{ordered}/receive",
                       data={"csrf": csrf_of(page), "sample_code": "X-1"})
            assert r.status_code == 403, name
    with live.login("sue") as c:
        assert 'id="form-receive"' not in c.get(f"/purchases/{ordered}").text
    with live.login("sam", headers={"Accept-Language": "zh-CN"}) as c:
        url = f"/purchases/{ordered}"

        def step(path: str, purchase: str = url, files: dict[str, tuple[str, bytes, str]]
                 | None = None, **form: str) -> str:
            token = csrf_of(c.get(purchase).text)
            r = c.post(f"{purchase}/{path}", data={"csrf": token, **form}, files=files)
            assert r.status_code == 303 and r.headers["location"] == purchase, r.text[:300]
            return c.get(purchase).text

        page = step("ordered", purchase=f"/purchases/{planned}", order_number="ORD-W-1",
                    price="59.90")
        assert "ORD-W-1" in page and "59.90" in page
        # A text file is not a seal photo: refused, said on the page, nothing recorded.
        page = step("receive", files={"seal_photo": ("seal.png", b"not an image", "image/png")},
                    sample_code="SEAL-2026-0001")
        assert "必须是以下之一" in page and 'id="form-receive"' in page
        photo = screenshot_png("seal", 3)
        page = step("receive", files={"seal_photo": ("seal.png", photo, "image/png")},
                    sample_code="SEAL-2026-0001")
        assert "SEAL-2026-0001" in page and 'id="seal-photo"' in page
        assert c.get(f"{url}/documents/seal_photo").content == photo
        page = step("send", lab="国家轻工产品质量检验检测中心")
        assert "国家轻工产品质量检验检测中心" in page
        page = step("result", outcome="fail")  # a failure needs its defects
        assert "defects" in page and 'id="form-result"' in page
        page = step("result", files={"report": ("report.pdf", PDF, "application/pdf")},
                    outcome="fail", defects="电源线截面积不足", clauses="GB 4706.1-2005 25.8")
        assert 'id="outcome"' in page and "不合格" in page and 'id="lab-report"' in page
        r = c.get(f"{url}/documents/lab_report")
        assert r.content == PDF and r.headers["content-type"] == "application/pdf"
        assert "attachment" in r.headers["content-disposition"]
        board = c.get("/purchases").text
        assert f'id="purchase-{ordered}"' in board and "不合格" in board
        step("close")
    with live.db.session() as s:
        p = s.get(Purchase, ordered)
        assert p is not None and p.status is PurchaseStatus.CLOSED
        sample = s.scalar(select(Sample).where(Sample.purchase_id == ordered))
        assert sample is not None and sample.code == "SEAL-2026-0001"
        assert sample.seal_photo_sha256 and sample.received_by == "sam"
        result = s.scalar(select(LabResult).where(LabResult.sample_id == sample.id))
        assert result is not None and result.outcome.value == "fail"
        assert result.entered_by == "sam" and result.clauses == ["GB 4706.1-2005 25.8"]
        # The failure opened the case for the platform's bureau, as on the CLI.
        assert s.scalar(select(Case).where(Case.sample_id == sample.id)) is not None
    actions = _actions(live, ordered)
    for needed in ("purchase.receive.refused", "purchase.received", "purchase.sent_to_lab",
                   "purchase.result.refused", "purchase.result", "purchase.closed",
                   "purchase.seal_photo.download", "purchase.lab_report.download"):
        assert needed in actions, (needed, actions)


def test_rotation_breaches_are_flagged(live: Live) -> None:
    """Two orders of one persona on one (Beijing) day break "once a day": the board and the
    purchase page say so, as `purchase tasks` does."""
    with live.db.session() as s:
        ids = list(s.scalars(select(Purchase.id).order_by(Purchase.id).limit(2)))
        for pid, hour in zip(ids, (2, 9), strict=True):  # 10:00 and 17:00 Beijing
            p = s.get(Purchase, pid)
            assert p is not None
            p.ordered_at = dt.datetime(2026, 11, 3, hour, tzinfo=dt.UTC)
        found = rotation_breaches(s)
    assert any(b.rule == "persona_per_day" and set(b.keys) == {str(i) for i in ids}
               for b in found)
    with live.login("sam", headers={"Accept-Language": "zh-CN"}) as c:
        board = c.get("/purchases").text
        assert 'id="rotation-flags"' in board and "2026-11-03" in board
        assert "rotation-flag" in c.get(f"/purchases/{ids[0]}").text
        personas = c.get("/personas").text
        assert 'id="rotation-flags"' in personas and "每个买家身份每天最多 1 单" in personas


def test_plan_draw_submit_and_resubmission_rule(live: Live) -> None:
    v1, v2 = live.data.plan_ids
    cid = live.data.campaign_id
    with live.login("ian") as c:  # investigators do not draw plans
        r = c.post(f"/campaigns/{cid}/draw", data={"csrf": csrf_of(c.get("/campaigns").text)})
        assert r.status_code == 403
    with live.login("sam", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get(f"/plans/{v1}").text  # rejected: no submit, a redraw instead
        assert 'id="submit"' not in page and 'id="redraw"' in page
        r = c.post(f"/plans/{v1}/submit", data={"csrf": csrf_of(page)})
        assert r.status_code == 303
        assert "被退回的计划不能原样再次提交" in c.get(f"/plans/{v1}").text
        assert _status(live, v1) is PlanStatus.REJECTED
        # The same seed as the rejected v1 draws the same items: refused at submission.
        r = c.post(f"/campaigns/{cid}/draw", data={"csrf": csrf_of(page), "seed": "1"})
        assert r.status_code == 303
        same = int(r.headers["location"].rsplit("/", 1)[1])
        page = c.get(f"/plans/{same}").text
        assert 'id="previous-rejection"' in page and "电子电器类太少" in page
        c.post(f"/plans/{same}/submit", data={"csrf": csrf_of(page)})
        assert "入样概率与被退回的版本相同" in c.get(f"/plans/{same}").text
        assert _status(live, same) is PlanStatus.DRAFT
        r = c.post(f"/campaigns/{cid}/draw", data={"csrf": csrf_of(page), "seed": "77"})
        new = int(r.headers["location"].rsplit("/", 1)[1])
        page = c.get(f"/plans/{new}").text
        assert "电子电器类太少" in page and 'id="submit"' in page
        c.post(f"/plans/{new}/submit", data={"csrf": csrf_of(page)})
        assert _status(live, new) is PlanStatus.SUBMITTED
    assert _status(live, v2) is PlanStatus.SUPERSEDED
    with live.login("sue") as c:  # the four-eyes review of the sampler's plan
        page = c.get(f"/plans/{new}").text
        c.post(f"/plans/{new}/approve", data={"csrf": csrf_of(page), "comment": "同意"})
    assert _status(live, new) is PlanStatus.APPROVED
    with live.db.session() as s:
        assert s.get(Plan, v1).review_comment == "电子电器类太少，请重抽"  # type: ignore[union-attr]
    with live.login("sam") as c:
        page = c.get(f"/plans/{new}").text
        assert 'id="create-tasks"' in page
        r = c.post(f"/plans/{new}/tasks", data={"csrf": csrf_of(page)})
        assert r.status_code == 303 and r.headers["location"] == f"/purchases?plan={new}"
        board = c.get(f"/purchases?plan={new}").text
        assert 'id="totals"' in board
        exported = c.get(f"/purchases?plan={new}&format=csv")
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        with live.db.session() as s:
            n = len(list(s.scalars(select(Purchase.id).join(Purchase.plan_item)
                                   .where(Purchase.plan_item.has(plan_id=new)))))
        assert n > 0 and len(rows) == n + 1


def _status(live: Live, plan_id: int) -> PlanStatus:
    with live.db.session() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        return plan.status


def test_schedule_a_campaign(live: Live) -> None:
    cid = live.data.campaign_id
    with live.login("sam", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get(f"/campaigns/{cid}").text
        assert 'id="schedule-form"' in page
        r = c.post(f"/campaigns/{cid}/schedule", data={
            "csrf": csrf_of(page), "cron_crawl": "0 2 * * *", "cron_stats": "bad cron",
            "status": "active"})
        assert r.status_code == 303
        assert "cron" in c.get(f"/campaigns/{cid}").text  # refused, said why
        c.post(f"/campaigns/{cid}/schedule", data={
            "csrf": csrf_of(page), "cron_crawl": "0 2 * * *", "cron_stats": "0 6 1 1,7 *",
            "period_start": "2026-07-01", "period_end": "2026-12-31", "status": "active"})
        page = c.get(f"/campaigns/{cid}").text
        assert "0 6 1 1,7 *" in page and "统计报告" in page
    with live.db.session() as s:
        camp = s.get(Campaign, cid)
        assert camp is not None and camp.schedules["stats"] == "0 6 1 1,7 *"
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.schedules"))
    with live.login("ian") as c:
        r = c.post(f"/campaigns/{cid}/schedule",
                   data={"csrf": csrf_of(c.get("/campaigns").text), "cron_crawl": "* * * * *"})
        assert r.status_code == 403


def test_estimates_page(live: Live) -> None:
    """The estimates of a plan with lab results, by the CLI's `plan estimate` function."""
    from sampler.plan_estimates import estimate_plan

    v1 = live.data.plan_ids[0]
    with live.db.session() as s:
        from scheduler import purchases as sp

        pids = list(s.scalars(select(Purchase.id).where(
            Purchase.status == PurchaseStatus.ORDERED).order_by(Purchase.id)))
        for i, pid in enumerate(pids):
            sp.receive_sample(s, pid, f"EST-{i}", actor="sam")
            sp.send_to_lab(s, pid, "lab", actor="sam")
            sp.record_lab_result(s, pid, "fail" if i == 0 else "pass", defects=["x"],
                                 actor="sam", open_case=False)
        expected = estimate_plan(s, v1, 0.95, by="sector", settings=live.settings)
    with live.login("sue", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get(f"/plans/{v1}/estimates?by=sector").text
        assert 'id="estimates"' in page and "<svg" in page
        assert "估计量：" in page and "estimator:" not in page  # notes in the reader's language
        assert f"{100 * expected['overall']['hajek_rate']:.1f}%" in page
        rows = list(csv.reader(io.StringIO(
            c.get(f"/plans/{v1}/estimates?by=sector&format=csv").content.decode("utf-8-sig"))))
        assert float(rows[1][4]) == expected["overall"]["hajek_rate"]
        assert "no-estimates" in c.get(f"/plans/{live.data.plan_ids[1]}/estimates").text
    with live.login("ian") as c:
        assert c.get(f"/plans/{v1}/estimates").status_code == 403


def test_plan_files_follow_the_plan_rule_on_reports(live: Live) -> None:
    """An investigator may not open /plans/N, so not its PDF/CSV from Reports either."""
    reports = live.settings.reports_dir
    reports.mkdir(parents=True, exist_ok=True)
    plan = live.data.plan_ids[1]
    for name in (f"plan-{plan}.pdf", f"plan-{plan}-v2.csv", "half-year-2026H2.pdf"):
        (reports / name).write_bytes(b"%PDF-1.4 test")
    with live.login("ian") as c:
        assert c.get(f"/plans/{plan}").status_code == 403
        page = c.get("/reports").text
        assert f"plan-{plan}.pdf" not in page and "half-year-2026H2.pdf" in page
        assert c.get(f"/reports/plan-{plan}.pdf").status_code == 403
        assert c.get(f"/reports/plan-{plan}-v2.csv").status_code == 403
        assert c.get("/reports/half-year-2026H2.pdf").status_code == 200
    with live.login("sue") as c:
        assert f"plan-{plan}.pdf" in c.get("/reports").text
        assert c.get(f"/reports/plan-{plan}.pdf").status_code == 200


def test_open_a_case_and_capture_from_a_listing(live: Live) -> None:
    lid = live.data.listing_ids[20]
    with live.login("sue") as c:  # supervisors read cases; investigators open them
        page = c.get(f"/listings/{lid}").text
        assert 'id="open-case"' not in page
        assert c.post(f"/listings/{lid}/case", data={"csrf": csrf_of(page),
                                                      "kind": "counterfeit"}).status_code == 403
    with live.login("ian", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get(f"/listings/{lid}").text
        assert 'id="open-case"' in page and 'id="capture-listing"' in page
        r = c.post(f"/listings/{lid}/case", data={"csrf": csrf_of(page), "kind": "counterfeit",
                                                  "summary": "疑似仿冒"})
        assert r.status_code == 303 and r.headers["location"].startswith("/cases/")
        case_id = int(r.headers["location"].rsplit("/", 1)[1])
        assert "疑似仿冒" in c.get(r.headers["location"]).text
        # The same listing and kind find the open case (the CLI's rule), not a second one.
        r2 = c.post(f"/listings/{lid}/case", data={"csrf": csrf_of(page), "kind": "counterfeit"})
        assert r2.headers["location"] == f"/cases/{case_id}"
        r = c.post(f"/listings/{lid}/case", data={"csrf": csrf_of(page), "kind": "nonsense"})
        assert "案件类型必须是以下之一" in c.get(r.headers["location"]).text
        # A capture of a non-web URL is refused before anything runs.
        r = c.post("/captures", data={"csrf": csrf_of(page), "url": "file:///etc/passwd",
                                      "listing_id": str(lid), "back": f"/listings/{lid}"})
        assert r.status_code == 303 and r.headers["location"] == f"/listings/{lid}"
        assert "只能截取 http 和 https 网址" in c.get(f"/listings/{lid}").text
    with live.db.session() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.listing_id == lid and case.opened_by == "ian"


def test_plan_exports_from_the_console(live: Live) -> None:
    from openpyxl import load_workbook

    plan = live.data.plan_ids[1]
    with live.login("sue", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get(f"/plans/{plan}").text
        assert 'id="export-form"' in page and 'id="export-xlsx"' in page
        for fmt, sheet in (("xlsx", "计划明细"), ("form", "抽样单")):
            r = c.get(f"/plans/{plan}/export/{fmt}")
            assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
            wb = load_workbook(io.BytesIO(r.content))
            assert sheet in wb.sheetnames
        r = c.get(f"/plans/{plan}/export/csv")
        assert r.status_code == 200 and len(r.content.decode("utf-8-sig").splitlines()) > 1
        assert c.get(f"/plans/{plan}/export/exe").status_code == 404
    with live.login("ian") as c:
        assert c.get(f"/plans/{plan}/export/form").status_code == 403
    with live.db.session() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "plan.export"))


def test_every_list_has_its_total_pages_and_csv(live: Live) -> None:
    """Totals, pagination and a CSV of the whole filtered list, headers in the reader's
    language, hostile cells defused."""
    lists = {"/campaigns": "活动", "/cases": "编号", "/audit": "时间", "/evidence": "取证",
             "/listings": "标题", "/purchases": "状态"}
    with live.login("ada", headers={"Accept-Language": "zh-CN"}) as c:
        for path in lists:
            page = c.get(path).text
            assert 'id="list-total"' in page or 'id="totals"' in page, path
            r = c.get(path + "?format=csv")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
            text = r.content.decode("utf-8-sig")
            rows = list(csv.reader(io.StringIO(text)))
            assert len(rows) >= 2, path
            assert any("\u4e00" <= ch <= "\u9fff" for ch in "".join(rows[0])), (path, rows[0])
        listings = list(csv.reader(io.StringIO(
            c.get("/listings?format=csv").content.decode("utf-8-sig"))))
        assert len(listings) == 1 + len(live.data.listing_ids)
        assert not any(cell.startswith(("=", "+", "@")) for row in listings for cell in row)
        page = c.get("/listings").text
        assert f'<strong id="list-total">{len(live.data.listing_ids)}</strong>' in page
    # Pages: 150 events of one action are two pages of 100, the filter kept in the links.
    with live.db.session() as s:
        s.add_all([AuditEvent(actor="test", action="paging.test", object_type="x",
                              object_id=str(i), detail={}) for i in range(150)])
    with live.login("ada", headers={"Accept-Language": "zh-CN"}) as c:
        first = c.get("/audit?action=paging.test").text
        assert '<strong id="list-total">150</strong>' in first and "第 1 页，共 2 页" in first
        assert 'href="/audit?action=paging.test&amp;page=2"' in first
        second = c.get("/audit?action=paging.test&page=2").text
        assert second.count("paging.test</td>") == 50 and 'rel="prev"' in second
        rows = list(csv.reader(io.StringIO(
            c.get("/audit?action=paging.test&format=csv").content.decode("utf-8-sig"))))
        assert len(rows) == 151


def test_campaigns_list_has_pages_totals_and_csv(live: Live) -> None:
    """The campaigns list pages like the others: 100 a page, the total of all, every
    campaign in the CSV."""
    with live.db.session() as s:
        before = int(s.scalar(select(func.count()).select_from(Campaign)) or 0)
        s.add_all([Campaign(name=f"分页测试 {i:03d}") for i in range(120)])
    total = before + 120
    with live.login("ada", headers={"Accept-Language": "zh-CN"}) as c:
        first = c.get("/campaigns").text
        assert f'<strong id="list-total">{total}</strong>' in first
        assert "第 1 页，共 2 页" in first and 'href="/campaigns?page=2"' in first
        assert first.count('<a href="/campaigns/') == 100
        second = c.get("/campaigns?page=2").text
        assert second.count('<a href="/campaigns/') == total - 100 and 'rel="prev"' in second
        rows = list(csv.reader(io.StringIO(
            c.get("/campaigns?format=csv").content.decode("utf-8-sig"))))
        assert len(rows) == 1 + total and rows[0][0] == "抽检活动"


def test_capture_is_queued_and_followed_and_any_url_is_checked_by_the_policy(
        live: Live, tmp_path: Path) -> None:
    """The capture button returns at once: the capture is a queued, recorded job run whose
    state the requester follows on /captures/queue (here it fails: no browser, said in
    Chinese); any URL may be asked for, an address the capture network policy refuses is
    refused at once, and a role without captures.run has neither the page nor the action."""
    from scheduler.runs import wait_for_queued_runs

    live.settings.browser = str(tmp_path / "no-such-chromium")
    live.settings.capture_allow_networks = ["127.0.0.1:8"]
    lid = live.data.listing_ids[3]
    with live.login("sue") as c:  # a supervisor reads evidence but does not capture
        assert c.get("/captures/queue").status_code == 403
        page = c.get("/campaigns").text
        assert 'href="/captures/queue"' not in page
        assert c.post("/captures", data={"csrf": csrf_of(page), "url": "http://127.0.0.1:8/x"}
                      ).status_code == 403
    with live.login("ian", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get("/captures/queue").text
        assert 'id="capture-url"' in page and "尚未申请取证" in page
        # A private address outside the policy: refused before anything is queued.
        r = c.post("/captures", data={"csrf": csrf_of(page), "url": "http://10.1.2.3/shop"})
        assert r.status_code == 303
        page = c.get(r.headers["location"]).text
        assert "取证网络策略不允许访问该地址" in page and "尚未申请取证" in page
        # Any URL the policy allows (not a listing's), and a listing's page: both queued.
        r = c.post("/captures", data={"csrf": csrf_of(page), "url": "http://127.0.0.1:8/any",
                                      "kind": "seller", "pdf": "true"})
        assert r.status_code == 303 and r.headers["location"] == "/captures/queue"
        r = c.post("/captures", data={"csrf": csrf_of(page), "url": "http://127.0.0.1:8/item",
                                      "listing_id": str(lid), "back": f"/listings/{lid}"})
        assert r.headers["location"] == "/captures/queue"
        assert wait_for_queued_runs(60)
        page = c.get("/captures/queue").text
        assert page.count('class="capture-failed"') == 2, page[-3000:]
        assert page.count(">失败<") == 2  # the state by its label (store.labels)
        assert 'name="pdf"' in page and "同时打印 PDF" in page  # the PDF is asked per capture
        assert "http://127.0.0.1:8/any" in page and f'href="/listings/{lid}"' in page
        assert "SPOTCHECK_BROWSER=" in page and "不存在" in page  # why, in Chinese
        assert 'http-equiv="refresh"' not in page  # nothing left to wait for
        # Like every list: its total, and every request as CSV (labels, not codes)
        assert '<strong id="list-total">2</strong>' in page and 'class="csv-export"' in page
        got = c.get("/captures/queue", params={"format": "csv"})
        rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
        assert rows[0][:5] == ["申请时间", "页面", "类型", "商品", "状态"], rows[0]
        assert len(rows) == 3 and {r[4] for r in rows[1:]} == {"失败"}
        assert {r[1] for r in rows[1:]} == {"http://127.0.0.1:8/any", "http://127.0.0.1:8/item"}
        assert [r[3] for r in rows[1:]] == [str(lid), ""]  # newest first
        assert "不存在" in rows[1][5]
    with live.db.session() as s:
        runs = list(s.scalars(select(JobRun).where(JobRun.job == "capture")))
        assert len(runs) == 2 and {r.outcome for r in runs} == {"error"}
        asked = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "capture.requested")))
        assert {a.actor for a in asked} == {"ian"} and len(asked) == 2
        assert s.scalar(select(AuditEvent).where(
            AuditEvent.action == "capture_requests.export", AuditEvent.actor == "ian"))
        # ticked, the PDF is asked for; unticked, the setting decides (capture_pdf)
        assert sorted(bool(a.detail.get("pdf")) for a in asked) == [False, True]
