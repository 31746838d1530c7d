"""Evidence packs: export, verification without the database, external tools, tampering."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence import custody
from evidence.localtsa import LocalTSA
from evidence.packs import export_pack
from evidence.trust import TrustAnchors
from evidence.tsa import timestamp
from evidence.verify import verify_pack
from tests import factory
from tests.clirun import Ran, spotcheck
from tests.conftest import SiteHandler, copy_home, serve_http

pytestmark = pytest.mark.browser
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def pack(captured: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    db, settings, ids = captured["db"], captured["settings"], captured["ids"]
    with db.session() as s:
        case_id = factory.case(s, "AJ-2026-001", title="假冒保温杯 线索").id
        from store.models import Capture

        for name in ("item", "redirect"):
            s.get(Capture, ids[name]).case_id = case_id
        # other work in between, which the pack must not reveal, then a note on this case
        custody.record(s, "viewed", "someone", capture_id=ids["hostile"])
        custody.record(s, "annotated", "调查员甲", capture_id=ids["item"], case_id=case_id,
                       detail={"note": "价格异常低"})
    out = tmp_path_factory.mktemp("pack") / "case.zip"
    return export_pack(db, case_id=case_id, out=out, actor="调查员甲", settings=settings)


@pytest.fixture(scope="module")
def anchors(captured: dict[str, Any]) -> TrustAnchors:
    """What the installation that made the pack trusts: its key and its local TSA's root."""
    return TrustAnchors.for_installation(captured["settings"])


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


def test_pack_verifies_and_holds_everything(pack: Path, anchors: TrustAnchors) -> None:
    report = verify_pack(pack, anchors=anchors)
    assert report.ok, report.failures
    assert report.captures == 2 and not report.warnings
    names = {c.name for c in report.checks}
    assert {"files", "signature", "custody", "timestamp manifest.json.0.tsr",
            "wacz signature"} <= names
    # every detail, captures' and the WACZ's included, reads in Chinese for a Chinese reader
    zh = {c.name: c.text("zh-CN") for c in report.checks}
    assert all(c.detail_code and re.search("[\u4e00-\u9fff]", zh[c.name])
               for c in report.checks), zh
    assert zh["wacz signature"].startswith("datapackage 由 "), zh
    captures = [t for n, t in zh.items() if n.startswith("capture ") and "timestamp" not in n]
    assert len(captures) == 2 and all("个文件在采集时由本系统当前的密钥" in t for t in captures), zh
    with zipfile.ZipFile(pack) as zf:
        listing = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        custody_lines = zf.read("custody.jsonl").decode().splitlines()
    for name in ("public_key.pem", "custody.jsonl", "archive.wacz", "VERIFY.txt",
                 "report.zh-CN.html", "report.zh-CN.pdf", "report.en.html", "report.en.pdf",
                 "manifest.json.sig", "manifest.json.0.tsr", "tsa/0-chain.pem"):
        assert name in listing, name
    assert manifest["case"]["number"] == "AJ-2026-001"
    with zipfile.ZipFile(pack) as zf:  # fingerprints to compare, on the report's first page
        first = zf.read("report.zh-CN.html").decode().split("<h2>", 2)
        verify_txt = zf.read("VERIFY.txt").decode()
    assert manifest["key_fingerprint"] in first[0] and "请先核对指纹" in first[1]
    assert all(fp in first[0] for fp in manifest["tsa_roots"])
    assert manifest["key_fingerprint"] in verify_txt and "tail -c 32 | sha256sum" in verify_txt
    events = [json.loads(line) for line in custody_lines]
    assert [e["action"] for e in events if not e.get("redacted")][-1] == "exported"
    redacted = [e for e in events if e.get("redacted")]
    assert redacted and set(redacted[0]) == {"seq", "redacted", "prev_hash", "hash"}
    assert any(e["action"] == "annotated" and e["detail"] == {"note": "价格异常低"}
               for e in events if not e.get("redacted"))


