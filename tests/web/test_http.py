"""The console over real HTTP (uvicorn on 127.0.0.1): logins, sessions, CSRF, roles,
four-eyes, escaping, downloads, languages, audit."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select

from sampler.plans import draw_plan, submit_plan
from spotcheck import users
from spotcheck.identity import LIMIT_PER_NAME as THROTTLE_PER_NAME
from spotcheck.web.app import create_app
from store.models import AuditEvent, Capture, Plan, PlanStatus
from tests.factory.console import HOSTILE_TITLES, PASSWORD
from tests.web.conftest import Live, csrf_of, serve


def _pages(live: Live) -> list[str]:
    d = live.data
    return ["/campaigns", f"/campaigns/{d.campaign_id}", f"/plans/{d.plan_ids[1]}", "/listings",
            f"/listings/{d.listing_ids[0]}", "/evidence", f"/evidence/{d.capture_ids[0]}",
            "/purchases", "/personas", "/cases", f"/cases/{d.case_id}", "/reports", "/audit",
            f"/artifacts/{d.order_screenshot_sha}", f"/artifacts/{d.html_sha}?download=1"]


def _audit(live: Live, action: str) -> list[AuditEvent]:
    with live.db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _status(live: Live, plan_id: int) -> PlanStatus:
    with live.db.session() as s:
        plan = s.get(Plan, plan_id)
        assert plan is not None
        return plan.status


def test_every_page_needs_a_login(live: Live) -> None:
    with live.client() as c:
        for path in _pages(live):
            r = c.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/login?next="), path


def test_login_sets_a_strict_session_cookie_and_is_audited(live: Live) -> None:
    with live.client() as c:
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"name": "sue", "password": PASSWORD, "csrf": token,
                                   "next": "//evil.example/"})
        assert r.status_code == 303
        assert r.headers["location"] == "/"  # no open redirect
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert "secure" not in cookie  # plain HTTP on loopback
        assert c.get("/campaigns").status_code == 200
    events = _audit(live, "login")
    assert [e.actor for e in events] == ["sue"] and events[0].ip == "127.0.0.1"


def test_secure_cookie_setting(live: Live) -> None:
    settings = live.settings.model_copy(update={"secure_cookies": True})
    for url in serve(create_app(settings, live.db)):
        r = httpx.get(f"{url}/login")
        assert "secure" in r.headers["set-cookie"].lower()


def test_wrong_password_then_throttled(live: Live) -> None:
    with live.client() as c:
        token = csrf_of(c.get("/login").text)
        for _ in range(THROTTLE_PER_NAME):
            r = c.post("/login", data={"name": "sue", "password": "wrong password!",
                                       "csrf": token})
            assert r.status_code == 401
        # Now even the right password is refused without being checked.
        r = c.post("/login", data={"name": "sue", "password": PASSWORD, "csrf": token})
        assert r.status_code == 429
        assert c.get("/campaigns").status_code == 303
    assert len(_audit(live, "login.failed")) == THROTTLE_PER_NAME
    assert len(_audit(live, "login.throttled")) == 1
    # Another user from elsewhere is not affected by sue's lockout.
    live.login("sid").close()


def test_forms_without_the_csrf_token_are_refused(live: Live) -> None:
    plan_id = live.data.plan_ids[1]
    with live.login("sid") as c:
        posts = ["/logout", "/prefs/lang", f"/plans/{plan_id}/approve",
                 f"/plans/{plan_id}/reject", f"/plans/{plan_id}/submit", "/evidence/export",
                 "/login"]
        for path in posts:
            r = c.post(path, data={"comment": "x", "lang": "en", "name": "sid",
                                   "password": PASSWORD})
            assert r.status_code == 403, path
            r = c.post(path, data={"csrf": "forged", "comment": "x"})
            assert r.status_code == 403, path
        # The right token from another origin is refused too.
        token = csrf_of(c.get(f"/plans/{plan_id}").text)
        r = c.post(f"/plans/{plan_id}/approve", data={"csrf": token},
                   headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
        r = c.post(f"/plans/{plan_id}/approve", data={"csrf": token},
                   headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403
    assert _status(live, plan_id) == PlanStatus.SUBMITTED


def test_supervisor_approves_and_sampler_cannot(live: Live) -> None:
    plan_id = live.data.plan_ids[1]
    with live.login("sam") as c:
        page = c.get(f"/plans/{plan_id}").text
        assert 'id="approve"' not in page
        token = csrf_of(page)
        r = c.post(f"/plans/{plan_id}/approve", data={"csrf": token})
        assert r.status_code == 403
    assert _status(live, plan_id) == PlanStatus.SUBMITTED
    assert [e.actor for e in _audit(live, "plan.approve.denied")] == ["sam"]
    with live.login("sue") as c:
        page = c.get(f"/plans/{plan_id}").text
        assert 'id="approve"' in page
        r = c.post(f"/plans/{plan_id}/approve",
                   data={"csrf": csrf_of(page), "comment": "同意 <b>ok</b>"})
        assert r.status_code == 303
        after = c.get(f"/plans/{plan_id}").text
        assert "同意 &lt;b&gt;ok&lt;/b&gt;" in after
        assert 'id="approve"' not in after  # approved plans cannot be reviewed again
    assert _status(live, plan_id) == PlanStatus.APPROVED
    approved = _audit(live, "plan.approved")
    assert [e.actor for e in approved] == ["sue"]
    # Approval pre-registered the plan; the page says so and how to check it.
    [registered] = _audit(live, "plan.registered")
    assert registered.actor == "sue"
    assert registered.detail["manifest_sha256"] in after
    assert f"spotcheck plan verify {plan_id}" in after


def test_four_eyes_in_the_console(live: Live) -> None:
    with live.db.session() as s:
        plan = draw_plan(s, live.data.campaign_id, seed=3, actor="sue", settings=live.settings)
        submit_plan(s, plan.id, "sue")
        plan_id = plan.id
    with live.login("sue") as c:
        page = c.get(f"/plans/{plan_id}").text
        assert 'id="approve"' not in page and 'id="why-not"' in page
        r = c.post(f"/plans/{plan_id}/approve", data={"csrf": csrf_of(page)})
        assert r.status_code == 403
    assert _status(live, plan_id) == PlanStatus.SUBMITTED
    with live.login("sid") as c:
        page = c.get(f"/plans/{plan_id}").text
        r = c.post(f"/plans/{plan_id}/reject", data={"csrf": csrf_of(page), "comment": ""})
        assert r.status_code == 303  # back to the page with a message: a comment is needed
        assert _status(live, plan_id) == PlanStatus.SUBMITTED
        r = c.post(f"/plans/{plan_id}/reject", data={"csrf": csrf_of(page),
                                                       "comment": "请补充纺织类"})
        assert r.status_code == 303
    assert _status(live, plan_id) == PlanStatus.REJECTED


def test_roles_on_routes(live: Live) -> None:
    d = live.data
    expect = {
        "sam": {"/audit": 403, "/evidence": 403, "/cases": 403, "/purchases": 200,
                f"/plans/{d.plan_ids[1]}": 200, "/reports": 403, "/personas": 200},
        "ian": {"/audit": 403, "/evidence": 200, "/cases": 200, "/purchases": 403,
                "/personas": 403,
                f"/plans/{d.plan_ids[1]}": 403, f"/artifacts/{d.order_screenshot_sha}": 403},
        "sue": {"/audit": 403, f"/artifacts/{d.order_screenshot_sha}": 403,
                f"/evidence/{d.capture_ids[0]}": 200, "/reports": 200},
        "ada": {"/audit": 200, "/evidence": 200, "/purchases": 200, "/personas": 200},
    }
    for name, pages in expect.items():
        with live.login(name) as c:
            for path, status in pages.items():
                assert c.get(path).status_code == status, (name, path)
    denied = _audit(live, "access.denied")
    assert {e.actor for e in denied} == {"sam", "ian", "sue"}


def test_hostile_text_is_escaped_and_pages_have_no_inline_script(live: Live) -> None:
    d = live.data
    with live.login("ada") as c:
        for path in (f"/plans/{d.plan_ids[1]}", "/listings?q=window.__pwned", "/listings",
                     f"/listings/{d.hostile_listing_ids[0]}",
                     f"/listings/{d.hostile_listing_ids[1]}", "/cases", f"/cases/{d.case_id}",
                     "/purchases"):
            r = c.get(path)
            assert r.status_code == 200, path
            html = r.text
            assert "<script>window.__pwned" not in html
            assert "<img src=x" not in html and "<svg onload" not in html
            assert "<b onmouseover" not in html
            # Every script comes from a file of ours: no inline code for the CSP to allow.
            assert all('src="/static/' in tag for tag in re.findall(r"<script[^>]*>", html))
            csp = r.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert "frame-ancestors 'none'" in csp
        html = c.get("/listings?q=window.__pwned").text
        assert "&lt;script&gt;window.__pwned=1;alert(&#34;sbx&#34;)&lt;/script&gt;" in html
        assert HOSTILE_TITLES[0] not in html


def test_listing_detail_says_where_each_field_came_from(live: Live) -> None:
    with live.login("ada") as c:
        html = c.get(f"/listings/{live.data.listing_ids[0]}").text
    assert "各字段的来源" in html  # ada reads the console in zh-CN
    assert "<code>dom:h1</code>" in html and "<code>jsonld</code> · 9.90" in html
    assert "<img src=x onerror=alert(6)>" not in html
    # The history names a change of availability among the snapshot's changes.
    snapshots = html[html.index('id="snapshots"'):]
    assert "价格、库存状态" in snapshots[:snapshots.index("</table>")]


def test_captured_html_is_only_a_download(live: Live) -> None:
    with live.login("ian") as c:
        r = c.get(f"/artifacts/{live.data.html_sha}")
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["content-disposition"].startswith("attachment;")
        assert "sandbox" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert b"<script>" in r.content  # byte-exact evidence, just not rendered
        assert c.get(f"/artifacts/{'0' * 64}").status_code == 404
        assert c.get("/artifacts/..%2F..%2Fetc%2Fpasswd").status_code == 404
        assert c.get("/reports/..%2Fspotcheck.db").status_code == 404
    assert _audit(live, "artifact.download")


def test_persona_captures_per_role_and_route(live: Live) -> None:
    """The README's rule: investigators and supervisors never see a covert buyer's capture
    (page, thumbnail, inline image, download); administrators may, and each time is
    audited as a reveal.  Samplers do not view evidence at all."""
    d = live.data
    sha = d.order_screenshot_sha
    with live.db.session() as s:  # the order capture also about a listing: its page too
        cap = s.get(Capture, d.order_capture_id)
        assert cap is not None
        cap.listing_id = d.listing_ids[0]
    routes = [f"/artifacts/{sha}", f"/artifacts/{sha}?download=1", f"/artifacts/{sha}/thumb"]
    for name in ("ian", "sue"):
        with live.login(name) as c:
            for path in routes:
                assert c.get(path).status_code == 403, (name, path)
            page = c.get(f"/evidence/{d.order_capture_id}")
            assert page.status_code == 200
            html = page.text
            assert 'id="persona-withheld"' in html
            assert f"/artifacts/{sha}" not in html  # no image, thumbnail or download link
            assert sha in html  # the hash stays visible: it is what a pack lists
            assert "深圳市某路1号" not in html and "买家小王" not in html
            listing = c.get(f"/listings/{d.listing_ids[0]}").text
            assert f"/artifacts/{sha}" not in listing  # no thumbnail that would 403
    with live.login("sam") as c:
        assert c.get(f"/evidence/{d.order_capture_id}").status_code == 403
    assert not _audit(live, "persona.reveal")
    with live.login("ada") as c:
        for path in routes:
            assert c.get(path).status_code == 200, path
        html = c.get(f"/evidence/{d.order_capture_id}").text
        assert f"/artifacts/{sha}/thumb" in html and 'id="persona-withheld"' not in html
    reveals = _audit(live, "persona.reveal")
    assert {e.actor for e in reveals} == {"ada"} and len(reveals) == len(routes) + 1


def test_export_refusal_is_told_in_the_users_language(live: Live) -> None:
    """Exporting only a covert buyer's capture is refused on the page the user came from,
    in zh-CN, not as an English error page naming a CLI flag."""
    d = live.data
    with live.login("ian") as c:
        page = c.get(f"/evidence/{d.capture_ids[0]}").text
        r = c.post("/evidence/export", data={"csrf": csrf_of(page),
                                             "capture_id": str(d.order_capture_id),
                                             "back": f"/evidence/{d.capture_ids[0]}"})
        assert r.status_code == 303 and r.headers["location"] == f"/evidence/{d.capture_ids[0]}"
        html = c.get(r.headers["location"]).text
        assert "为保护该身份不予导出" in html and "--include-persona-captures" not in html
    assert _audit(live, "evidence.export_refused")


def test_persona_secrets_stay_hidden(live: Live) -> None:
    d = live.data
    with live.login("sue") as c:
        board = c.get("/purchases").text
        assert "买家小王" not in board and "gAAAA" not in board
        order = c.get(f"/evidence/{d.order_capture_id}").text
        assert "深圳市某路1号" not in order and "买家小王" not in order
    with live.login("sam") as c:
        board = c.get("/purchases").text
        assert "买家小王" in board  # the alias, for those who buy
        assert "gAAAA" not in board  # never the encrypted secrets


def test_personas_page_masks_and_reveals_to_buyers_only(live: Live) -> None:
    from store.models import BuyerPersona

    with live.db.session() as s:
        persona_id = s.scalars(select(BuyerPersona.id)).one()
    secrets = ("wang.buyer@example.cn", "13800138000", "深圳市南山区某路1号", "PAY-6222-0000-1111")
    with live.login("ian") as c:
        assert c.get("/personas").status_code == 403
    with live.login("sue") as c:
        page = c.get("/personas").text
        assert "买家小王" in page and 'id="persona-chart"' in page
        assert not any(x in page for x in secrets) and "/reveal" not in page
        r = c.post(f"/personas/{persona_id}/reveal", data={"csrf": csrf_of(page)})
        assert r.status_code == 403 and not any(x in r.text for x in secrets)
    with live.login("sam") as c:
        page = c.get("/personas").text
        assert not any(x in page for x in secrets)
        row = re.search(rf'<tr id="persona-{persona_id}".*?</tr>', page, re.S)
        assert row is not None
        buys = re.findall(r'<td class="num">(\d+)', row.group(0))
        assert int(buys[0]) >= 1  # the seeded purchases count against the persona
        assert c.post(f"/personas/{persona_id}/reveal", data={}).status_code == 403  # no CSRF
        r = c.post(f"/personas/{persona_id}/reveal", data={"csrf": csrf_of(page)})
        assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
        assert all(x in r.text for x in secrets)
        assert c.post("/personas/999999/reveal", data={"csrf": csrf_of(page)}).status_code == 404
        assert not any(x in c.get("/personas").text for x in secrets)  # masked again
    reveals = _audit(live, "persona.reveal")
    assert [(e.actor, e.object_id) for e in reveals] == [("sam", str(persona_id))]


def test_personas_load_exports_as_csv_without_the_masked_columns(live: Live) -> None:
    """Like every list, the personas' load has a CSV export, in the reader's language; it
    carries no account, address or payment column, masked or not, and investigators get none."""
    secrets = ("wang.buyer@example.cn", "13800138000", "深圳市南山区某路1号", "PAY-6222-0000-1111")
    with live.login("ian") as c:
        assert c.get("/personas?format=csv").status_code == 403
    with live.login("sam") as c:
        assert 'href="/personas?format=csv"' in c.get("/personas").text
        r = c.get("/personas?format=csv")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        lines = r.text.lstrip("\ufeff").splitlines()
        assert lines[0].startswith("平台,化名,状态,") and "买家小王" in r.text
        assert not any(x in r.text for x in secrets) and "***" not in r.text
        row = next(line for line in lines if "买家小王" in line).split(",")
        assert int(row[3]) >= 1  # the seeded purchases count against the persona
    assert [e.actor for e in _audit(live, "personas.export")] == ["sam"]


def test_campaign_spent_is_converted_to_cny(live: Live) -> None:
    """The budget is in CNY; a purchase paid in USD counts at the settings' rate."""
    from decimal import Decimal

    from store.models import Campaign, Purchase

    with live.db.session() as s:
        paid = [p for p in s.scalars(select(Purchase).order_by(Purchase.id))
                if p.price_paid is not None]
        paid[0].price_paid, paid[0].currency = Decimal("10.00"), "USD"
        campaign = s.get(Campaign, live.data.campaign_id)
        assert campaign is not None
        expected = sum(float(p.price_paid or 0) for p in paid[1:]) + 10 * float(
            live.settings.rate_to_cny("USD") or 0)
    try:
        with live.login("sue") as c:
            page = c.get(f"/campaigns/{live.data.campaign_id}").text
        assert f"{expected:,.2f} CNY" in page
    finally:
        with live.db.session() as s:
            p = s.get(Purchase, paid[0].id)
            assert p is not None
            p.price_paid, p.currency = Decimal("99.50"), "CNY"


