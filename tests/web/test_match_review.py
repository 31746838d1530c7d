"""Confirming and rejecting notice-listing matches in the console (issue 22): role-checked,
audited, labelled in both languages, and a rejected pair never proposed again."""

from __future__ import annotations

from sqlalchemy import select

from sampler.risk.importers.sg_fields import norm_url
from sampler.risk.matching import match_notices
from store.models import AuditEvent, ForeignNotice, Listing, NoticeMatch
from tests import factory
from tests.web.conftest import Live, csrf_of


def _proposed(live: Live) -> tuple[int, int]:
    """A Safety Gate alert naming the first listing's URL, matched: (match id, listing id)."""
    lid = live.data.listing_ids[0]
    with live.db.session() as s:
        listing = s.get(Listing, lid)
        assert listing is not None
        n = factory.notice(s, "SR/08888/26", title="Tongle — Magnetic cubes", brand="Tongle",
                           models=[], keys=[("url", norm_url(listing.url))])
        match_notices(s, notice_ids=[n.id])
        m = s.scalar(select(NoticeMatch).where(NoticeMatch.notice_id == n.id))
        assert m is not None and m.status == "proposed" and m.listing_id == lid
        return m.id, lid


def _status(live: Live, match_id: int) -> str:
    with live.db.session() as s:
        m = s.get(NoticeMatch, match_id)
        assert m is not None
        return m.status


def test_reviewers_reject_and_the_pair_never_returns(live: Live) -> None:
    match_id, lid = _proposed(live)
    with live.login("sue") as c:  # a supervisor, reading the console in Chinese
        page = c.get("/matches").text
        assert f'id="match-{match_id}"' in page and "SR/08888/26" in page
        assert "确认匹配" in page and "否决匹配" in page and "通报匹配" in page
        assert "exact-key" in page and "疑似匹配，尚未人工确认" in page
        r = c.post(f"/matches/{match_id}/reject",
                   data={"csrf": csrf_of(page), "note": "另一款产品 <b>", "next": "/matches"})
        assert r.status_code == 303 and r.headers["location"] == "/matches"
        after = c.get("/matches?status=rejected").text
        assert "匹配已否决" in after and f'id="match-{match_id}"' in after
        assert "已否决：不计入风险" in after  # the status by its label (store.labels)
        assert f'id="match-{match_id}"' not in c.get("/matches").text  # not proposed any more
    with live.db.session() as s:
        m = s.get(NoticeMatch, match_id)
        assert m is not None and (m.status, m.reviewed_by) == ("rejected", "sue")
        assert m.detail["reviews"][-1]["note"] == "另一款产品 <b>"
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "signals.reject",
                                                  AuditEvent.object_id == str(match_id)))
        assert event is not None and event.actor == "sue"
        assert event.detail["previous"] == "proposed" and event.detail["listing_id"] == lid
        # matching again (an import, the scheduled job): the rejected pair stays rejected
        summary = match_notices(s)
        assert summary.kept_reviewed >= 1
        rows = list(s.scalars(select(NoticeMatch).where(NoticeMatch.listing_id == lid,
                                                        NoticeMatch.notice_id == m.notice_id)))
        assert [(x.id, x.status) for x in rows] == [(match_id, "rejected")]


def test_confirm_from_the_listing_page(live: Live) -> None:
    match_id, lid = _proposed(live)
    with live.login("ian") as c:  # an investigator
        page = c.get(f"/listings/{lid}").text
        assert f'action="/matches/{match_id}/confirm"' in page
        r = c.post(f"/matches/{match_id}/confirm",
                   data={"csrf": csrf_of(page), "next": f"/listings/{lid}#match-{match_id}"})
        assert r.status_code == 303 and r.headers["location"] == f"/listings/{lid}#match-{match_id}"
        page = c.get(f"/listings/{lid}").text
        # confirmed: the confirm button is gone, the reject one stays (a person may change it)
        assert f'action="/matches/{match_id}/confirm"' in page
        assert f'formaction="/matches/{match_id}/reject"' in page
        assert '<button name="decision" value="confirm"' not in page
    assert _status(live, match_id) == "confirmed"


