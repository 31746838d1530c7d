"""The console in a real Chromium (Playwright): review and approval, four-eyes, hostile titles,
and screenshots of the main pages for the README (docs/screenshots/*.png).

Run under ``flock /tmp/spotcheck-browser.lock`` on the shared 2-core machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store.models import Plan, PlanStatus
from tests.factory.console import PASSWORD
from tests.web.conftest import Live

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture()
def page(browser: Any, live: Live) -> Iterator[Any]:
    """A page in a fresh zh-CN context that records dialogs and console CSP violations."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                  viewport={"width": 1360, "height": 900})
    pg = context.new_page()
    pg.dialogs = []  # every alert/confirm that opened
    pg.csp_errors = []

    def on_dialog(dialog: Any) -> None:
        pg.dialogs.append(dialog.message)
        dialog.accept()

    pg.on("dialog", on_dialog)
    pg.on("console", lambda msg: pg.csp_errors.append(msg.text)
          if "Content Security Policy" in msg.text else None)
    yield pg
    pg.close()
    context.close()


def login(page: Any, live: Live, name: str) -> None:
    page.goto(f"{live.url}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/campaigns")


def poll(page: Any, script: str, timeout: float = 15.0) -> None:
    """Wait until *script* (a JS function) returns true.  Playwright's wait_for_function
    evaluates strings with eval(), which the console's CSP rightly forbids."""
    import time

    deadline = time.monotonic() + timeout
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {script}")
        page.wait_for_timeout(100)


def settled(page: Any) -> None:
    """Wait until the page has loaded every subresource and no htmx request is in flight.

    What the checks after a navigation need.  Console pages request nothing after their load
    event (no ``hx-trigger`` on load; console.js fetches nothing), so Playwright's
    "networkidle" (500 ms without a request) only added half a second of waiting to each of
    the ~50 pages these tests visit; a page that one day loads a part by htmx on load is
    still waited for (htmx marks the element with ``htmx-request`` until the swap).
    """
    page.wait_for_load_state("load")
    poll(page, "() => document.querySelector('.htmx-request') === null")


def plan_status(live: Live, plan_id: int) -> PlanStatus:
    with live.db.session() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        return plan.status


def test_supervisor_reviews_and_approves_a_plan(page: Any, live: Live) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    plan_id = live.data.plan_ids[1]
    login(page, live, "sue")
    page.goto(f"{live.url}/campaigns/{live.data.campaign_id}")
    page.click(f"a[href='/plans/{plan_id}']")
    page.wait_for_url(f"{live.url}/plans/{plan_id}")
    assert page.locator("#items tbody tr").count() >= 5
    assert page.locator("#strata tbody tr").count() >= 2
    assert page.locator("svg.chart").count() >= 4
    assert page.locator("#diff li").count() >= 1  # v2 against the rejected v1
    page.screenshot(path=str(SHOTS / "plan-review.png"), full_page=False)
    # Thumbnails load (an image that failed would have naturalWidth 0).
    thumbs = page.locator("#items img.thumb")
    assert thumbs.count() >= 1
    thumbs.first.scroll_into_view_if_needed()
    poll(page, "() => document.querySelector('#items img.thumb').naturalWidth > 0")
    page.fill("#comment", "同意采购，注意重点监管类样品的封样。")
    page.click("#approve")  # console.js asks for confirmation; the fixture accepts
    page.wait_for_selector(".flash.ok")
    assert page.dialogs == ["确认记录此审核决定？此操作无法撤销。"]
    assert page.locator("#plan-status").inner_text() == "已批准"
    assert page.locator("#approve").count() == 0
    assert plan_status(live, plan_id) == PlanStatus.APPROVED
    assert page.csp_errors == []