def test_investigator_works_a_case_in_the_console(live: Live) -> None:
    """Notify the bureau, order a measure, record its outcome, close: each step audited,
    refusals shown on the page, other roles refused."""
    from scheduler.cases import open_case
    from store.models import Case, CaseStatus

    with live.db.session() as s:
        case = open_case(s, "counterfeit", listing_id=live.data.listing_ids[7],
                         title="仿冒 测试", actor="ian")
        case_id, other = case.id, live.data.case_id
    url = f"/cases/{case_id}"
    with live.login("sue") as c:
        page = c.get(url).text
        assert 'id="notify"' not in page  # supervisors read cases, investigators work them
        assert c.post(f"{url}/notify", data={"csrf": csrf_of(page)}).status_code == 403
    with live.login("ian") as c:
        page = c.get(url).text
        assert all(f'id="{f}"' in page for f in ("notify", "add-measure", "close-case"))
        assert '<option value="letter">函件</option>' in page  # the channel by its label

        def post(path: str, **form: str) -> str:
            r = c.post(f"{url}{path}", data={"csrf": csrf_of(c.get(url).text), **form})
            assert r.status_code == 303 and r.headers["location"] == url, r.text[:300]
            return c.get(url).text

        page = post("/notify", bureau="杭州海关", channel="letter", reference="函〔2026〕12号")
        assert "函〔2026〕12号" in page
        page = post("/measures", kind="takedown", due="2026-13-40")
        assert "不是日期（YYYY-MM-DD）：&#39;2026-13-40&#39;" in page  # the refusal in Chinese
        page = post("/measures", kind="takedown", due="2026-12-31")
        with live.db.session() as s:
            row = s.get(Case, case_id)
            assert row is not None and row.status == CaseStatus.MEASURES
            measure_id = row.measures[0].id
            note_id = row.notifications[0].id
        page = post("/close", summary="结案")
        assert "有尚无结果的处置措施" in page  # refused, and said so (in Chinese)
        # A measure of another case cannot be completed through this one.
        r = c.post(f"/cases/{other}/measures/{measure_id}/done",
                   data={"csrf": csrf_of(page), "outcome": "x"})
        assert r.status_code == 404
        post(f"/notifications/{note_id}/acknowledge")
        post(f"/measures/{measure_id}/done", outcome="已下架 12 件")
        page = post("/close", summary="已下架并约谈")
        assert 'id="close-case"' not in page and "已下架 12 件" in page
    with live.db.session() as s:
        row = s.get(Case, case_id)
        assert row is not None and row.status == CaseStatus.CLOSED
        assert row.notifications[0].acknowledged_at is not None
    actions = {e.action for e in _audit_all(live) if e.object_id == str(case_id)}
    assert {"case.notify", "case.measure", "case.measure_done", "case.close"} <= actions


