"""Confirming and rejecting notice-listing matches in the console (issue 22): role-checked,
audited, labelled in both languages, and a rejected pair never proposed again."""

from __future__ import annotations

from sqlalchemy import select

from sampler.risk.importers.sg_fields import norm_url
from sampler.risk.matching import match_notices
from store.models import AuditEvent, ForeignNotice, Listing, NoticeKey, NoticeMatch
from tests.web.conftest import Live, csrf_of


def _proposed(live: Live) -> tuple[int, int]:
    """A Safety Gate alert naming the first listing's URL, matched: (match id, listing id)."""
    lid = live.data.listing_ids[0]
    with live.db.session() as s:
        listing = s.get(Listing, lid)
        assert listing is not None
        n = ForeignNotice(source="safety-gate", reference="SR/08888/26",
                          title="Tongle — Magnetic cubes", brand="Tongle", models=[])
        s.add(n)
        s.flush()
        s.add(NoticeKey(notice_id=n.id, kind="url", value=norm_url(listing.url)))
        s.flush()
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
    from tests.risk.test_real_files import CPSC, REAL, SG_REPORT

    with live.db.session() as s:
        for name in CPSC:
            import_file(s, REAL / name, "cpsc")
        import_file(s, REAL / SG_REPORT, "safety-gate")
        notices = [(n.id, dict(n.raw)) for n in s.scalars(select(ForeignNotice).where(
            ForeignNotice.reference.in_(["26651", "25170", "24281", "26639", "SR/02420/26",
                                         "SR/02417/26"])))]
    assert len(notices) == 6
    with live.login("sam") as c:  # every role may read a notice
        for nid, raw in notices:
            page = c.get(f"/notices/{nid}").text
            rows = field_rows({k: v for k, v in raw.items() if k != "line"})
            assert len(rows) > 10
            for path, value in rows:
                assert f"<th class=\"small\">{escape(path)}</th>" in page, path
                assert str(escape(value)) in page, (path, value[:80])
        assert c.get("/notices/999999").status_code == 404
