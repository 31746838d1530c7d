"""Each role walks its console workflows in zh-CN in a real Chromium: the sampler draws and
submits a plan and takes a purchase from receipt to lab result (uploading the seal photo and
the lab report); the supervisor approves, schedules and reads the estimates; the
investigator opens a case from a listing and captures a page on request; the administrator reads the lists with their
totals and CSV exports.  Every page visited is checked for untranslated codes and for times
not in the bureau's zone to the second (the checkers of test_no_raw_codes) and the pages are photographed into docs/screenshots/.

Run under ``flock /tmp/spotcheck-browser.lock``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from scheduler import purchases as sp
from scheduler.runs import wait_for_queued_runs
from store.models import Case, Plan, PlanStatus, Purchase, PurchaseStatus
from tests.factory.console import screenshot_png
from tests.web.conftest import Live
from tests.web.test_browser import SHOTS, login, settled
from tests.web.test_browser import page as page  # the fixture, re-exported
from tests.web.test_no_raw_codes import bare_times, raw_codes

pytestmark = pytest.mark.browser


class Walk:
    """Visits pages as one user, checking each for raw codes and CSP errors."""

    def __init__(self, page: Any, live: Live) -> None:
        self.page, self.live = page, live
        self.codes: dict[str, set[str]] = {}

    def check(self) -> None:
        html = self.page.content()
        found = raw_codes(html) | bare_times(html)
        if found:
            self.codes[self.page.url] = found

    def go(self, path: str, shot: str | None = None) -> Any:
        self.page.goto(f"{self.live.url}{path}")
        settled(self.page)
        self.check()
        if shot:
            self.shoot(shot)
        return self.page

    def shoot(self, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        out = SHOTS / f"{name}.png"
        self.page.screenshot(path=str(out), full_page=False)
        assert out.stat().st_size > 10_000, name

    def submit(self, selector: str) -> None:
        """Click a form's button and wait for the page the redirect leads to."""
        with self.page.expect_navigation():
            self.page.click(selector)
        settled(self.page)
        self.check()

    def done(self) -> None:
        assert self.codes == {}, self.codes
        assert self.page.csp_errors == []


def _ordered(live: Live) -> int:
    with live.db.session() as s:
        return int(s.scalars(select(Purchase.id).where(Purchase.status == PurchaseStatus.ORDERED)
                             .order_by(Purchase.id)).first())


def test_sampler_draws_submits_and_takes_a_purchase_to_its_lab_result(
        page: Any, live: Live, tmp_path: Path) -> None:
    w = Walk(page, live)
    login(page, live, "sam")
    cid = live.data.campaign_id
    w.go(f"/campaigns/{cid}")
    page.fill("#draw-plan input[name=seed]", "77")
    w.submit("#draw-plan button")
    assert "/plans/" in page.url
    assert "电子电器类太少" in page.inner_text("#previous-rejection")  # the comment it answers
    w.shoot("plan-draft")
    w.submit("#submit")
    assert page.inner_text("#plan-status") == "待审核"

    pid = _ordered(live)
    photo, report = tmp_path / "seal.png", tmp_path / "report.pdf"
    photo.write_bytes(screenshot_png("seal SEAL-B-1", 4))
    report.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    w.go(f"/purchases/{pid}")
    page.fill("#form-receive input[name=sample_code]", "SEAL-B-1")
    page.set_input_files("#form-receive input[name=seal_photo]", str(photo))
    w.submit("#form-receive button")
    assert page.inner_text("#sample-code") == "SEAL-B-1"
    page.fill("#form-send input[name=lab]", "国家日用小家电产品质量检验检测中心")
    w.submit("#form-send button")
    page.check("#form-result input[value=fail]")
    page.fill("#form-result textarea[name=defects]", "泄漏电流超标")
    page.fill("#form-result textarea[name=clauses]", "GB 4706.1-2005 第13章")
    page.set_input_files("#form-result input[name=report]", str(report))
    w.submit("#form-result button")
    assert page.inner_text("#outcome") == "不合格"
    assert page.locator("#lab-report").count() == 1 and page.locator("#seal-photo").count() == 1
    w.shoot("purchase")
    w.go("/purchases", shot="purchases")
    assert "不合格" in page.inner_text(f"#purchase-{pid}")
    w.go("/personas")
    w.done()