def _audit_all(live: Live) -> list[AuditEvent]:
    with live.db.session() as s:
        return list(s.scalars(select(AuditEvent)))


def test_languages(live: Live) -> None:
    with live.login("sue", headers={"Accept-Language": "en-GB,en;q=0.9"}) as c:
        assert ">Campaigns</a>" in c.get("/campaigns").text
    with live.login("sam", headers={"Accept-Language": "en"}) as c:
        # Messages made in route code (not only templates) follow the language too.
        page = c.get(f"/plans/{live.data.plan_ids[1]}").text
        assert "Only a supervisor can approve or reject a plan." in page
        assert "Allocation by stratum" in page and "各层样本分配" not in page
    with live.login("sid", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}) as c:
        page = c.get("/campaigns").text
        assert ">抽检活动</a>" in page and 'lang="zh-CN"' in page
        # The preference is stored with the user and wins over the browser's.
        r = c.post("/prefs/lang", data={"csrf": csrf_of(page), "lang": "en",
                                        "next": "/campaigns"})
        assert r.status_code == 303
        assert ">Campaigns</a>" in c.get("/campaigns").text
    assert users.get_user(live.db, "sid").locale == "en"


def test_password_change_and_disabling_end_sessions(live: Live) -> None:
    with live.login("sue") as c:
        assert c.get("/campaigns").status_code == 200
        users.set_password(live.db, "sue", "another long password", actor="ada")
        assert c.get("/campaigns").status_code == 303
    with live.login("ian") as c:
        assert c.get("/evidence").status_code == 200
        users.set_active(live.db, "ian", False, actor="ada")
        assert c.get("/evidence").status_code == 303
    with live.client() as c:
        token = csrf_of(c.get("/login").text)
        r = c.post("/login", data={"name": "ian", "password": PASSWORD, "csrf": token})
        assert r.status_code == 401