def test_sampler_cannot_approve_not_even_by_forging_the_form(page: Any, live: Live) -> None:
    plan_id = live.data.plan_ids[1]
    login(page, live, "sam")
    page.goto(f"{live.url}/plans/{plan_id}")
    assert page.locator("#approve").count() == 0
    assert "只有审核人" in page.locator("#why-not").inner_text()
    # Rebuild the approval form by hand in the page (with the page's own CSRF token) and
    # submit it: the server refuses and the plan stays submitted.
    # Wait for the navigation the submit starts, not for the already-loaded page.
    with page.expect_navigation() as navigation:
        page.evaluate("""(id) => {
            const f = document.createElement('form'); f.method = 'post';
            f.action = '/plans/' + id + '/approve';
            const t = document.querySelector('input[name=csrf]').cloneNode();
            f.appendChild(t); document.body.appendChild(f); f.submit(); }""", plan_id)
    assert navigation.value is not None and navigation.value.status == 403
    assert "403" in page.locator("h1").inner_text()
    assert plan_status(live, plan_id) == PlanStatus.SUBMITTED


def test_supervisor_cannot_approve_own_plan(page: Any, live: Live) -> None:
    from sampler.plans import draw_plan, submit_plan

    with live.db.session() as s:
        plan = draw_plan(s, live.data.campaign_id, seed=5, actor="sue", settings=live.settings)
        submit_plan(s, plan.id, "sue")
        plan_id = plan.id
    login(page, live, "sue")
    page.goto(f"{live.url}/plans/{plan_id}")
    assert page.locator("#approve").count() == 0
    assert "双人复核" in page.locator("#why-not").inner_text()
    assert plan_status(live, plan_id) == PlanStatus.SUBMITTED


def test_hostile_titles_stay_inert(page: Any, live: Live) -> None:
    d = live.data
    login(page, live, "ada")
    for path in (f"/plans/{d.plan_ids[1]}", "/listings", "/listings?q=onerror",
                 f"/listings/{d.hostile_listing_ids[0]}", f"/listings/{d.hostile_listing_ids[1]}",
                 f"/listings/{d.hostile_listing_ids[2]}", f"/cases/{d.case_id}", "/purchases"):
        page.goto(f"{live.url}{path}")
        settled(page)
        assert page.evaluate("window.__pwned") is None, path
        # No element came from crawled text: no <img src=x>, no <svg onload>, no <b onmouseover>.
        injected = page.evaluate("""() => [...document.querySelectorAll(
            "img[src='x'], svg[onload], b[onmouseover], [onerror], main script")].length""")
        assert injected == 0, path
    page.goto(f"{live.url}/listings/{d.hostile_listing_ids[0]}")
    assert page.locator("#listing-title").inner_text().startswith("<script>window.__pwned")
    page.goto(f"{live.url}/listings?q=onerror")
    assert "<img src=x" in page.locator("#listing-results").inner_text()
    assert page.dialogs == []
    assert page.csp_errors == []


def test_htmx_search_updates_results_in_place(page: Any, live: Live) -> None:
    login(page, live, "sam")
    page.goto(f"{live.url}/listings")
    before = page.locator("#listing-results tbody tr").count()
    page.fill("input[name=q]", "连体衣")
    page.wait_for_url("**/listings?*q=*")  # hx-push-url
    poll(page, f"() => document.querySelectorAll('#listing-results tbody tr').length < {before}")
    rows = page.locator("#listing-results tbody tr")
    assert all("连体衣" in rows.nth(i).inner_text() for i in range(rows.count()))
    assert page.csp_errors == []


def test_screenshots_of_the_main_pages(page: Any, live: Live) -> None:
    """Pictures for the README; Chinese must render (fonts-noto-cjk)."""
    d = live.data
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{live.url}/login")
    page.screenshot(path=str(SHOTS / "login.png"))
    login(page, live, "ada")
    for name, path in (("campaigns", "/campaigns"), ("campaign", f"/campaigns/{d.campaign_id}"),
                       ("listings", "/listings"), ("listing", f"/listings/{d.listing_ids[5]}"),
                       ("evidence", f"/evidence/{d.capture_ids[0]}"), ("purchases", "/purchases"),
                       ("personas", "/personas"), ("case", f"/cases/{d.case_id}"), ("audit", "/audit")):
        page.goto(f"{live.url}{path}")
        settled(page)
        out = SHOTS / f"{name}.png"
        page.screenshot(path=str(out))
        assert out.stat().st_size > 10_000, name
    assert page.csp_errors == []