def test_samplers_see_but_may_not_decide(live: Live) -> None:
    match_id, _ = _proposed(live)
    with live.login("sam") as c:
        page = c.get("/matches").text
        assert f'id="match-{match_id}"' in page
        assert f"/matches/{match_id}/confirm" not in page  # no buttons for this role
        r = c.post(f"/matches/{match_id}/confirm", data={"csrf": csrf_of(page)})
        assert r.status_code == 403
    assert _status(live, match_id) == "proposed"
    with live.db.session() as s:
        denied = s.scalar(select(AuditEvent).where(AuditEvent.action == "access.denied",
                                                   AuditEvent.actor == "sam"))
        assert denied is not None and denied.object_id == f"/matches/{match_id}/confirm"


def test_forged_posts_and_redirects_refused(live: Live) -> None:
    match_id, _ = _proposed(live)
    with live.login("ada") as c:
        page = c.get("/matches").text
        assert c.post(f"/matches/{match_id}/reject", data={"note": "x"}).status_code == 403
        assert _status(live, match_id) == "proposed"  # no CSRF token: nothing decided
        r = c.post(f"/matches/{match_id}/confirm",
                   data={"csrf": csrf_of(page), "next": "//evil.example/x"})
        assert r.status_code == 303 and r.headers["location"] == f"/matches#match-{match_id}"
        assert c.post("/matches/987654/confirm",
                      data={"csrf": csrf_of(page)}).status_code == 404
        assert c.get("/matches?status=whatever").status_code == 400


def test_notice_page_shows_every_field_of_real_records(live: Live) -> None:
    """Every field of every real record (tests/risk/data/real) reaches the console, escaped."""
    from markupsafe import escape

    from sampler.risk.importers import import_file
    from spotcheck.web.routes.matches import field_rows
    from tests.risk.test_real_files import CPSC, HC, REAL, SG_REPORT

    health_canada = ["73357", "74816", "74484", "74227", "74171"]
    with live.db.session() as s:
        for name in CPSC:
            import_file(s, REAL / name, "cpsc")
        import_file(s, REAL / SG_REPORT, "safety-gate")
        import_file(s, REAL / HC, "health-canada")
        notices = [(n.id, dict(n.raw)) for n in s.scalars(select(ForeignNotice).where(
            ForeignNotice.reference.in_(["26651", "25170", "24281", "26639", "SR/02420/26",
                                         "SR/02417/26", *health_canada])))]
    assert len(notices) == 11
    with live.login("sam") as c:  # every role may read a notice
        for nid, raw in notices:
            page = c.get(f"/notices/{nid}").text
            rows = field_rows({k: v for k, v in raw.items() if k != "line"})
            assert len(rows) > 10
            for path, value in rows:
                # the publisher's names and values, marked as quoted as stored
                assert f"<th class=\"small\"><code>{escape(path)}</code></th>" in page, path
                assert str(escape(value)) in page, (path, value[:80])
        assert c.get("/notices/999999").status_code == 404


def _risk(live: Live, lid: int) -> tuple[float, list[dict[str, object]]]:
    from sampler.risk.explain import explain

    with live.db.session() as s:
        listing = s.get(Listing, lid)
        assert listing is not None and listing.risk_score is not None
        return listing.risk_score, [r.__dict__ for r in explain(s, lid)]


def _match_reason(reasons: list[dict[str, object]]) -> dict[str, object] | None:
    found = [r for r in reasons if r["code"] == "notice_match"]
    return found[0] if found else None


def _reasons_block(page: str) -> str:
    start = page.index('id="risk-reasons"')
    return page[start:page.index("</ul>", start)]