def test_logout(live: Live) -> None:
    with live.login("sue") as c:
        token = csrf_of(c.get("/campaigns").text)
        assert c.post("/logout", data={"csrf": token}).status_code == 303
        assert c.get("/campaigns").status_code == 303
    assert [e.actor for e in _audit(live, "logout")] == ["sue"]


def test_listing_search(live: Live) -> None:
    with live.login("sam") as c:
        html = c.get("/listings", params={"q": "USB充电"}).text
        assert html.count('href="/listings/') >= 1
        assert "儿童电动牙刷" in html and "毛绒玩具" not in html
        # LIKE wildcards are taken literally: "%" finds the titles with a per cent sign.
        html = c.get("/listings", params={"q": "%"}).text
        assert "Silk Scarf 100% Mulberry" in html and "儿童电动牙刷" not in html
        partial = c.get("/listings", params={"q": "USB"}, headers={"HX-Request": "true"}).text
        assert "<html" not in partial and 'id="listing-results"' in partial
        assert c.get("/listings", params={"page": 0}).status_code == 400


def test_an_invalid_value_reads_in_the_reader_s_language(live: Live) -> None:
    """pydantic's validation of a request reads 'page：应大于或等于 1', not its English."""
    with live.login("sam", headers={"Accept-Language": "zh-CN"}) as c:
        r = c.get("/listings", params={"page": 0})
    assert r.status_code == 400 and "page：应大于或等于 1" in r.text
    assert "greater than" not in r.text
    with live.login("sam", headers={"Accept-Language": "en"}) as c:
        assert "page: Input should be greater than or equal to 1" in c.get(
            "/listings", params={"page": 0}).text


