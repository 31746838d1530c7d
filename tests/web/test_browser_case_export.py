"""An investigator, reading the console in zh-CN, exports the pack of a failed sample's case
that has no capture at all: the button is there, the pack downloads, carries the sample chain
and verifies offline (evidence.verify, without the database).

Run under ``flock /tmp/spotcheck-browser.lock``."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidence.keys import load_or_create
from evidence.localtsa import LocalTSA
from evidence.trust import TrustAnchors
from evidence.verify import verify_pack
from spotcheck.web.app import create_app
from store.db import Database
from store.models import Capture
from store.settings import Settings
from tests.conftest import need
from tests.factory.cases import LAB_REPORT, failed_sample_case
from tests.factory.console import PASSWORD, Seeded
from tests.web.conftest import Live, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture()
def case_live(seeded_home: tuple[Path, Seeded], tmp_path: Path,
              chromium_path: str | None) -> Iterator[tuple[Live, int]]:
    """The seeded console reaching a local TSA, with a failed sample's case and no capture."""
    need(shutil.which("openssl") is not None, "openssl is not installed")
    template, data = seeded_home
    home = tmp_path / "data"
    shutil.copytree(template, home)
    tsa = LocalTSA(tmp_path / "tsa")
    tsa.start()
    settings = Settings(home=home, db="", tsa_urls=[tsa.url],
                        trusted_tsa_cas=[str(tsa.ca_file)])
    db = Database.open(settings.database_url, settings=settings)
    try:
        case_id = failed_sample_case(db, settings, code="labtest")
        load_or_create(settings.keys_dir)
        with db.session() as s:
            assert s.query(Capture).filter(Capture.case_id == case_id).count() == 0
        for url in serve(create_app(settings, db)):
            yield Live(url, db, settings, data, None), case_id
    finally:
        db.dispose()
        tsa.stop()


def test_investigator_exports_a_failed_sample_case_in_chinese(
        browser: Any, case_live: tuple[Live, int], tmp_path: Path) -> None:
    live, case_id = case_live
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{live.url}/login")
        page.fill("#name", "ian")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live.url}/campaigns")
        page.goto(f"{live.url}/cases/{case_id}")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        button = page.locator("form[action='/evidence/export'] button")
        assert button.inner_text() == "导出证据包" and button.is_enabled()
        button.click()
        page.wait_for_selector("#pack-link", timeout=180_000)
        assert page.url == f"{live.url}/cases/{case_id}"
        assert "Bad Request" not in page.content()
        with page.expect_download() as info:
            page.click("#pack-link")
        pack = tmp_path / info.value.suggested_filename
        info.value.save_as(pack)
        report = verify_pack(pack, anchors=TrustAnchors.for_installation(live.settings))
        assert report.ok, [(c.name, c.detail) for c in report.failures]
        assert report.captures == 0
        assert any(c.name == "sample chain" and c.ok for c in report.checks)
        with zipfile.ZipFile(pack) as zf:
            chain = json.loads(zf.read("chain/sample-chain.json"))
            assert zf.read("chain/lab-report.pdf") == LAB_REPORT
            assert zf.read("report.zh-CN.pdf").startswith(b"%PDF")
        assert [s["step"] for s in chain["steps"]] == [
            "purchase", "order", "receipt", "seal", "lab", "lab_result"]
        # The console's verify button agrees, on the same page's flash.
        page.click("#verify-pack")
        assert page.locator("#verdict.ok").count() == 1
        # each check and its detail in the page's language (verify_said.*, verify_check)
        checks = page.locator("#checks").inner_text()
        assert "样品流转记录" in checks and "全部与清单一致" in checks, checks
        assert "本系统当前的密钥" in checks and "files match" not in checks, checks
    finally:
        page.close()
        context.close()