@contextlib.contextmanager
def _authsign_verifier(roots: dict[str, list[str]], folder: Path) -> Iterator[str]:
    """Webrecorder's authsign verifier (what ``wacz validate --verify-auth`` runs) behind an
    HTTP ``/verify`` endpoint (served by :func:`tests.conftest.serve_http`), trusting the
    given root fingerprints: an outside party's configuration, not ours.  Yields the
    endpoint's URL."""
    import yaml
    from authsign.verifier import Verifier

    (folder / "roots.yaml").write_text(yaml.safe_dump(roots))
    verifier = Verifier(str(folder / "roots.yaml"))

    class Handler(SiteHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                verifier(body)
                code = 200
            except Exception:
                code = 400
            self.send(code, b"{}", "application/json")

    with serve_http(Handler) as url:
        yield f"{url}verify"


def test_wacz_validates_with_py_wacz_including_its_signature(
        pack: Path, tmp_path: Path, local_tsa: LocalTSA) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    pytest.importorskip("authsign")
    with zipfile.ZipFile(pack) as zf:
        (tmp_path / "a.wacz").write_bytes(zf.read("archive.wacz"))
        manifest = json.loads(zf.read("manifest.json"))
    wacz = str(tmp_path / "a.wacz")
    proc = subprocess.run([str(BIN / "wacz"), "validate", "-f", wacz],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Has signature" in proc.stdout
    with zipfile.ZipFile(tmp_path / "a.wacz") as w:
        pages = w.read("pages/pages.jsonl").decode()
        assert "儿童保温杯" in pages
        assert sum(n.startswith("archive/") for n in w.namelist()) == 2
        signed = json.loads(w.read("datapackage-digest.json"))["signedData"]
    assert manifest["wacz"]["signed"] is True
    ca_fp = manifest["wacz"]["signing_ca_fingerprint"]
    tsa_fp = x509.load_pem_x509_certificate(local_tsa.ca_file.read_bytes()).fingerprint(
        hashes.SHA256()).hex()
    assert signed["domain"].startswith("spotcheck-")
    # py-wacz's own command line, as an outside party runs it: the subprocess is the point
    with _authsign_verifier({"domain_cert_roots": [ca_fp], "timestamp_cert_roots": [tsa_fp]},
                            tmp_path) as trusting, \
            _authsign_verifier({"domain_cert_roots": ["00" * 32],
                                "timestamp_cert_roots": [tsa_fp]}, tmp_path / "..") as stranger:
        for url, expect in ((trusting, 0), (stranger, 1)):
            proc = subprocess.run([str(BIN / "wacz"), "validate", "-f", wacz, "--verify-auth",
                                   "--verifier-url", url], capture_output=True, text=True)
            assert proc.returncode == expect, proc.stdout + proc.stderr
            if expect == 0:
                assert "Successfully verified signature" in proc.stdout


def test_wacz_signature_is_checked_by_our_verifier(pack: Path, local_tsa: LocalTSA,
                                                   anchors: TrustAnchors) -> None:
    import io

    from evidence.seal import check_token
    from evidence.waczsign import check_wacz

    with zipfile.ZipFile(pack) as zf:
        data = zf.read("archive.wacz")
        ca_fp = json.loads(zf.read("manifest.json"))["wacz"]["signing_ca_fingerprint"]
    def tsa(r: bytes, d: bytes, t: str) -> Any:
        return check_token(anchors, r, d, t)
    assert check_wacz(io.BytesIO(data), ca_fingerprints={ca_fp}, tsa_anchor=tsa)[0]
    assert "not the CA" in check_wacz(io.BytesIO(data), ca_fingerprints={"0" * 64},
                                      tsa_anchor=tsa)[1]
    # the signature over the datapackage hash altered inside the WACZ
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            body = zin.read(info)
            if info.filename == "datapackage-digest.json":
                d = json.loads(body)
                sig = bytearray(base64.b64decode(d["signedData"]["signature"]))
                sig[-1] ^= 1
                d["signedData"]["signature"] = base64.b64encode(bytes(sig)).decode()
                body = json.dumps(d).encode()
            zout.writestr(info, body)
    ok, detail = check_wacz(io.BytesIO(out.getvalue()), ca_fingerprints={ca_fp},
                            tsa_anchor=tsa)
    assert not ok and ("invalid" in detail or "timeSignature" in detail), detail


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


def test_flipped_byte_is_caught(pack: Path, tmp_path: Path, anchors: TrustAnchors) -> None:
    target = _first_screenshot(pack)

    def flip(name: str, data: bytes) -> bytes:
        if name != target:
            return data
        b = bytearray(data)
        b[len(b) // 2] ^= 0x01
        return bytes(b)

    report = verify_pack(_rewrite(pack, tmp_path / "t.zip", flip), anchors=anchors)
    assert not report.ok
    assert _failed(report) == {"files": f"{target}: SHA-256 differs from the manifest (altered)"}


def test_missing_and_added_files_are_caught(pack: Path, tmp_path: Path, anchors: TrustAnchors) -> None:
    target = _first_screenshot(pack)
    report = verify_pack(_rewrite(pack, tmp_path / "m.zip",
                                  lambda n, d: None if n == target else d), anchors=anchors)
    failed = _failed(report)
    assert f"missing file {target}" in failed["files"]
    assert any(k.startswith("capture ") and f"{target} is missing" in v
               for k, v in failed.items())
    report = verify_pack(_rewrite(pack, tmp_path / "a.zip", lambda n, d: d,
                                  extra={"captures/extra.png": b"\x89PNG"}), anchors=anchors)
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


def test_edited_custody_event_is_caught(pack: Path, tmp_path: Path, anchors: TrustAnchors) -> None:
    def edit(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        first = next(e for e in events if not e.get("redacted"))
        first["actor"] = "someone else"
        return events

    failed = _failed(verify_pack(_custody_change(pack, tmp_path / "e.zip", edit), anchors=anchors))
    assert "content does not match its hash (edited)" in failed["custody"]
    assert "custody.jsonl: SHA-256 differs" in failed["files"]


def test_reordered_custody_events_are_caught(pack: Path, tmp_path: Path, anchors: TrustAnchors) -> None:
    def swap(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        events[0], events[1] = events[1], events[0]
        return events

    failed = _failed(verify_pack(_custody_change(pack, tmp_path / "r.zip", swap), anchors=anchors))
    assert "reordered" in failed["custody"]


def test_wrong_signature_is_caught(pack: Path, tmp_path: Path, anchors: TrustAnchors) -> None:
    with zipfile.ZipFile(pack) as zf:
        manifest = zf.read("manifest.json")
    forged = base64.b64encode(Ed25519PrivateKey.generate().sign(manifest)).decode()
    report = verify_pack(_rewrite(pack, tmp_path / "s.zip",
                                  lambda n, d: forged.encode() if n == "manifest.json.sig"
                                  else d), anchors=anchors)
    assert _failed(report) == {"signature": "the signature of manifest.json is invalid "
                                            "(manifest.json or its signature altered, or signed by "
                                            "another key)"}


def test_wrong_timestamp_is_caught(pack: Path, local_tsa: LocalTSA, tmp_path: Path,
                                   anchors: TrustAnchors) -> None:
    other = timestamp(b"some other manifest", local_tsa.url).response
    with zipfile.ZipFile(pack) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    tsr = manifest["captures"][0]["timestamps"][0]
    # swapping the token changes the file's hash too; both are reported
    report = verify_pack(_rewrite(pack, tmp_path / "w.zip",
                                  lambda n, d: other if n == tsr else d), anchors=anchors)
    failed = _failed(report)
    label = f"capture {manifest['captures'][0]['id']} timestamp {tsr}"
    assert "message imprint differs" in failed[label]
    # the pack's own token replaced: invalid, and not the token the signed record lists
    report = verify_pack(_rewrite(pack, tmp_path / "p.zip",
                                  lambda n, d: other if n == "manifest.json.0.tsr" else d),
                         anchors=anchors)
    assert sorted(_failed(report)) == ["stamp record", "timestamp manifest.json.0.tsr"]
    assert "replaced" in _failed(report)["stamp record"]


def _cli_verify(pack: Path, home: Path, *args: str) -> Ran:
    """``spotcheck evidence verify`` as the installation at *home* runs it (in this process:
    tests/shell/test_cli.py runs the real entry point)."""
    return spotcheck("evidence", "verify", str(pack), *args,
                     env={"SPOTCHECK_HOME": str(home),
                          "SPOTCHECK_CONFIG": str(home / "none.toml")},
                     unset=("SPOTCHECK_DB", "SPOTCHECK_TRUSTED_TSA_CAS"))


def test_cli_verify_exit_codes(pack: Path, tmp_path: Path, captured: dict[str, Any],
                               local_tsa: LocalTSA) -> None:
    home = captured["settings"].home
    ca = ("--trust-tsa-ca", str(local_tsa.ca_file))
    ok = _cli_verify(pack, home, "--json", *ca)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    assert json.loads(ok.stdout)["key_status"] == "current"
    bad = _rewrite(pack, tmp_path / "bad.zip", lambda n, d: None if n == "VERIFY.txt" else d)
    proc = _cli_verify(bad, home, *ca)
    assert proc.returncode == 5
    # said in the reader's language (the installation's default, zh-CN)
    assert "缺少文件 VERIFY.txt" in proc.stderr
    # The same installation without its TSA's root configured: the timestamps do not count.
    proc = _cli_verify(pack, home)
    assert proc.returncode == 5, proc.stdout
    assert "不是受信任的 TSA CA" in proc.stdout + proc.stderr


# -- an adversary's packs ----------------------------------------------------------------------

def _forge(pack: Path, dst: Path, key: Any, tsa: LocalTSA, settings: Any) -> Path:
    """What a forger does: change a screenshot, then make everything consistent again with
    a key and a TSA root of their own (every hash, every signature, every token)."""
    from evidence.hashing import pretty_json, sha256_bytes
    from evidence.seal import seal

    with zipfile.ZipFile(pack) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    manifest = json.loads(members["manifest.json"])
    target = next(n for n in members if n.endswith("screenshot-full.png"))
    members[target] = members[target][:-40] + b"forged" + members[target][-34:]
    for cap in manifest["captures"]:
        cman = json.loads(members[cap["manifest"]])
        folder = cap["manifest"].rsplit("/", 1)[0]
        for art in cman["artifacts"]:
            data = members[f"{folder}/{art['name']}"]
            art["sha256"], art["size"] = sha256_bytes(data), len(data)
        cman["key_fingerprint"] = key.fingerprint
        mbytes = pretty_json(cman)
        members[cap["manifest"]] = mbytes
        members[cap["signature"]] = (key.sign(mbytes) + "\n").encode()
        for tok in cap["timestamps"]:
            members[tok] = timestamp(mbytes, tsa.url).response
        cap["manifest_sha256"] = sha256_bytes(mbytes)
    members["public_key.pem"] = key.public_pem()
    manifest["key_fingerprint"] = key.fingerprint
    for name in list(members):
        if name.startswith("manifest.json."):
            del members[name]
    for name, entry in manifest["files"].items():
        entry["sha256"], entry["size"] = sha256_bytes(members[name]), len(members[name])
    manifest["timestamping"]["tsa_urls"] = [tsa.url]
    manifest["wacz"] = {"file": "archive.wacz", "signed": False}  # or re-signed: same story
    mbytes = pretty_json(manifest)
    members["manifest.json"] = mbytes
    members.update(seal(mbytes, settings, name="manifest.json", key=key,
                        tsa_urls=[tsa.url]).files("manifest.json"))
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for name, data in members.items():
            zout.writestr(name, data)
    return dst


@pytest.fixture(scope="module")
def forger(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from evidence.keys import InstallationKey

    folder = tmp_path_factory.mktemp("forger")
    tsa = LocalTSA(folder / "tsa", name="Forged TSA")
    tsa.start()
    yield InstallationKey(Ed25519PrivateKey.generate()), tsa
    tsa.stop()


def test_forged_pack_fails_against_the_trust_anchors(pack: Path, tmp_path: Path,
                                                     captured: dict[str, Any], forger: Any,
                                                     anchors: TrustAnchors) -> None:
    """Screenshot changed, everything re-signed with a new key and re-stamped under a
    self-made TSA root: only the anchors tell it from ours, and they do."""
    key, tsa = forger
    settings = captured["settings"].model_copy(update={"tsa_urls": [tsa.url]})
    forged = _forge(pack, tmp_path / "forged.zip", key, tsa, settings)
    # The forgery is complete: with the forger's key and root trusted, it would verify ...
    fooled = TrustAnchors()
    fooled.add_key(key.public, "given")
    fooled.add_tsa_ca_file(tsa.ca_file)
    report = verify_pack(forged, anchors=fooled)
    assert report.ok, report.failures
    # With the installation's anchors it fails, naming the key it carries.
    report = verify_pack(forged, anchors=anchors)
    failed = _failed(report)
    assert key.fingerprint in failed["signing key"] and "not a trusted key" in \
        failed["signing key"]
    assert "files" not in failed  # every hash is consistent: only trust catches it
    assert any(n.startswith("capture ") and "not a trusted key" in d for n, d in failed.items())
    assert any("timestamp" in n and "not a trusted TSA CA" in d for n, d in failed.items())
    assert report.key_fingerprint == key.fingerprint
    proc = _cli_verify(forged, captured["settings"].home)
    assert proc.returncode == 5
    assert key.fingerprint in proc.stdout + proc.stderr
    assert "证据包核验通过" not in proc.stdout  # the reader's language: zh-CN


def test_stripped_timestamp_token_is_a_failure(pack: Path, tmp_path: Path,
                                               anchors: TrustAnchors,
                                               captured: dict[str, Any],
                                               local_tsa: LocalTSA) -> None:
    stripped = _rewrite(pack, tmp_path / "nots.zip",
                        lambda n, d: None if n == "manifest.json.0.tsr" else d)
    report = verify_pack(stripped, anchors=anchors)
    assert _failed(report) == {"stamp record": "timestamp token manifest.json.0.tsr from "
                               f"{captured['settings'].tsa_urls[0]} was made and is missing "
                               "(removed)"}
    proc = _cli_verify(stripped, captured["settings"].home, "--trust-tsa-ca",
                       str(local_tsa.ca_file))
    assert proc.returncode == 5 and "现已缺失（被删除）" in proc.stderr  # zh-CN by default
    # the record stripped along with the token: nothing accounts for the declared TSA
    both = _rewrite(pack, tmp_path / "norec.zip",
                    lambda n, d: None if n.startswith("manifest.json.") and n != "manifest.json.sig"
                    else d)
    assert "is missing" in _failed(verify_pack(both, anchors=anchors))["stamp record"]
    # a capture's token: listed in the signed manifest, so its absence is caught too
    with zipfile.ZipFile(pack) as zf:
        tok = json.loads(zf.read("manifest.json"))["captures"][0]["timestamps"][0]
    report = verify_pack(_rewrite(pack, tmp_path / "nocap.zip",
                                  lambda n, d: None if n == tok else d), anchors=anchors)
    failed = _failed(report)
    assert f"missing file {tok}" in failed["files"]
    assert any(tok in n and "missing" in d for n, d in failed.items())


def test_pack_from_another_installation_needs_its_key(pack: Path, tmp_path: Path,
                                                      local_tsa: LocalTSA,
                                                      anchors: TrustAnchors) -> None:
    from store.settings import Settings

    other = Settings(home=tmp_path / "other", db="", trusted_tsa_cas=[str(local_tsa.ca_file)])
    theirs = TrustAnchors.for_installation(other)
    failed = _failed(verify_pack(pack, anchors=theirs))
    fp = next(iter(k for k, v in anchors.keys.items() if v.status == "current"))
    assert fp in failed["signing key"]
    # given by fingerprint (obtained out of band) or as the PEM: it verifies
    for ref in (fp, str(tmp_path / "theirs.pem")):
        (tmp_path / "theirs.pem").write_bytes(
            zipfile.ZipFile(pack).read("public_key.pem"))
        given = TrustAnchors.for_installation(other, trust_keys=[ref])
        report = verify_pack(pack, anchors=given)
        assert report.ok, report.failures
        assert report.key_status == "given"
    (tmp_path / "other").mkdir(exist_ok=True)
    proc = _cli_verify(pack, tmp_path / "other", "--trust-tsa-ca", str(local_tsa.ca_file))
    assert proc.returncode == 5 and fp in proc.stderr
    proc = _cli_verify(pack, tmp_path / "other", "--trust-tsa-ca", str(local_tsa.ca_file),
                       "--trust-key", fp)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "证据包核验通过" in proc.stdout


def test_pack_signed_by_a_retired_key_verifies_saying_so(pack: Path, tmp_path: Path,
                                                         captured: dict[str, Any],
                                                         local_tsa: LocalTSA) -> None:
    """After a key rotation, old packs and old captures in new packs keep verifying."""
    from evidence.keys import rotate
    from store.db import Database

    settings = captured["settings"]
    home = tmp_path / "rotated"
    # through SQLite's backup API: a plain file copy of the open database would make the
    # module's shared handle write into a deleted WAL afterwards (tests.conftest.copy_home)
    copy_home(settings.home, home, skip=("packs",))
    rotated = settings.model_copy(update={"home": home})
    old, new, _ = rotate(rotated.keys_dir)
    report = verify_pack(pack, anchors=TrustAnchors.for_installation(rotated))
    assert report.ok, report.failures
    assert report.key_status == "retired" and report.key_fingerprint == old.fingerprint
    proc = _cli_verify(pack, home, "--trust-tsa-ca", str(local_tsa.ca_file))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "已停用的密钥" in proc.stdout
    # a new pack of the old captures: signed by the new key, captures by the retired one
    db = Database.open(rotated.database_url, settings=rotated)
    try:
        newer = export_pack(db, capture_ids=[captured["ids"]["item"]], out=tmp_path / "n.zip",
                            actor="调查员甲", settings=rotated, pdf=False)
    finally:
        db.dispose()
    report = verify_pack(newer, anchors=TrustAnchors.for_installation(rotated))
    assert report.ok, report.failures
    assert report.key_status == "current" and report.retired_keys == {old.fingerprint}
    with zipfile.ZipFile(newer) as zf:
        assert f"keys/{old.fingerprint}.pub.pem" in zf.namelist()
    assert new.fingerprint != old.fingerprint


def test_persona_captures_are_withheld_unless_asked(captured: dict[str, Any], tmp_path: Path,
                                                    anchors: TrustAnchors) -> None:
    """An order page shows the covert buyer's account, address and payment reference: packs
    leave such captures out by default, listing their signed hashes; the CLI says so."""

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
    env = {"SPOTCHECK_HOME": str(settings.home), "SPOTCHECK_TSA_URLS": settings.tsa_urls[0],
           "SPOTCHECK_CONFIG": str(tmp_path / "none.toml")}

    def export(*args: str) -> Ran:  # the command, in this process (tests.clirun)
        return spotcheck("evidence", "export", "--no-pdf", "--json", *args, env=env,
                         unset=("SPOTCHECK_DB",))

    try:
        both = ("--capture", str(ids["item"]), "--capture", str(ids["hostile"]))
        proc = export(*both, "-o", str(tmp_path / "default.zip"))
        assert proc.returncode == 0, proc.stderr
        info = json.loads(proc.stdout)
        assert info["captures"] == [ids["item"]]
        assert info["withheld_captures"] == [ids["hostile"]]
        pack = tmp_path / "default.zip"
        assert verify_pack(pack, anchors=anchors).ok
        with zipfile.ZipFile(pack) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            names = zf.namelist()
            report = zf.read("report.zh-CN.html").decode()
        assert manifest["withheld_captures"][0]["manifest_sha256"] == manifest_sha
        assert not any(n.startswith(f"captures/{ids['hostile']}/") for n in names)
        assert "未随本证据包导出" in report and manifest_sha in report

        # the originals are for those who may see the persona, logged in (not investigators)
        from spotcheck.users import add_user

        add_user(db, "ian-p", "investigator", "a-long-password-1", actor="test")
        add_user(db, "sam-p", "sampler", "a-long-password-2", actor="test")
        env.update(SPOTCHECK_USER="ian-p", SPOTCHECK_PASSWORD="a-long-password-1")
        proc = export(*both, "--include-persona-captures", "-o", str(tmp_path / "all.zip"))
        assert proc.returncode == 4 and not (tmp_path / "all.zip").exists(), proc.stderr
        env.update(SPOTCHECK_USER="sam-p", SPOTCHECK_PASSWORD="a-long-password-2")
        proc = export(*both, "--include-persona-captures", "-o", str(tmp_path / "all.zip"))
        assert proc.returncode == 0, proc.stderr
        info = json.loads(proc.stdout)
        assert sorted(info["captures"]) == sorted([ids["item"], ids["hostile"]])
        assert info["withheld_captures"] == []
        assert verify_pack(tmp_path / "all.zip", anchors=anchors).ok

        proc = export("--capture", str(ids["hostile"]), "-o", str(tmp_path / "none.zip"))
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
    one: exit code and JSON say which), then ``evidence export --plan-item``, then verify.

    All in this process (tests.clirun): the ``spotcheck`` entry point's own subprocess test is
    tests/shell/test_cli.py, and a process per command re-imported the project each time."""
    from concurrent.futures import ThreadPoolExecutor

    from store.db import Database
    from store.models import Campaign, Listing, Plan, PlanItem, PlanStatus, Platform

    home = tmp_path / "home"
    home.mkdir()  # Database.open refuses a SQLite file in a folder that does not exist
    env = {"SPOTCHECK_HOME": str(home), "SPOTCHECK_TSA_URLS": local_tsa.url,
           "SPOTCHECK_TRUSTED_TSA_CAS": str(local_tsa.ca_file),
           "SPOTCHECK_CAPTURE_ALLOW_NETWORKS": "127.0.0.0/8",
           "SPOTCHECK_CONFIG": str(tmp_path / "none.toml")}

    def cli(*args: str) -> Ran:
        # In a thread of its own: a capture drives Chromium through Playwright's sync API,
        # which refuses a thread whose event loop another test's Playwright already owns.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(spotcheck, *args, env=env, unset=("SPOTCHECK_DB",)).result()

    from store.settings import Settings

    db = Database.open(Settings(home=home, db="").database_url)
    from spotcheck import users

    users.add_user(db, "chen.jie", "investigator", "investigator-pass-1", actor="t")
    env.update(SPOTCHECK_USER="chen.jie", SPOTCHECK_PASSWORD="investigator-pass-1")
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
    item_zip = str(tmp_path / "item.zip")
    ran = spotcheck("evidence", "export", "--plan-item", str(item_id), "-o", item_zip,
                    "--no-pdf", "--json", env=env, unset=("SPOTCHECK_DB",))
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["captures"] == [good["id"]]
    ok = spotcheck("evidence", "verify", item_zip, "--json", env=env, unset=("SPOTCHECK_DB",))
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True


def test_wacz_replay_shows_each_captures_provenance_page(pack: Path, tmp_path: Path) -> None:
    """As Scoop does: the provenance page is a page of the WACZ, served from the WARC."""
    import io

    from warcio.archiveiterator import ArchiveIterator

    with zipfile.ZipFile(pack) as z:
        wacz = z.read("archive.wacz")
    with zipfile.ZipFile(io.BytesIO(wacz)) as z:
        pages = [json.loads(line) for line in
                 z.read("pages/pages.jsonl").decode().splitlines()[1:]]
        prov = {p["url"] for p in pages if p["url"].endswith("/provenance-summary.html")}
        assert prov and len(prov) == len(pages) - len(prov)  # one per capture
        found = set()
        for name in z.namelist():
            if name.startswith("archive/") and name.endswith(".warc.gz"):
                for rec in ArchiveIterator(io.BytesIO(z.read(name))):
                    uri = rec.rec_headers.get_header("WARC-Target-URI")
                    if rec.rec_type == "resource" and uri in prov:
                        assert "取证来源说明" in rec.content_stream().read().decode()
                        found.add(uri)
    assert found == prov