_PERSONA_STRINGS = ("买家小王", "wang.buyer@example.cn", "pw-2026", "王小明", "13800138000",
                    "深圳市南山区某路1号", "PAY-6222-0000-1111", "深圳市某路1号")


def test_supervisors_never_see_persona_data_on_any_route(live: Live) -> None:
    """Supervisors read plans, purchases, cases, evidence and reports, never a covert buyer's
    details: not on the boards, a purchase's page, a case, the plan under review (no
    thumbnail of a persona capture), the evidence list or its CSV, a listing, and not in a
    pack exported with persona captures (download and reports list); the redacted copy is
    what they get, linked from the withheld original.  Administrators may (audited)."""
    import io
    import json
    import zipfile

    from store.models import Artifact, PlanItem, Purchase
    from tests.factory.console import screenshot_png, store_artifact

    d = live.data
    sha = d.order_screenshot_sha
    with live.db.session() as s:
        item = s.scalars(select(PlanItem).where(PlanItem.plan_id == d.plan_ids[1])).first()
        assert item is not None
        cap = s.get(Capture, d.order_capture_id)
        assert cap is not None
        cap.listing_id, cap.case_id = item.listing_id, d.case_id  # on the plan and the case
        purchase_id = cap.purchase_id
        listing_id = item.listing_id
        png = screenshot_png("order page, persona masked", 98)
        copy_sha = store_artifact(live.settings, png)
        copy = Capture(kind="order", url=cap.url, listing_id=item.listing_id,
                       case_id=d.case_id, operator="sam",
                       purpose=f"脱敏副本 / redacted copy of capture #{cap.id}",
                       meta={"persona": None, "redacted_from": {"capture_id": cap.id}})
        s.add(copy)
        s.flush()
        copy_id = copy.id
        s.add(Artifact(capture_id=copy.id, role="screenshot_full", sha256=copy_sha,
                       size=len(png), media_type="image/png"))
        assert s.get(Purchase, purchase_id) is not None
    packs = live.settings.packs_dir
    packs.mkdir(parents=True, exist_ok=True)
    for name, manifest in (("pack-with-personas.zip", {"persona_captures": [cap.id],
                                                       "captures": []}),
                           ("pack-plain.zip", {"persona_captures": [], "captures": []})):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("manifest.json", json.dumps(manifest))
        (packs / name).write_bytes(buf.getvalue())

    pages = ["/purchases", f"/purchases/{purchase_id}", f"/cases/{d.case_id}",
             f"/plans/{d.plan_ids[1]}", "/evidence", "/evidence?format=csv",
             f"/evidence/{d.order_capture_id}", f"/evidence/{copy_id}",
             f"/listings/{listing_id}", "/reports", "/personas"]
    with live.login("sue") as c:
        for path in pages:
            r = c.get(path)
            assert r.status_code == 200, (path, r.status_code)
            # (the personas page names each alias with its rotation load, by design)
            for secret in _PERSONA_STRINGS[1 if path == "/personas" else 0:]:
                assert secret not in r.text, (path, secret)
            assert f"/artifacts/{sha}" not in r.text, path  # no image, thumbnail or link
        for path in (f"/artifacts/{sha}", f"/artifacts/{sha}/thumb",
                     f"/artifacts/{sha}?download=1", "/packs/pack-with-personas.zip"):
            assert c.get(path).status_code == 403, path
        assert "pack-with-personas.zip" not in c.get("/reports").text
        assert c.get("/packs/pack-plain.zip").status_code == 200
        withheld = c.get(f"/evidence/{d.order_capture_id}").text
        assert 'id="persona-withheld"' in withheld
        assert f'href="/evidence/{copy_id}"' in withheld  # the copy instead
        assert c.get(f"/artifacts/{copy_sha}/thumb").status_code == 200
        assert f"/artifacts/{copy_sha}/thumb" in c.get(f"/evidence/{copy_id}").text
    assert not [e for e in _audit(live, "persona.reveal") if e.actor == "sue"]
    with live.login("ada") as c:
        assert c.get("/packs/pack-with-personas.zip").status_code == 200
        assert "pack-with-personas.zip" in c.get("/reports").text
        assert c.get(f"/artifacts/{sha}/thumb").status_code == 200
    assert {e.actor for e in _audit(live, "persona.reveal")} == {"ada"}


