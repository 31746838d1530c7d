"""Evidence packs: export, verification without the database, external tools, tampering."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence import custody
from evidence.localtsa import LocalTSA
from evidence.packs import export_pack
from evidence.tsa import timestamp
from evidence.verify import verify_pack
from store.models import Case

pytestmark = pytest.mark.browser
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def pack(captured: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    db, settings, ids = captured["db"], captured["settings"], captured["ids"]
    with db.session() as s:
        case = Case(number="AJ-2026-001", kind="counterfeit", title="假冒保温杯 线索")
        s.add(case)
        s.flush()
        case_id = case.id
        from store.models import Capture

        for name in ("item", "redirect"):
            s.get(Capture, ids[name]).case_id = case_id
        # other work in between, which the pack must not reveal, then a note on this case
        custody.record(s, "viewed", "someone", capture_id=ids["hostile"])
        custody.record(s, "annotated", "调查员甲", capture_id=ids["item"], case_id=case_id,
                       detail={"note": "价格异常低"})
    out = tmp_path_factory.mktemp("pack") / "case.zip"
    return export_pack(db, case_id=case_id, out=out, actor="调查员甲", settings=settings)


def _rewrite(src: Path, dst: Path, change: Callable[[str, bytes], bytes | None],
             extra: dict[str, bytes] | None = None, order: list[str] | None = None) -> Path:
    with zipfile.ZipFile(src) as zin:
        members = {i.filename: zin.read(i) for i in zin.infolist()}
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for name in order or list(members):
            data = change(name, members[name])
            if data is not None:
                zout.writestr(name, data)
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def _failed(report: Any) -> dict[str, str]:
    return {c.name: c.detail for c in report.failures}


def test_pack_verifies_and_holds_everything(pack: Path) -> None:
    report = verify_pack(pack)
    assert report.ok, report.failures
    assert report.captures == 2 and not report.warnings
    names = {c.name for c in report.checks}
    assert {"files", "signature", "custody", "timestamp manifest.json.0.tsr"} <= names
    with zipfile.ZipFile(pack) as zf:
        listing = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        custody_lines = zf.read("custody.jsonl").decode().splitlines()
    for name in ("public_key.pem", "custody.jsonl", "archive.wacz", "VERIFY.txt",
                 "report.zh-CN.html", "report.zh-CN.pdf", "report.en.html", "report.en.pdf",
                 "manifest.json.sig", "manifest.json.0.tsr", "tsa/0-chain.pem"):
        assert name in listing, name
    assert manifest["case"]["number"] == "AJ-2026-001"
    events = [json.loads(line) for line in custody_lines]
    assert [e["action"] for e in events if not e.get("redacted")][-1] == "exported"
    redacted = [e for e in events if e.get("redacted")]
    assert redacted and set(redacted[0]) == {"seq", "redacted", "prev_hash", "hash"}
    assert any(e["action"] == "annotated" and e["detail"] == {"note": "价格异常低"}
               for e in events if not e.get("redacted"))


def test_wacz_validates_with_py_wacz(pack: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        (tmp_path / "a.wacz").write_bytes(zf.read("archive.wacz"))
    proc = subprocess.run([str(BIN / "wacz"), "validate", "-f", str(tmp_path / "a.wacz")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with zipfile.ZipFile(tmp_path / "a.wacz") as w:
        pages = w.read("pages/pages.jsonl").decode()
        assert "儿童保温杯" in pages
        assert sum(n.startswith("archive/") for n in w.namelist()) == 2


def test_openssl_accepts_our_timestamps_and_signature(pack: Path, local_tsa: LocalTSA,
                                                      tmp_path: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        zf.extractall(tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    pairs = [("manifest.json", "manifest.json.0.tsr")]
    for cap in manifest["captures"]:
        pairs.append((cap["manifest"], cap["timestamps"][0]))
    for data, tsr in pairs:
        proc = subprocess.run(["openssl", "ts", "-verify", "-data", str(tmp_path / data),
                               "-in", str(tmp_path / tsr), "-CAfile", str(local_tsa.ca_file)],
                              capture_output=True, text=True)
        assert "Verification: OK" in proc.stdout, (data, proc.stderr)
    (tmp_path / "sig.bin").write_bytes(
        base64.b64decode((tmp_path / "manifest.json.sig").read_text()))
    proc = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                           str(tmp_path / "public_key.pem"), "-rawin", "-in",
                           str(tmp_path / "manifest.json"), "-sigfile", str(tmp_path / "sig.bin")],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "Success" in proc.stdout, proc.stderr


def test_report_pdf_has_the_chinese_text(pack: Path, tmp_path: Path) -> None:
    from tests.conftest import need

    need(shutil.which("pdftotext") is not None, "poppler-utils (pdftotext) is not installed")
    with zipfile.ZipFile(pack) as zf:
        (tmp_path / "r.pdf").write_bytes(zf.read("report.zh-CN.pdf"))
    text = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "证据包报告" in text and "儿童保温杯" in text


def _first_screenshot(pack: Path) -> str:
    with zipfile.ZipFile(pack) as zf:
        return next(n for n in zf.namelist() if n.endswith("screenshot-full.png"))


def test_flipped_byte_is_caught(pack: Path, tmp_path: Path) -> None:
    target = _first_screenshot(pack)

    def flip(name: str, data: bytes) -> bytes:
        if name != target:
            return data
        b = bytearray(data)
        b[len(b) // 2] ^= 0x01
        return bytes(b)

    report = verify_pack(_rewrite(pack, tmp_path / "t.zip", flip))
    assert not report.ok
    assert _failed(report) == {"files": f"{target}: SHA-256 differs from the manifest (altered)"}


def test_missing_and_added_files_are_caught(pack: Path, tmp_path: Path) -> None:
    target = _first_screenshot(pack)
    report = verify_pack(_rewrite(pack, tmp_path / "m.zip",
                                  lambda n, d: None if n == target else d))
    failed = _failed(report)
    assert f"missing file {target}" in failed["files"]
    assert any(k.startswith("capture ") and f"{target} is missing" in v
               for k, v in failed.items())
    report = verify_pack(_rewrite(pack, tmp_path / "a.zip", lambda n, d: d,
                                  extra={"captures/extra.png": b"\x89PNG"}))
    assert _failed(report) == {"files": "unlisted file captures/extra.png (added)"}


def _custody_change(pack: Path, dst: Path,
                    edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Path:
    def change(name: str, data: bytes) -> bytes:
        if name != "custody.jsonl":
            return data
        events = [json.loads(line) for line in data.decode().splitlines()]
        return "".join(json.dumps(e, ensure_ascii=False) + "\n"
                       for e in edit(events)).encode()
    return _rewrite(pack, dst, change)


def test_edited_custody_event_is_caught(pack: Path, tmp_path: Path) -> None:
    def edit(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        first = next(e for e in events if not e.get("redacted"))
        first["actor"] = "someone else"
        return events

    failed = _failed(verify_pack(_custody_change(pack, tmp_path / "e.zip", edit)))
    assert "content does not match its hash (edited)" in failed["custody"]
    assert "custody.jsonl: SHA-256 differs" in failed["files"]


def test_reordered_custody_events_are_caught(pack: Path, tmp_path: Path) -> None:
    def swap(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        events[0], events[1] = events[1], events[0]
        return events

    failed = _failed(verify_pack(_custody_change(pack, tmp_path / "r.zip", swap)))
    assert "reordered" in failed["custody"]


def test_wrong_signature_is_caught(pack: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(pack) as zf:
        manifest = zf.read("manifest.json")
    forged = base64.b64encode(Ed25519PrivateKey.generate().sign(manifest)).decode()
    report = verify_pack(_rewrite(pack, tmp_path / "s.zip",
                                  lambda n, d: forged.encode() if n == "manifest.json.sig"
                                  else d))
    assert _failed(report) == {"signature": "the signature of manifest.json is invalid "
                                            "(manifest or signature altered, or signed by "
                                            "another key)"}


def test_wrong_timestamp_is_caught(pack: Path, local_tsa: LocalTSA, tmp_path: Path) -> None:
    other = timestamp(b"some other manifest", local_tsa.url).response
    with zipfile.ZipFile(pack) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    tsr = manifest["captures"][0]["timestamps"][0]
    # swapping the token changes the file's hash too; both are reported
    report = verify_pack(_rewrite(pack, tmp_path / "w.zip",
                                  lambda n, d: other if n == tsr else d))
    failed = _failed(report)
    label = f"capture {manifest['captures'][0]['id']} timestamp {tsr}"
    assert "message imprint differs" in failed[label]
    # the pack's own token replaced (it is not listed in the manifest, only checked)
    report = verify_pack(_rewrite(pack, tmp_path / "p.zip",
                                  lambda n, d: other if n == "manifest.json.0.tsr" else d))
    assert list(_failed(report)) == ["timestamp manifest.json.0.tsr"]


def test_cli_verify_exit_codes(pack: Path, tmp_path: Path) -> None:
    ok = subprocess.run([str(BIN / "spotcheck"), "evidence", "verify", str(pack), "--json"],
                        capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    bad = _rewrite(pack, tmp_path / "bad.zip", lambda n, d: None if n == "VERIFY.txt" else d)
    proc = subprocess.run([str(BIN / "spotcheck"), "evidence", "verify", str(bad)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 5
    assert "missing file VERIFY.txt" in proc.stderr


def test_persona_captures_are_withheld_unless_asked(captured: dict[str, Any], tmp_path: Path
                                                    ) -> None:
    """An order page shows the covert buyer's account, address and payment reference: packs
    leave such captures out by default, listing their signed hashes; the CLI says so."""
    import os

    from scheduler.personas import create_persona
    from store.models import Capture, Platform

    db, settings, ids = captured["db"], captured["settings"], captured["ids"]
    with db.session() as s:
        platform = Platform(code="pack-shop", name="Shop")
        s.add(platform)
        s.flush()
        view = create_persona(s, platform.id, "买家甲", "buyer@example.cn", None,
                              "张三 | 13900000000 | 杭州市某路2号", "PAY-9", settings)
        cap = s.get(Capture, ids["hostile"])
        assert cap is not None
        cap.persona_id, manifest_sha = view.id, cap.manifest_sha256
    env = {**os.environ, "SPOTCHECK_HOME": str(settings.home),
           "SPOTCHECK_TSA_URLS": settings.tsa_urls[0],
           "SPOTCHECK_CONFIG": str(tmp_path / "none.toml")}
    env.pop("SPOTCHECK_DB", None)

    def export(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "spotcheck"), "evidence", "export", "--no-pdf",
                               "--json", *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path)

    try:
        both = ("--capture", str(ids["item"]), "--capture", str(ids["hostile"]))
        proc = export(*both, "-o", "default.zip")
        assert proc.returncode == 0, proc.stderr
        info = json.loads(proc.stdout)
        assert info["captures"] == [ids["item"]]
        assert info["withheld_captures"] == [ids["hostile"]]
        pack = tmp_path / "default.zip"
        assert verify_pack(pack).ok
        with zipfile.ZipFile(pack) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            names = zf.namelist()
            report = zf.read("report.zh-CN.html").decode()
        assert manifest["withheld_captures"][0]["manifest_sha256"] == manifest_sha
        assert not any(n.startswith(f"captures/{ids['hostile']}/") for n in names)
        assert "未随本证据包导出" in report and manifest_sha in report

        proc = export(*both, "--include-persona-captures", "-o", "all.zip")
        assert proc.returncode == 0, proc.stderr
        info = json.loads(proc.stdout)
        assert sorted(info["captures"]) == sorted([ids["item"], ids["hostile"]])
        assert info["withheld_captures"] == []
        assert verify_pack(tmp_path / "all.zip").ok

        proc = export("--capture", str(ids["hostile"]), "-o", "none.zip")
        assert proc.returncode == 2 and "--include-persona-captures" in proc.stderr
        assert not (tmp_path / "none.zip").exists()
    finally:
        with db.session() as s:
            cap = s.get(Capture, ids["hostile"])
            assert cap is not None
            cap.persona_id = None


def test_cli_capture_then_export_by_plan_item(shop: Any, local_tsa: LocalTSA, tmp_path: Path,
                                             chromium_path: str | None) -> None:
    """The investigator's commands end to end: ``capture --json`` (a good page and a refused
    one: exit code and JSON say which), then ``evidence export --plan-item``, then verify."""
    import os

    from store.db import Database
    from store.models import Campaign, Listing, Plan, PlanItem, PlanStatus, Platform

    home = tmp_path / "home"
    env = {**os.environ, "SPOTCHECK_HOME": str(home), "SPOTCHECK_TSA_URLS": local_tsa.url,
           "SPOTCHECK_CAPTURE_ALLOW_NETWORKS": "127.0.0.0/8",
           "SPOTCHECK_CONFIG": str(tmp_path / "none.toml")}
    env.pop("SPOTCHECK_DB", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(BIN / "spotcheck"), *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=300)

    from store.settings import Settings

    db = Database.open(Settings(home=home, db="").database_url)
    with db.session() as s:
        p = Platform(code="shop", name="Shop")
        s.add(p)
        s.flush()
        listing = Listing(platform_id=p.id, external_id="1", url=f"{shop.url}/item/1",
                          title="保温杯")
        campaign = Campaign(name="c")
        s.add_all([listing, campaign])
        s.flush()
        plan = Plan(campaign_id=campaign.id, version=1, status=PlanStatus.DRAFT, seed=1,
                    method="srs", frame_sha256="0" * 64, frame_size=1, sample_size=1,
                    created_by="a")
        s.add(plan)
        s.flush()
        item = PlanItem(plan_id=plan.id, listing_id=listing.id, seq=1, stratum="all",
                        inclusion_probability=0.5, size=1.0)
        s.add(item)
        s.flush()
        listing_id, item_id = listing.id, item.id
    db.dispose()
    proc = cli("capture", f"{shop.url}/item/1", "--listing", str(listing_id), "--json")
    assert proc.returncode == 0, proc.stderr
    [good] = json.loads(proc.stdout)
    assert good["ok"] and len(good["manifest_sha256"]) == 64 and good["artifacts"]
    refused = cli("capture", "file:///etc/passwd", "--json")
    assert refused.returncode != 0
    [bad] = json.loads(refused.stdout)
    assert not bad["ok"] and bad["error"]
    proc = cli("evidence", "export", "--plan-item", str(item_id), "-o", "item.zip", "--no-pdf",
               "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["captures"] == [good["id"]]
    ok = cli("evidence", "verify", "item.zip", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