def test_supervisor_approves_schedules_and_reads_the_estimates(page: Any, live: Live) -> None:
    v1, v2 = live.data.plan_ids
    with live.db.session() as s:  # lab results for the rejected v1's purchases
        for i, pid in enumerate(s.scalars(select(Purchase.id).where(
                Purchase.status == PurchaseStatus.ORDERED).order_by(Purchase.id))):
            sp.receive_sample(s, pid, f"B-EST-{i}", actor="sam")
            sp.send_to_lab(s, pid, "lab", actor="sam")
            sp.record_lab_result(s, pid, "fail" if i == 0 else "pass", defects=["x"],
                                 actor="sam", open_case=False)
    w = Walk(page, live)
    login(page, live, "sue")
    w.go(f"/plans/{v2}")
    page.fill("#comment", "同意")
    w.submit("#approve")
    with live.db.session() as s:
        plan = s.get(Plan, v2)
        assert plan is not None and plan.status is PlanStatus.APPROVED
    w.go(f"/campaigns/{live.data.campaign_id}")
    page.click("#schedule-campaign summary")
    page.fill("#schedule-form input[name=cron_crawl]", "0 2 * * *")
    page.fill("#schedule-form input[name=cron_stats]", "0 6 1 1,7 *")
    w.submit("#schedule-form button")
    assert "统计报告" in page.inner_text("#schedules")
    w.shoot("campaign-schedule")
    w.go(f"/plans/{v1}/estimates?by=sector", shot="estimates")
    assert page.locator("#estimates tbody tr").count() >= 2
    assert page.locator("svg.chart circle").count() >= 1
    w.go("/reports", shot="reports")
    w.go("/matches", shot="matches")
    w.done()


def test_investigator_opens_a_case_from_a_listing(page: Any, live: Live) -> None:
    lid = live.data.listing_ids[12]
    w = Walk(page, live)
    login(page, live, "ian")
    w.go(f"/listings/{lid}")
    page.select_option("#open-case select[name=kind]", "counterfeit")
    page.fill("#open-case input[name=summary]", "商标与权利人登记不符")
    w.shoot("listing-actions")
    w.submit("#open-case button")
    assert "/cases/" in page.url and "商标与权利人登记不符" in page.content()
    w.shoot("case-opened")
    w.go("/cases", shot="cases")
    assert page.locator("#list-total").inner_text() == "2"
    w.go("/evidence", shot="evidence-list")
    w.go("/reports")
    with live.db.session() as s:
        assert s.scalar(select(Case).where(Case.listing_id == lid, Case.opened_by == "ian"))
    # Any page may be captured on request: queued, followed on the queue page.
    live.settings.capture_allow_networks = ["127.0.0.0/8"]
    w.go("/captures/queue")
    page.fill("#capture-url input[name=url]", f"{live.url}/login")
    page.select_option("#capture-url select[name=kind]", "seller")
    w.submit("#capture-url button")
    assert page.url.endswith("/captures/queue")
    assert page.locator("#capture-queue tbody tr.capture-queued, #capture-queue tbody "
                        "tr.capture-running, #capture-queue tbody tr.capture-done").count() == 1
    w.shoot("capture-queue")
    assert wait_for_queued_runs(180)
    w.go("/captures/queue")
    assert page.locator("#capture-queue tbody tr.capture-done").count() == 1, page.content()
    w.done()


def test_administrator_reads_the_lists_with_totals_and_exports(page: Any, live: Live) -> None:
    w = Walk(page, live)
    login(page, live, "ada")
    for path in ("/campaigns", "/listings", "/evidence", "/cases", "/purchases", "/personas",
                 f"/plans/{live.data.plan_ids[1]}", "/matches", "/audit"):
        w.go(path)
        assert page.locator("#list-total, #totals").count() >= 1 or path in (
            "/personas", f"/plans/{live.data.plan_ids[1]}"), path
    w.shoot("audit")
    with page.expect_download() as info:
        page.click("#list-footer .csv-export")
    assert info.value.suggested_filename == "audit.csv"
    w.go(f"/plans/{live.data.plan_ids[1]}")
    with page.expect_download() as info:
        page.click("#export-form")
    assert info.value.suggested_filename.endswith("-form.xlsx")
    w.done()