def test_a_review_changes_the_score_at_once(live: Live) -> None:
    """A proposed match adds weight × confidence; rejecting it takes that away at once and
    confirming counts the full weight at once: in the score, the explanation, the listing page
    and the top-risk order, without another scoring run (issue 22)."""
    from sampler.risk.scoring import score_listings
    from sampler.risk.weights import default_weights
    from store.models import RISK_ORDER, ListingRisk

    lid = live.data.listing_ids[1]
    w = default_weights().w("notice_match")
    with live.db.session() as s:
        n = ForeignNotice(source="safety-gate", reference="SR/07777/26",
                          title="Tongle — Magnetic cubes", brand="Tongle", models=[])
        s.add(n)
        s.flush()
        m = NoticeMatch(notice_id=n.id, listing_id=lid, score=0.9, status="proposed",
                        detail={"evidence": {"method": "brand+model", "keys": ["brand:tongle"]}})
        s.add(m)
        s.flush()
        match_id = m.id
        score_listings(s)  # the scheduled run: the proposed match counts 0.9 of the weight
    proposed, reasons = _risk(live, lid)
    reason = _match_reason(reasons)
    assert reason is not None and reason["points"] == round(w * 0.9, 2)
    assert reason["params"]["status"] == "proposed"  # type: ignore[index]

    def rank() -> int:
        with live.db.session() as s:
            order = list(s.scalars(select(ListingRisk.listing_id).join(Listing)
                                   .order_by(*RISK_ORDER)))
        return order.index(lid)

    top_rank = rank()
    with live.login("sue") as c:  # a supervisor reading the console in Chinese
        page = c.get(f"/listings/{lid}").text
        assert "SR/07777/26" in _reasons_block(page) and "疑似匹配，尚未人工确认" in page
        r = c.post(f"/matches/{match_id}/reject",
                   data={"csrf": csrf_of(page), "next": f"/listings/{lid}"})
        assert r.status_code == 303
        page = c.get(f"/listings/{lid}").text
        assert "匹配已否决：该商品的风险评分已立即重新计算" in page
        assert "SR/07777/26" not in _reasons_block(page)  # gone from the explanation
    rejected, reasons = _risk(live, lid)
    assert _match_reason(reasons) is None
    assert abs((proposed - rejected) - w * 0.9) < 1e-6
    assert f"{rejected:.2f}" in page and rank() >= top_rank
    with live.login("ian") as c:  # an investigator changes it: the same product after all
        page = c.get(f"/listings/{lid}").text
        r = c.post(f"/matches/{match_id}/confirm",
                   data={"csrf": csrf_of(page), "next": f"/listings/{lid}"})
        assert r.status_code == 303
        page = c.get(f"/listings/{lid}").text
        block = _reasons_block(page)
        assert "SR/07777/26" in block and ("已确认" in block or ", confirmed" in block)
    confirmed, reasons = _risk(live, lid)
    reason = _match_reason(reasons)
    assert reason is not None and reason["points"] == w
    assert reason["params"]["status"] == "confirmed"  # type: ignore[index]
    assert abs((confirmed - rejected) - w) < 1e-6 and rank() <= top_rank


def test_the_match_list_has_its_total_pages_and_csv(live: Live) -> None:
    """Like every list: the total of the status shown, pages, and the same rows as CSV with
    headers and codes in the reader's language."""
    match_id, lid = _proposed(live)
    with live.db.session() as s:
        proposed = len(list(s.scalars(select(NoticeMatch.id)
                                      .where(NoticeMatch.status == "proposed"))))
    with live.login("sue") as c:
        page = c.get("/matches").text
        assert f'<strong id="list-total">{proposed}</strong>' in page
        assert 'href="/matches?format=csv"' in page
        assert f'id="match-{match_id}"' not in c.get("/matches?page=2").text
        csv = c.get("/matches?format=csv")
        assert csv.headers["content-type"].startswith("text/csv")
        lines = csv.text.lstrip("\ufeff").splitlines()
        assert lines[0].startswith("通报,") and len(lines) == proposed + 1
        row = next(line for line in lines if "SR/08888/26" in line)
        assert f",{lid}," in row and "proposed" not in row
    with live.db.session() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "matches.export"))