def test_a_capture_reads_as_facts_steps_and_why_it_failed_not_as_json(live: Live) -> None:
    """The evidence page names a failed capture's reason, its steps and the page's facts in
    the reader's language; the metadata's JSON is only behind a fold."""
    from store.models import CaptureStatus

    failure = {"step": "load", "code": "capture.refused_address",
               "params": {"url": "http://10.0.0.1/x", "reason": {
                   "code": "netguard.non_public_address",
                   "params": {"host": "10.0.0.1", "where": "10.0.0.1"}}}}
    with live.db.session() as s:
        cap = Capture(kind="listing", url="http://mall.test/item/x", operator="ian",
                      status=CaptureStatus.FAILED,
                      meta={"error": "load: the page led to a refused address", "failure": failure,
                            "steps": [{"name": "check_url", "ok": True, "ms": 3, "note": ""},
                                      {"name": "load", "ok": False, "ms": 40, "note": ""},
                                      {"name": "screenshots", "ok": True, "ms": 9,
                                       "note": "page is 90000px high; clipped to 20000px",
                                       "note_code": {"code": "capture.screenshot_clipped",
                                                     "params": {"height": 90000,
                                                                "limit": 20000}}}]},
                      facts={"title": "电热水壶", "price": "129.00", "currency": "CNY",
                             "availability": "InStock"})
        s.add(cap)
        s.flush()
        cid = cap.id
    with live.login("ian", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get(f"/evidence/{cid}").text
    assert "失败原因" in page and "加载页面步骤失败：页面跳转到被拒绝的地址" in page
    assert "解析到非公网地址" in page and "refused address" not in page.split("<details>")[0]
    assert "检查网址" in page and "有货" in page and "129.00 CNY" in page
    # a step's note reads from its code too (the English stays in the folded metadata)
    assert "页面高 90000 像素，截图截至 20000 像素" in page
    assert "clipped to" not in page.split("<details>")[0]
    assert page.index("<details>") < page.index('id="meta"')  # the JSON is folded away


def test_a_partial_capture_says_why_in_a_row_of_its_own(live: Live) -> None:
    """Why a capture is partial is a labelled row beside what was captured, read from its
    codes in the reader's language; one recorded before the codes keeps its English."""
    from store.models import CaptureStatus

    reasons = [{"step": "scroll", "code": "capture.step_over_budget",
                "params": {"seconds": 15.0}}]
    with live.db.session() as s:
        coded = Capture(kind="listing", url="http://mall.test/item/p", operator="ian",
                        status=CaptureStatus.PARTIAL,
                        meta={"partial": ["scroll did not finish within 15.0 s"],
                              "partial_reasons": reasons})
        old = Capture(kind="listing", url="http://mall.test/item/q", operator="ian",
                      status=CaptureStatus.PARTIAL,
                      meta={"partial": ["scroll did not finish within 15.0 s"]})
        s.add_all([coded, old])
        s.flush()
        ids = coded.id, old.id
    with live.login("ian", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get(f"/evidence/{ids[0]}").text
        before = c.get(f"/evidence/{ids[1]}").text
    assert "<th>部分取证原因</th>" in page
    row = page.split('id="partial">')[1].split("</td>")[0]
    assert row.startswith("滚动页面：") and "15.0" in row and "did not finish" not in row
    assert 'id="partial">scroll did not finish within 15.0 s</td>' in before
    with live.login("ian", headers={"Accept-Language": "en"}) as c:
        page = c.get(f"/evidence/{ids[0]}").text
    assert "<th>Why it is partial</th>" in page and 'id="partial">scrolling: ' in page


def test_the_audit_log_shows_details_as_text_not_escaped_json(live: Live) -> None:
    with live.login("ada", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get("/audit").text
    assert "名称：2026下半年" in page and "\\u" not in page


def test_the_audit_log_names_permissions_and_refusals_in_the_reader_s_language(
        live: Live) -> None:
    """A refused access reads 所需权限：查看审计日志 (was ``permission: audit.view``), a refusal
    its sentence in Chinese (was the English of ``str(exc)``)."""
    from store.errors import Conflict

    with live.login("sam") as c:
        assert c.get("/audit").status_code == 403  # audited as access.denied
    refusal = Conflict("plans.four_eyes_drew_submitted_plan", actor="sue", plan_id=99)
    with live.db.session() as s:
        s.add(AuditEvent(actor="sue", action="plan.approve.refused", object_type="plan",
                         object_id="99", detail={"reason": refusal.stored()}))
    with live.login("ada", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get("/audit").text
    assert "所需权限：查看审计日志" in page and "permission: audit.view" not in page
    assert "原因：" + refusal.message("zh-CN") in page.replace("&#39;", "'")
    assert "drew or submitted" not in page
    with live.login("ada", headers={"Accept-Language": "en"}) as c:
        page = c.get("/audit").text
    assert "permission needed: view the audit log" in page
    assert "reason: four eyes:" in page


def test_the_audit_log_shows_actions_and_objects_by_label_with_the_code_kept(live: Live) -> None:
    with live.login("ada", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get("/audit").text
    # The live data's campaign was created (campaign.create) and ada has just signed in.
    assert '<td title="campaign.create">创建抽检活动</td>' in page
    assert '<td title="login">登录</td>' in page
    assert 'title="campaign">抽检活动' in page
    with live.login("ada", headers={"Accept-Language": "en"}) as c:
        assert '<td title="login">signed in</td>' in c.get("/audit").text


def test_the_audit_log_names_a_platform_by_its_name_with_its_code_kept(live: Live) -> None:
    """A persona's creation names its platform (stored as the code ``mall``): the page reads
    the platform's name, the stored code in the cell's tooltip and in the CSV."""
    with live.login("ada", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get("/audit").text
        csv = c.get("/audit", params={"format": "csv"}).text
    cell = page.split('title="{&#34;alias&#34;')[1].split("</td>")[0]
    assert "平台：Sandbox Mall 沙盒商城" in cell and "mall；" not in cell, cell
    assert "&#34;platform&#34;: &#34;mall&#34;" in cell  # the tooltip keeps the code
    assert '""platform"": ""mall""' in csv


def test_a_plan_s_strata_name_their_platform(live: Live) -> None:
    """A plan stratified by platform ("mall/light_industry/general") shows the platform's
    name in its strata table, its items table and its allocation chart, as the audit log
    does; the item's stratum stays the code in the database."""
    from sqlalchemy import select, update

    from store.models import PlanItem
    from tests.web.test_no_raw_codes import platform_codes_shown

    plan_id = live.data.plan_ids[1]
    with live.db.session() as s:
        s.execute(update(PlanItem).where(PlanItem.plan_id == plan_id)
                  .values(stratum="mall/" + PlanItem.stratum))
        first = s.scalars(select(PlanItem).where(PlanItem.plan_id == plan_id)
                          .order_by(PlanItem.seq)).first()
        assert first is not None  # its reason quotes the stratum as drawn, with the code
        first.reasons = [{"code": "stratum", "params": {"stratum": "mall/light_industry/key"},
                          "zh": "层 mall/轻工/重点监管类：抽 2 个", "en": "stratum …"}]
    with live.login("sue", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get(f"/plans/{plan_id}").text
    assert "<td>Sandbox Mall 沙盒商城/" in page, page
    assert "层 Sandbox Mall 沙盒商城/轻工/重点监管类：抽 2 个" in page
    assert platform_codes_shown(page, {"mall"}) == set()
    assert "mall/" not in page.replace('"/', "")  # strata, items, reasons, chart, diff
    with live.db.session() as s:
        assert all(h.startswith("mall/") for h in s.scalars(
            select(PlanItem.stratum).where(PlanItem.plan_id == plan_id)))


def test_the_listing_page_shows_the_shop_s_category_as_the_shop_s_text(live: Live) -> None:
    """A crawled category is the shop's own text: shown quoted and marked as the shop's, with
    the sector our classification rules map it to, or said to be unmapped (``kids`` is no
    code of ours and no rule maps it)."""
    from store.models import Listing

    ids = live.data.listing_ids
    with live.db.session() as s:
        mapped = s.get(Listing, ids[1])
        assert mapped is not None
        mapped.category = "童装/连体衣"
    with live.login("sue", headers={"Accept-Language": "zh-CN"}) as c:
        unmapped = c.get(f"/listings/{ids[0]}").text
        textiles = c.get(f"/listings/{ids[1]}").text
    cell = unmapped.split('id="shop-category">')[1].split("</td>")[0]
    assert '<q class="shop-text" title="店铺原文，非本系统代码">kids</q>' in cell
    assert "分类规则未将其归入本系统行业" in cell
    cell = textiles.split('id="shop-category">')[1].split("</td>")[0]
    assert ">童装/连体衣</q>" in cell and "分类规则将其归入：纺织" in cell
    with live.login("sue", headers={"Accept-Language": "en"}) as c:
        cell = c.get(f"/listings/{ids[1]}").text.split('id="shop-category">')[1]
    assert "the classification rules map it to textiles" in cell.split("</td>")[0]


def test_a_plan_version_reads_in_the_page_s_language(live: Live) -> None:
    pid = live.data.plan_ids[1]
    with live.login("sue", headers={"Accept-Language": "zh-CN"}) as c:
        page = c.get(f"/plans/{pid}").text
        campaign = c.get(f"/campaigns/{live.data.campaign_id}").text
    assert "第 2 版" in page.split("<h1>")[1].split("</h1>")[0]
    assert ">第 1 版</a>" in campaign and ">v1</a>" not in campaign
    with live.login("sue", headers={"Accept-Language": "en"}) as c:
        assert " v2 " in c.get(f"/plans/{pid}").text.split("<h1>")[1].split("</h1>")[0]
