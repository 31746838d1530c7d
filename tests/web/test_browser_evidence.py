"""An investigator exports an evidence pack from the console and it verifies (real captures
of a local page through Chromium, a local RFC 3161 TSA, evidence.verify without the database).

Run under ``flock /tmp/spotcheck-browser.lock``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from evidence.capture import capture_urls
from evidence.localtsa import LocalTSA
from evidence.trust import TrustAnchors
from evidence.verify import verify_pack
from spotcheck.web.app import create_app
from store.db import Database
from store.settings import Settings
from tests.conftest import need, page_handler, serve_http
from tests.factory.console import PASSWORD, Seeded
from tests.web.conftest import Live, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE = ("<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>儿童保温杯</title>"
        "</head><body><h1>&lt;script&gt;alert(1)&lt;/script&gt; 儿童保温杯</h1>"
        "<p class='price'>¥59.00</p><script>document.title += ' · 已加载'</script></body></html>")


@pytest.fixture()
def evidence_live(seeded_home: tuple[Path, Seeded], tmp_path: Path,
                  chromium_path: str | None) -> Iterator[tuple[Live, int]]:
    """The seeded console whose settings reach a local TSA, with one real capture."""
    need(shutil.which("openssl") is not None, "openssl is not installed")
    template, data = seeded_home
    home = tmp_path / "data"
    shutil.copytree(template, home)
    tsa = LocalTSA(tmp_path / "tsa")
    tsa.start()
    settings = Settings(home=home, db="", capture_allow_networks=["127.0.0.0/8"],
                        tsa_urls=[tsa.url], trusted_tsa_cas=[str(tsa.ca_file)],
                        capture_timeout=20.0)
    db = Database.open(settings.database_url, settings=settings)
    try:
        with serve_http(page_handler(PAGE)) as site:
            # In a thread of its own: the module's sync Playwright owns this thread's event
            # loop.
            with ThreadPoolExecutor(1) as pool:
                [capture_id] = pool.submit(
                    capture_urls, db, [f"{site}item/7"],
                    operator="ian", listing_ids=[data.hostile_listing_ids[0]],
                    case_id=data.case_id, purpose="console test", settings=settings).result()
            for url in serve(create_app(settings, db)):
                yield Live(url, db, settings, data, None), capture_id
    finally:
        db.dispose()
        tsa.stop()


def test_investigator_exports_a_pack_that_verifies(browser: Any, evidence_live: tuple[Live, int],
                                                    tmp_path: Path) -> None:
    live, capture_id = evidence_live
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(f"{live.url}/login")
        page.fill("#name", "ian")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live.url}/campaigns")
        page.goto(f"{live.url}/evidence/{capture_id}")
        assert page.locator("#artifacts tbody tr").count() >= 4  # screenshots, WARC, DOM, ...
        assert page.locator(".shots img").count() >= 1
        assert page.locator("#custody tbody tr").count() >= 1
        page.click("#export")
        page.wait_for_selector("#pack-link", timeout=120_000)
        with page.expect_download() as info:
            page.click("#pack-link")
        pack = tmp_path / info.value.suggested_filename
        info.value.save_as(pack)
        anchors = TrustAnchors.for_installation(live.settings)
        report = verify_pack(pack, anchors=anchors)
        assert report.ok, [(c.name, c.detail) for c in report.failures]
        assert report.captures == 1
        # The console's own verify button says the same.
        page.goto(f"{live.url}/evidence/{capture_id}")
        page.goto(f"{live.url}/reports")
        page.click(f"form[action='/packs/{pack.name}/verify'] button")
        assert "OK" in page.locator("#checks").inner_text()
        assert page.locator("#verdict.ok").count() == 1
        # Tampering shows: flip one byte of the downloaded pack and check again.
        data = bytearray(pack.read_bytes())
        data[len(data) // 2] ^= 0x01
        bad = tmp_path / "tampered.zip"
        bad.write_bytes(bytes(data))
        assert not verify_pack(bad, anchors=anchors).ok
        assert dialogs == []
    finally:
        page.close()
        context.close()


def test_capture_button_runs_the_clis_capture(evidence_live: tuple[Live, int]) -> None:
    """The listing page's capture button makes the same capture as `spotcheck capture URL
    --listing ID` (after the response; the row, its artifacts and its operator)."""
    import time

    from sqlalchemy import select

    from store.models import Artifact, AuditEvent, Capture
    from tests.web.conftest import csrf_of

    live, first = evidence_live
    with live.db.session() as s:
        url = s.get(Capture, first).url  # type: ignore[union-attr]
    lid = live.data.listing_ids[30]
    with live.login("sam") as c:
        page = c.get(f"/listings/{lid}").text
        assert 'id="capture-listing"' in page
        r = c.post("/captures", data={"csrf": csrf_of(page), "url": url,
                                      "listing_id": str(lid), "back": f"/listings/{lid}"})
        assert r.status_code == 303 and r.headers["location"] == "/captures/queue"
    deadline = time.monotonic() + 240
    capture = None
    while time.monotonic() < deadline:
        with live.db.session() as s:
            capture = s.scalar(select(Capture).where(Capture.listing_id == lid))
            if capture is not None and capture.finished_at is not None:
                break
        time.sleep(1)
    assert capture is not None and capture.finished_at is not None, "capture did not finish"
    with live.db.session() as s:
        row = s.get(Capture, capture.id)
        assert row is not None and row.operator == "sam" and row.url == url
        assert row.status.value in ("ok", "partial"), (row.status, row.meta.get("error"))
        roles = set(s.scalars(select(Artifact.role).where(Artifact.capture_id == row.id)))
        assert any(r.startswith("screenshot") for r in roles), roles
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "capture.requested"))
