"""Packs for every case: a failed sample's case with no capture at all exports, and its pack
carries the sample chain (purchase, order, receipt, seal number and photo, lab, result with
its report), each step with who and when, sealed and checked offline by the verifier."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from evidence.keys import load_or_create
from evidence.localtsa import LocalTSA
from evidence.packs import export_pack
from evidence.render import render
from evidence.trust import TrustAnchors
from evidence.verify import verify_pack
from scheduler import purchases
from store.db import Database
from store.models import Case, Purchase
from tests.clirun import spotcheck
from tests.evidence.conftest import evidence_settings
from tests.factory.cases import LAB_REPORT, SEAL_PHOTO, failed_sample_case

BIN = Path(sys.executable).parent
@pytest.fixture()
def world(tmp_path: Path, local_tsa: LocalTSA) -> Iterator[dict[str, Any]]:
    settings = evidence_settings(tmp_path / "home", local_tsa)
    db = Database.open(settings.database_url, settings=settings)
    case_id = failed_sample_case(db, settings)
    load_or_create(settings.keys_dir)  # the installation's key, before its anchors are read
    yield {"db": db, "settings": settings, "case_id": case_id,
           "anchors": TrustAnchors.for_installation(settings)}
    db.dispose()


def _rewrite(src: Path, dst: Path, name: str, data: bytes) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, data if info.filename == name else zin.read(info))
    return dst


def test_failed_sample_case_without_captures_exports_its_sample_chain(
        world: dict[str, Any], tmp_path: Path) -> None:
    out = export_pack(world["db"], case_id=world["case_id"], out=tmp_path / "case.zip",
                      actor="zhao.min", settings=world["settings"], pdf=False)
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        chain = json.loads(zf.read("chain/sample-chain.json"))
        assert zf.read("chain/seal-photo.png") == SEAL_PHOTO
        assert zf.read("chain/lab-report.pdf") == LAB_REPORT
        report_zh = zf.read("report.zh-CN.html").decode()
        report_en = zf.read("report.en.html").decode()
    assert manifest["captures"] == [] and manifest["wacz"] is None
    assert "archive.wacz" not in names
    # the chain is sealed on its own: signature, a token per TSA, the signed stamp record
    assert {"chain/sample-chain.json.sig", "chain/sample-chain.json.0.tsr",
            "chain/sample-chain.json.stamps.json"} <= names
    steps = {s["step"]: s for s in chain["steps"]}
    assert list(steps) == ["purchase", "order", "receipt", "seal", "lab", "lab_result"]
    assert all(s["at"] and s["by"] for s in chain["steps"]), chain["steps"]
    assert steps["order"]["detail"]["order_number"] == "ORD-778899"
    assert steps["receipt"]["by"] == "chen.jie"
    assert steps["seal"]["detail"]["seal_number"] == "S-0001"
    assert steps["seal"]["detail"]["photo"]["file"] == "chain/seal-photo.png"
    assert steps["lab"]["detail"]["lab"] == "浙江省质检院"
    assert steps["lab_result"]["detail"]["outcome"] == "fail"
    assert steps["lab_result"]["detail"]["report"]["file"] == "chain/lab-report.pdf"
    assert chain["missing"] == []
    assert "样品流转记录" in report_zh and "封样编号" in report_zh and "不合格" in report_zh
    assert "检测报告文件" in report_zh and "chain/lab-report.pdf" in report_zh
    assert "Sample chain" in report_en and "order confirmation" in report_en
    assert "北京时间" in report_zh  # who and when, in the bureau's time zone

    report = verify_pack(out, anchors=world["anchors"])
    assert report.ok, [(c.name, c.detail) for c in report.failures]
    names_ok = {c.name for c in report.checks if c.ok}
    assert {"sample chain", "sample chain signature", "sample chain stamp record"} <= names_ok


def test_altered_or_stripped_chain_is_caught(world: dict[str, Any], tmp_path: Path) -> None:
    out = export_pack(world["db"], case_id=world["case_id"], out=tmp_path / "case.zip",
                      actor="zhao.min", settings=world["settings"], pdf=False)
    anchors = world["anchors"]
    # another seal photo: its hash no longer matches the manifest
    bad = _rewrite(out, tmp_path / "photo.zip", "chain/seal-photo.png", SEAL_PHOTO[:-1] + b"X")
    failed = {c.name: c.detail for c in verify_pack(bad, anchors=anchors).failures}
    assert "chain/seal-photo.png" in failed["files"]
    # an edited chain (another order number): hash, chain signature both fail
    with zipfile.ZipFile(out) as zf:
        doc = zf.read("chain/sample-chain.json")
    edited = _rewrite(out, tmp_path / "edit.zip", "chain/sample-chain.json",
                      doc.replace(b"ORD-778899", b"ORD-000001"))
    failed = {c.name: c.detail for c in verify_pack(edited, anchors=anchors).failures}
    assert "sample chain signature" in failed and "files" in failed
    # a removed chain token is a failure (the signed stamp record lists it)
    with zipfile.ZipFile(out) as zin, zipfile.ZipFile(tmp_path / "strip.zip", "w") as zout:
        for info in zin.infolist():
            if info.filename != "chain/sample-chain.json.0.tsr":
                zout.writestr(info.filename, zin.read(info))
    failed = {c.name: c.detail for c in
              verify_pack(tmp_path / "strip.zip", anchors=anchors).failures}
    assert "was made and is missing" in failed["files"] + failed.get(
        "sample chain stamp record", "")


def test_missing_steps_are_said_not_invented(world: dict[str, Any], tmp_path: Path) -> None:
    """A case whose result came without a report file: the chain says it is not recorded."""
    db, settings = world["db"], world["settings"]
    with db.session() as s:
        first = s.scalar(select(Purchase).order_by(Purchase.id))
        assert first is not None
        other = purchases.create_purchase_tasks(s, first.plan_item.plan_id, actor="li.na",
                                                assign=False).existing[1]
        purchases.mark_ordered(s, other, "ORD-2", "9.90", actor="li.na")
        purchases.receive_sample(s, other, "S-0002", actor="chen.jie")
        purchases.send_to_lab(s, other, "lab", actor="chen.jie")
        _r, case = purchases.record_lab_result(s, other, "fail", clauses=["GB 1"], actor="li.na")
        assert case is not None
        case_id = case.id
    out = export_pack(db, case_id=case_id, out=tmp_path / "c2.zip", actor="zhao.min",
                      settings=settings, pdf=False)
    with zipfile.ZipFile(out) as zf:
        chain = json.loads(zf.read("chain/sample-chain.json"))
        zh = zf.read("report.zh-CN.html").decode()
    assert chain["missing"] == ["seal_photo", "lab_report"]
    assert "未登记" in zh and "封样照片" in zh
    report = verify_pack(out, anchors=world["anchors"])
    assert report.ok
    # what is not recorded is named by its label; the codes stay in the parameters
    check = next(c for c in report.checks if c.name == "sample chain")
    assert check.text("zh-CN").endswith("未记录：封样照片、检测报告"), check.text("zh-CN")
    assert check.text("en").endswith("not recorded: seal photo, lab report"), check.text("en")
    assert check.detail_params["chain_step__missing"] == ["seal_photo", "lab_report"]


def test_cli_exports_a_failed_sample_case(world: dict[str, Any], tmp_path: Path) -> None:
    """``evidence export --case`` and ``evidence verify`` as commands (in this process:
    tests/shell/test_cli.py runs the real entry point)."""
    settings = world["settings"]
    with world["db"].session() as s:
        number = s.get(Case, world["case_id"]).number  # type: ignore[union-attr]
    env = {"SPOTCHECK_HOME": str(settings.home),
           "SPOTCHECK_CONFIG": str(tmp_path / "none.toml"),
           "SPOTCHECK_TSA_URLS": json.dumps(settings.tsa_urls),
           "SPOTCHECK_TRUSTED_TSA_CAS": json.dumps(settings.trusted_tsa_cas)}
    out = tmp_path / "cli.zip"
    ran = spotcheck("evidence", "export", "--case", number, "--no-pdf", "-o", str(out),
                    "--json", env=env, unset=("SPOTCHECK_DB",))
    assert ran.returncode == 0, ran.stderr
    info = json.loads(ran.stdout)
    assert info["captures"] == [] and info["sample_chain"] is True
    ran = spotcheck("evidence", "verify", str(out), env=env, unset=("SPOTCHECK_DB",))
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "样品流转记录" in ran.stdout  # its checks, named in the reader's language


def test_report_renders_the_chain_without_a_browser() -> None:
    doc = {"sample": "S-9", "missing": ["lab_report"], "steps": [
        {"step": "order", "at": "2026-12-07T02:03:04+00:00", "by": "li.na",
         "detail": {"order_number": "O-1", "order_captures": []}},
        {"step": "lab_result", "at": "2026-12-08T02:03:04+00:00", "by": "li.na",
         "detail": {"outcome": "fail", "third_party": False, "report": None}}]}
    zh = render("evidence_report.html", "zh-CN", pack={"title": "x", "created_at": None,
                "actor": "a", "key_fingerprint": "k", "tsa_roots": {}, "wacz_ca": None,
                "case": {"number": "SC-1", "title": "t", "kind": "failed_sample"}},
                captures=[], withheld=[], chain=doc)
    assert "2026-12-07 10:03:04 北京时间 (2026-12-07 02:03:04 UTC)" in zh
    assert "下单确认" in zh and "订单号: O-1" in zh and "检测结论: 不合格" in zh
    assert "第三方检测结果: 否" in zh and "样品不合格" in zh
    assert "未登记</th><td>检测报告" in zh
    assert "failed_sample" not in zh and "lab_result" not in zh


def test_steps_are_signed_as_recorded_and_database_edits_are_caught(
        world: dict[str, Any], tmp_path: Path) -> None:
    """Each purchase history entry is hashed, linked and signed when it is recorded
    (evidence.steplog), so an edit made in the database before the export — a changed order
    number, a removed step, two steps swapped, the newest step dropped — makes the exported
    pack fail verification (exit 5 from the CLI), although the export seals what it got."""
    import itertools

    from sqlalchemy.orm.attributes import flag_modified

    from tests.clirun import spotcheck

    db, settings, case_id = world["db"], world["settings"], world["case_id"]
    with db.session() as s:
        p = s.scalar(select(Purchase).order_by(Purchase.id))
        assert p is not None
        pid, good = p.id, [dict(h) for h in p.history]
    assert all(h.get("sig") and h.get("hash") and h.get("prev") for h in good)
    assert good[0]["prev"] == "0" * 64 and all(
        b["prev"] == a["hash"] for a, b in itertools.pairwise(good))

    def pack_after(name: str, history: list[dict[str, Any]], **columns: Any) -> Any:
        with db.session() as s:
            p = s.get(Purchase, pid)
            assert p is not None
            p.history = history
            flag_modified(p, "history")
            for k, v in columns.items():
                setattr(p, k, v)
        out = export_pack(db, case_id=case_id, out=tmp_path / f"{name}.zip", actor="zhao.min",
                          settings=settings, pdf=False)
        return verify_pack(out, anchors=world["anchors"])

    report = pack_after("good", good)
    assert report.ok, [(c.name, c.detail) for c in report.failures]
    ok = {c.name: c.detail for c in report.checks if c.ok}
    assert ok["sample chain steps"].startswith(f"{len(good)} entries signed")
    # by hand, as VERIFY.txt says: the hash over the entry, the signature with plain openssl
    import base64
    import hashlib

    from evidence.hashing import canonical_json

    with zipfile.ZipFile(tmp_path / "good.zip") as zf:
        item = json.loads(zf.read("chain/sample-chain.json"))["purchase_history"][1]
        (tmp_path / "public_key.pem").write_bytes(zf.read("public_key.pem"))
    assert hashlib.sha256(canonical_json(item["entry"])).hexdigest() == item["hash"]
    (tmp_path / "hash.txt").write_text(item["hash"])
    (tmp_path / "sig.bin").write_bytes(base64.b64decode(item["sig"]))
    check = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                            str(tmp_path / "public_key.pem"), "-rawin", "-in",
                            str(tmp_path / "hash.txt"), "-sigfile", str(tmp_path / "sig.bin")],
                           capture_output=True, text=True)
    assert check.returncode == 0 and "Success" in check.stdout, check.stdout + check.stderr

    statuses = [h.get("status") for h in good]
    i_order, i_recv = statuses.index("ordered"), statuses.index("received")
    changed = [dict(h) for h in good]
    changed[i_order]["order_number"] = "ORD-000001"
    swapped = list(good)
    swapped[i_order], swapped[i_recv] = swapped[i_recv], swapped[i_order]
    # each problem in the reader's language, the step and the field by their labels (the
    # codes kept in the detail's parameters, as --json prints them)
    cases = {
        "changed": (changed, {"order_number": "ORD-000001"}, "changed", "已被更改"),
        "column": (good, {"order_number": "ORD-000001"}, "order number differs",
                   "下单确认：订单号与已签名的历史记录不符"),
        "removed": ([h for k, h in enumerate(good) if k != i_recv], {}, "removed", "被删除"),
        "reordered": (swapped, {}, "reordered", "重排"),
        "truncated": (good[:-1], {}, "lab result: not backed by a signed history entry",
                      "检测结果：没有已签名的历史记录为其佐证"),
    }
    for name, (history, columns, says, zh_says) in cases.items():
        report = pack_after(name, history, **columns)
        failed = {c.name: c for c in report.failures}
        assert "sample chain steps" in failed, (name, failed)
        check = failed["sample chain steps"]
        assert says in check.detail, (name, check.detail)
        assert zh_says in check.text("zh-CN"), (name, check.text("zh-CN"))
        assert not re.search(r"lab_result|order_number", check.text("zh-CN") + check.detail)
    kept = failed["sample chain steps"].detail_params["problems"]
    assert {"code": "verify_said.step_unbacked", "params": {"chain_step": "lab_result"}} in kept
    pack_after("restored", good, order_number="ORD-778899")

    # the command line says so with exit 5 (tampered), naming the step
    ran = spotcheck("evidence", "verify", str(tmp_path / "removed.zip"), env={
        "SPOTCHECK_HOME": str(settings.home), "SPOTCHECK_CONFIG": str(tmp_path / "none.toml"),
        "SPOTCHECK_TRUSTED_TSA_CAS": ",".join(settings.trusted_tsa_cas)},
        unset=("SPOTCHECK_DB",))
    assert ran.returncode == 5, ran.stdout + ran.stderr
    assert "样品流转环节" in ran.stderr  # the failed check, named in the reader's language
