"""Capturing the test shop with real Chromium: artifacts, WARC, refusals, re-capture diff."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from evidence import custody
from evidence.capture import capture_urls
from evidence.diff import diff_captures
from evidence.hashing import sha256_bytes
from evidence.keys import load_or_create, verify_signature
from evidence.steps import failure_text
from store.artifacts import ArtifactStore
from store.models import Artifact, Capture, CaptureStatus, CustodyEvent

pytestmark = pytest.mark.browser
WARCIO = str(Path(sys.executable).with_name("warcio"))


def _capture(captured: dict[str, Any], name: str) -> tuple[Capture, dict[str, Artifact]]:
    with captured["db"].session() as s:
        cap = s.get(Capture, captured["ids"][name])
        arts = {a.role: a for a in s.scalars(select(Artifact)
                                             .where(Artifact.capture_id == cap.id))}
        return cap, arts


def test_listing_capture_has_every_artifact_signed_and_stored(captured: dict[str, Any]) -> None:
    cap, arts = _capture(captured, "item")
    assert cap.status == CaptureStatus.OK, cap.meta.get("error")
    for role in ("screenshot_full", "screenshot_viewport", "screenshot_before_overlays",
                 "screenshot_after_overlays", "dom", "pdf", "warc", "meta", "provenance",
                 "manifest", "timestamp_0"):
        assert role in arts, role
    store = ArtifactStore(captured["settings"].artifacts_dir)
    for a in arts.values():
        assert store.check(a.sha256), a.role
    manifest = store.read(arts["manifest"].sha256)
    assert sha256_bytes(manifest) == cap.manifest_sha256
    key = load_or_create(captured["settings"].keys_dir)
    assert cap.signature and verify_signature(key.public, manifest, cap.signature)
    listed = {a["role"]: a["sha256"] for a in json.loads(manifest)["artifacts"]}
    for role, sha in listed.items():
        assert arts[role].sha256 == sha
    full = Image.open(io.BytesIO(store.read(arts["screenshot_full"].sha256)))
    view = Image.open(io.BytesIO(store.read(arts["screenshot_viewport"].sha256)))
    assert full.height > view.height >= 800  # the 2500px-high page was captured whole
    pdf = store.read(arts["pdf"].sha256)
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):  # every page stamped with the URL and the capture time
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                              check=True).stdout.decode()
        assert cap.final_url in text.replace("\n", "")
        assert "北京时间" in text and "UTC" in text
    assert "儿童保温杯" in store.read(arts["dom"].sha256).decode()
    # the lazy image only loads after scrolling: its request was recorded
    meta = json.loads(store.read(arts["meta"].sha256))
    for field in ("requested_url", "final_url", "redirects", "status", "headers", "server_ip",
                  "dns", "user_agent", "viewport", "timezone", "started_at", "finished_at",
                  "browser", "tools", "operator", "purpose", "steps"):
        assert field in meta, field
    assert meta["operator"] == "调查员甲" and meta["purpose"] == "测试取证"
    assert meta["server_ip"] == "127.0.0.1" and meta["dns"]["127.0.0.1"] == ["127.0.0.1"]
    assert [s["name"] for s in meta["steps"]][:4] == ["check_url", "open", "load",
                                                      "dismiss_overlays"]
    assert meta["overlays_dismissed"][0]["text"] == "同意"
    assert cap.facts == {"title": "儿童保温杯 500ml 不锈钢", "price": "89.00",
                         "currency": "CNY", "availability": "in_stock",
                         "sources": {"availability": "markup"}}
    prov = store.read(arts["provenance"].sha256).decode()
    assert arts["warc"].sha256 in prov and "取证来源说明" in prov
    with captured["db"].session() as s:
        ev = s.scalar(select(CustodyEvent).where(CustodyEvent.capture_id == cap.id))
        assert ev is not None and ev.action == "created"
        assert ev.detail["manifest_sha256"] == cap.manifest_sha256


def test_warc_passes_external_checks_and_holds_every_exchange(captured: dict[str, Any],
                                                              tmp_path: Path) -> None:
    _cap, arts = _capture(captured, "item")
    store = ArtifactStore(captured["settings"].artifacts_dir)
    path = tmp_path / "c.warc.gz"
    path.write_bytes(store.read(arts["warc"].sha256))
    check = subprocess.run([WARCIO, "check", "-v", str(path)], capture_output=True, text=True)
    assert check.returncode == 0 and "no digest to check" not in check.stdout, check.stdout
    index = subprocess.run([WARCIO, "index", "-f", "warc-type,warc-target-uri", str(path)],
                           capture_output=True, text=True, check=True).stdout
    records = [json.loads(line) for line in index.splitlines()]
    uris = {r["warc-target-uri"] for r in records if r["warc-type"] == "response"}
    base = captured["shop"].url
    assert {f"{base}/item/1", f"{base}/style.css", f"{base}/img/main.png",
            f"{base}/img/lazy.png"} <= uris
    resources = {r["warc-target-uri"] for r in records if r["warc-type"] == "resource"}
    assert any(u.startswith("file:///spotcheck/") and u.endswith("/provenance-summary.html")
               for u in resources)
    assert {u.rsplit(":", 1)[1] for u in resources if u.startswith("urn:")} == {
        "screenshot_full", "screenshot_viewport", "dom", "pdf"}
    from warcio.archiveiterator import ArchiveIterator

    with open(path, "rb") as fh:
        for rec in ArchiveIterator(fh):
            if rec.rec_type == "response" and rec.rec_headers.get_header(
                    "WARC-Target-URI").endswith("/style.css"):
                # the bytes as they came over the wire: still gzip-encoded
                assert rec.http_headers.get_header("Content-Encoding") == "gzip"
                assert rec.raw_stream.read().startswith(b"\x1f\x8b")


def test_redirect_chain_is_recorded(captured: dict[str, Any]) -> None:
    cap, _ = _capture(captured, "redirect")
    assert cap.status == CaptureStatus.OK
    base = captured["shop"].url
    assert cap.meta["redirects"] == [{"url": f"{base}/go", "status": 302}]
    assert cap.final_url == f"{base}/item/1"


def test_hostile_page_is_contained(captured: dict[str, Any]) -> None:
    cap, _ = _capture(captured, "hostile")
    assert cap.status == CaptureStatus.OK, cap.meta.get("error")
    reasons = {b["reason"].split(" (")[0] for b in cap.meta["blocked"]}
    assert "pop-up closed" in reasons and "download refused" in reasons
    assert any("10.255.255.1" in b["url"] and "non-public" in b["reason"]
               for b in cap.meta["blocked"])


@pytest.mark.parametrize("name,code,reason,chinese", [
    ("offsite", "capture.navigation_stopped", "navigate off the platform", "跳转到平台域名之外"),
    ("file", "netguard.only_http", "only http and https", "只能截取 http 和 https 网址"),
])
def test_refused_captures_fail_cleanly(captured: dict[str, Any], name: str, code: str,
                                       reason: str, chinese: str) -> None:
    cap, arts = _capture(captured, name)
    assert cap.status == CaptureStatus.FAILED
    # why, stored as a message code: each reader reads it in their language
    assert cap.meta["failure"]["code"] == code, cap.meta["failure"]
    assert reason in cap.meta["error"]  # the readable English text is kept too
    zh = failure_text(cap.meta["failure"], "zh-CN")
    assert zh is not None and chinese in zh and reason not in zh
    assert reason in (failure_text(cap.meta["failure"], "en") or "")
    assert set(arts) <= {"screenshot_viewport"} and cap.manifest_sha256 is None  # partial shot
    assert cap.started_at <= cap.finished_at
    with captured["db"].session() as s:
        ev = s.scalar(select(CustodyEvent).where(CustodyEvent.capture_id == cap.id))
        assert ev is not None and ev.action == "capture_failed"
        assert custody.check_database(s).ok


def test_private_address_refused_without_the_setting(captured: dict[str, Any],
                                                     tmp_path: Path) -> None:
    from store.db import Database
    from store.settings import Settings

    settings = Settings(home=tmp_path, db="", tsa_urls=captured["settings"].tsa_urls)
    settings.ensure_home()
    db = Database.open(settings.database_url, settings=settings)
    before = sorted(p for p in settings.artifacts_dir.rglob("*") if p.is_file())
    [cid] = capture_urls(db, [f"{captured['shop'].url}/item/1"], operator="t",
                         settings=settings)
    with db.session() as s:
        cap = s.get(Capture, cid)
        assert cap is not None and cap.status == CaptureStatus.FAILED
        assert "non-public address" in cap.meta["error"]
        assert cap.meta["failure"]["code"] == "capture.address_refused"
        assert (failure_text(cap.meta["failure"], "zh-CN") or "").startswith("检查网址步骤失败：拒绝截取")
    assert sorted(p for p in settings.artifacts_dir.rglob("*") if p.is_file()) == before
    db.dispose()


def _bounded_capture(captured: dict[str, Any], tmp_path: Path, path: str,
                     **bounds: Any) -> tuple[Capture, float]:
    """Capture the shop's *path* in a fresh home with the given capture settings; the stored
    capture row and the seconds it took."""
    import time

    from store.db import Database

    settings = captured["settings"].model_copy(update={"home": tmp_path, **bounds})
    settings.ensure_home()
    db = Database.open(settings.database_url, settings=settings)
    try:
        t0 = time.monotonic()
        [cid] = capture_urls(db, [f"{captured['shop'].url}{path}"], operator="t",
                             settings=settings)
        took = time.monotonic() - t0
        with db.session() as s:
            cap = s.get(Capture, cid)
            assert cap is not None
            s.expunge(cap)
        return cap, took
    finally:
        db.dispose()


def test_bounds_stop_a_flooding_page(captured: dict[str, Any], tmp_path: Path) -> None:
    cap, _ = _bounded_capture(captured, tmp_path, "/many?n=40", capture_max_resources=10)
    assert cap.status == CaptureStatus.OK
    assert cap.meta["limit_reached"] == "more than 10 resources"
    assert cap.meta["resources"] <= 10
    assert any(b["reason"] == "resource limit reached" for b in cap.meta["blocked"])


def test_byte_limit_stops_a_heavy_page(captured: dict[str, Any], tmp_path: Path) -> None:
    cap, _ = _bounded_capture(captured, tmp_path, "/many?n=40", capture_max_bytes=4000)
    assert cap.status == CaptureStatus.OK
    assert cap.meta["limit_reached"] == "more than 4000 bytes"
    # Bodies beyond the bound are not kept (that exchange stays, with its head only), and
    # what the page asks for afterwards is refused.
    assert cap.meta["bytes"] <= 4000 and cap.meta["resources"] < 41
    assert any(b["reason"] == "byte limit reached" for b in cap.meta["blocked"])


def test_load_time_limit_fails_a_hanging_page_cleanly(captured: dict[str, Any],
                                                       tmp_path: Path) -> None:
    cap, took = _bounded_capture(captured, tmp_path, "/slow?s=12",
                                 capture_step_timeouts={"load": 2.0})
    assert cap.status == CaptureStatus.FAILED
    assert cap.meta["error"].startswith("load: ") and cap.meta["error_step"] == "load"
    assert cap.meta["failure"]["step"] == "load"
    assert (failure_text(cap.meta["failure"], "zh-CN") or "").startswith("加载页面步骤失败：")
    load = [st for st in cap.meta["steps"] if st["name"] == "load"]
    assert load and not load[0]["ok"] and load[0]["budget_s"] == 2.0
    assert cap.started_at <= cap.finished_at
    assert took < 12, took  # the bound, not the page, decides how long it takes


def test_recapture_shows_what_changed(captured: dict[str, Any]) -> None:
    shop, db, settings = captured["shop"], captured["db"], captured["settings"]
    first = captured["ids"]["item"]
    shop.state.price, shop.state.available = "59.00", False
    shop.state.background = "#ffeeaa"
    try:
        [second] = capture_urls(db, [f"{shop.url}/item/1"], operator="t", settings=settings)
    finally:
        shop.state.price, shop.state.available, shop.state.background = "89.00", True, "#ffffff"
    with db.session() as s:
        cap = s.get(Capture, second)
        assert cap is not None and cap.previous_capture_id == first
    d = diff_captures(db, first, second, settings)
    assert d.changes["price"] == ("89.00", "59.00")
    assert d.changes["availability"] == ("in_stock", "out_of_stock")
    assert "title" not in d.changes
    assert d.changed_pixels > 0.5 and d.bbox is not None  # the background changed
    assert Image.open(io.BytesIO(d.diff_png)).size == d.size_b
    same = diff_captures(db, first, first, settings)
    assert not same.changed and same.bbox is None
