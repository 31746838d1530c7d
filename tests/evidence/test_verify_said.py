"""A pack's verification reads in the reader's language: each check's detail is a message of
the catalogue (``verify_said.*``) rendered in zh-CN for a Chinese inspector, while ``--json``
and ``Check.detail`` keep the English text (with the code beside it).  Packs here are made
without a browser: a failed sample's case with no capture (tests/factory/cases.py)."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidence.keys import load_or_create
from evidence.localtsa import LocalTSA
from evidence.packs import export_pack
from evidence.trust import TrustAnchors
from evidence.verify import VerifyReport, verify_pack
from store.db import Database
from tests.clirun import spotcheck
from tests.evidence.conftest import evidence_settings
from tests.factory.cases import SEAL_PHOTO, failed_sample_case

CJK = re.compile(r"[\u4e00-\u9fff]")
#: Words of the English sentences a detail used to be; none may remain in a Chinese detail
#: once the values it quotes (file names, fingerprints, the TSA's own names) are taken out.
ENGLISH = re.compile(r"\b(is|are|the|of|by|files?|match|signed|missing|events?|entries|"
                     r"steps|existed|trusted|root|key|differs|added|removed|altered|"
                     r"listed|readable|not|does|exist)\b", re.IGNORECASE)


@pytest.fixture()
def pack(tmp_path: Path, local_tsa: LocalTSA) -> Iterator[dict[str, Any]]:
    settings = evidence_settings(tmp_path / "home", local_tsa)
    db = Database.open(settings.database_url, settings=settings)
    case_id = failed_sample_case(db, settings)
    load_or_create(settings.keys_dir)
    out = export_pack(db, case_id=case_id, out=tmp_path / "case.zip", actor="zhao.min",
                      settings=settings, pdf=False)
    yield {"path": out, "settings": settings, "tsa": local_tsa,
           "anchors": TrustAnchors.for_installation(settings)}
    db.dispose()


def _values(params: Any) -> list[str]:
    """The quoted values of a detail's parameters (names, fingerprints, exceptions' texts)."""
    if isinstance(params, dict):
        if "code" in params and "params" in params:
            return _values(params["params"])
        return [v for p in params.values() for v in _values(p)]
    if isinstance(params, list):
        return [v for p in params for v in _values(p)]
    return [str(params)]


def _chinese(report: VerifyReport) -> dict[str, str]:
    """Each check's Chinese detail, asserting it is Chinese with no English sentence left."""
    out = {}
    for c in report.checks:
        assert c.detail_code.startswith("verify_said."), (c.name, c.detail)
        zh = c.text("zh-CN")
        assert CJK.search(zh), (c.name, zh)
        rest = zh
        for value in sorted(_values(c.detail_params), key=len, reverse=True):
            rest = rest.replace(value, "")
        assert not ENGLISH.search(rest), (c.name, zh)
        # the English text kept for --json and logs is the catalogue's English rendering
        # (the sample chain's keeps its raw step codes)
        if c.name != "sample chain":
            assert c.detail == c.text("en"), (c.name, c.detail)
        out[c.name] = zh
    return out


def _rewrite(src: Path, dst: Path, drop: str = "", name: str = "", data: bytes = b"") -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            if info.filename != drop:
                zout.writestr(info.filename, data if info.filename == name else zin.read(info))
    return dst


def test_a_good_pack_verifies_in_chinese(pack: dict[str, Any]) -> None:
    report = verify_pack(pack["path"], anchors=pack["anchors"])
    assert report.ok, [(c.name, c.detail) for c in report.failures]
    zh = _chinese(report)
    assert "全部与清单一致" in zh["files"]
    assert "本系统当前的密钥" in zh["signing key"]
    assert "链条完整" in zh["custody"]
    assert "已存在" in zh["timestamp manifest.json.0.tsr"]
    assert "所有令牌齐全" in zh["stamp record"]
    assert "封样" in zh["sample chain"]  # the steps by their labels, not their codes


def test_a_tampered_pack_says_what_is_wrong_in_chinese(pack: dict[str, Any],
                                                       tmp_path: Path) -> None:
    anchors = pack["anchors"]
    bad = _rewrite(pack["path"], tmp_path / "photo.zip", name="chain/seal-photo.png",
                   data=SEAL_PHOTO[:-1] + b"X")
    report = verify_pack(bad, anchors=anchors)
    failed = {c.name: c.text("zh-CN") for c in report.failures}
    assert "chain/seal-photo.png：SHA-256 与清单不符（文件已被改动）" in failed["files"]
    _chinese(report)
    # a removed token and an added file: two problems, joined by the Chinese separator
    strip = _rewrite(pack["path"], tmp_path / "strip.zip", drop="manifest.json.0.tsr")
    with zipfile.ZipFile(strip, "a") as zf:
        zf.writestr("extra.txt", b"added later")
    report = verify_pack(strip, anchors=anchors)
    zh = _chinese(report)
    assert zh["files"] == "清单未列出的文件 extra.txt（被添加）"
    assert "现已缺失（被删除）" in zh["stamp record"]
    assert report.checks[[c.name for c in report.checks].index("files")].detail == \
        "unlisted file extra.txt (added)"
    # an edited custody event: its problem is Chinese, the English kept for --json
    with zipfile.ZipFile(pack["path"]) as zf:
        lines = zf.read("custody.jsonl").decode().splitlines()
    first = json.loads(lines[0])
    first["actor"] = "someone.else"
    edited = _rewrite(pack["path"], tmp_path / "custody.zip", name="custody.jsonl",
                      data="\n".join([json.dumps(first), *lines[1:]]).encode())
    report = verify_pack(edited, anchors=anchors)
    custody = next(c for c in report.checks if c.name == "custody")
    assert "第 1 条保管事件" in custody.text("zh-CN") and "已被编辑" in custody.text("zh-CN")
    assert "content does not match its hash (edited)" in custody.detail
    _chinese(report)


def test_no_pack_or_no_manifest_is_said_in_chinese(tmp_path: Path, local_tsa: LocalTSA) -> None:
    settings = evidence_settings(tmp_path / "home", local_tsa)
    anchors = TrustAnchors.for_installation(settings)
    missing = verify_pack(tmp_path / "nowhere.zip", anchors=anchors)
    assert _chinese(missing)["pack"].endswith("nowhere.zip 不存在")
    (tmp_path / "text.zip").write_text("not a zip", encoding="utf-8")
    not_zip = verify_pack(tmp_path / "text.zip", anchors=anchors)
    assert _chinese(not_zip)["pack"].startswith("不是可读取的 zip 文件：")
    with zipfile.ZipFile(tmp_path / "bare.zip", "w") as zf:
        zf.writestr("a.txt", b"a")
    bare = verify_pack(tmp_path / "bare.zip", anchors=anchors)
    assert _chinese(bare)["pack"] == "缺少 manifest.json（证据包清单）"
    assert bare.checks[0].detail == "manifest.json is missing"


def test_the_cli_table_and_refusal_read_in_chinese_and_json_keeps_english(
        pack: dict[str, Any], tmp_path: Path) -> None:
    settings = pack["settings"]
    bad = _rewrite(pack["path"], tmp_path / "photo.zip", name="chain/seal-photo.png",
                   data=SEAL_PHOTO[:-1] + b"X")
    env = {"SPOTCHECK_HOME": str(settings.home), "SPOTCHECK_CONFIG": str(tmp_path / "none.toml"),
           "SPOTCHECK_TRUSTED_TSA_CAS": json.dumps(settings.trusted_tsa_cas),
           "SPOTCHECK_LOCALE": "zh-CN", "COLUMNS": "400"}
    ran = spotcheck("evidence", "verify", str(bad), env=env, unset=("SPOTCHECK_DB",))
    assert ran.returncode == 5, ran.stdout + ran.stderr
    assert "文件已被改动" in ran.stdout and "全部与清单一致" not in ran.stdout
    assert "本系统当前的密钥" in ran.stdout
    assert "SHA-256 differs" not in ran.stdout + ran.stderr
    # the refusal names the check and quotes the detail in Chinese too
    assert "文件哈希：chain/seal-photo.png：SHA-256 与清单不符" in ran.stderr, ran.stderr
    ran = spotcheck("evidence", "verify", str(bad), "--json", env=env,
                    unset=("SPOTCHECK_DB",))
    checks = {c["name"]: c for c in json.loads(ran.stdout)["checks"]}
    assert checks["files"]["detail"] == \
        "chain/seal-photo.png: SHA-256 differs from the manifest (altered)"
    assert checks["files"]["detail_code"] == "verify_said.problems"
    assert checks["files"]["detail_params"]["problems"][0] == {
        "code": "verify_said.file_altered", "params": {"name": "chain/seal-photo.png"}}


def test_warnings_are_said_in_chinese_too(tmp_path: Path, local_tsa: LocalTSA) -> None:
    from evidence.seal import check_seal
    from store.messages import render

    settings = evidence_settings(tmp_path / "home", local_tsa)
    sealed = check_seal(TrustAnchors.for_installation(settings), "doc.json", b"{}",
                        signature=None, key_fingerprint="", carried_key=None, tokens={},
                        record=None, record_signature=None, declared_tsas=[])
    assert sealed.warnings == ["doc.json has no RFC 3161 timestamp (no TSA was configured)"]
    assert [render(w["code"], w["params"], "zh-CN") for w in sealed.warned] == [
        "doc.json 没有 RFC 3161 时间戳（未配置时间戳服务机构 TSA）"]
    # the signing key the document names is not trusted: said in Chinese, with its fingerprint
    assert _chinese_seal(sealed)["signing key"].startswith("由密钥  签名，该密钥不受信任")


def _chinese_seal(sealed: Any) -> dict[str, str]:
    from store.messages import render

    return {name: render(code, params, "zh-CN")
            for (name, _ok, _d), (code, params) in zip(sealed.checks, sealed.codes, strict=True)}


def test_why_a_token_fails_is_said_in_chinese(tmp_path: Path, local_tsa: LocalTSA) -> None:
    """A token over other data (a replaced manifest): the TSA check's own reason is a
    catalogue message inside the Chinese detail, not an English sentence."""
    import hashlib

    from evidence.seal import check_token_said
    from evidence.tsa import timestamp
    from store.messages import render

    settings = evidence_settings(tmp_path / "home", local_tsa)
    token = timestamp(b"manifest", local_tsa.url)
    ok, said, _info = check_token_said(TrustAnchors.for_installation(settings),
                                       token.response, hashlib.sha256(b"other").digest(),
                                       "manifest.json")
    assert not ok
    assert render(said["code"], said["params"], "zh-CN") == (
        "不能证明 manifest.json 的时间：时间戳令牌针对的是其他数据（消息摘要不符）")
    assert render(said["code"], said["params"], "en") == (
        "does not prove the time of manifest.json: the token is for other data "
        "(message imprint differs)")


#: The calls that name a verify_said code: report.said / warn / problem / seal's said /
#: waczsign's _said / TokenCheck.say and .failed / tsa's _Refused with a literal code, and
#: phrase("verify_said.…").
SAID_CALL = re.compile(r"\.said\([^,()]+,[^,()]+,\s*\"([a-z0-9_]+)\"|"
                       r"(?<![.\w])(?:said|problem|_said|_Refused)\(\s*\"([a-z0-9_]+)\"|"
                       r"\.(?:warn|say|failed)\(\s*\"([a-z0-9_]+)\"")
PHRASE_CALL = re.compile(r"phrase\(\s*\"verify_said\.([a-z0-9_]+)\"")


def test_every_verify_said_code_in_the_source_is_in_the_catalogue() -> None:
    """A code typed wrong would render as the bare code: every literal code the verifiers
    name must have its entry (and the walk must find the codes it is meant to)."""
    from store.messages import known

    root = Path(__file__).resolve().parents[2]
    files = [*sorted((root / "evidence").glob("*.py")), root / "sampler" / "registration.py",
             root / "scheduler" / "preregistration.py"]
    found: set[str] = set()
    for path in files:
        text = path.read_text(encoding="utf-8")
        if "verify_said" not in text:
            continue
        found |= set(PHRASE_CALL.findall(text))
        found |= {c for groups in SAID_CALL.findall(text) for c in groups if c}
    assert {"no_manifest", "file_altered", "tsa_other_data", "wacz_ok", "custody_edited",
            "plan_seed", "warn_no_tsa", "step_field"} <= found, sorted(found)
    assert sorted(c for c in found if not known(f"verify_said.{c}")) == []


def test_the_custody_log_and_the_case_list_read_times_in_the_bureau_s_zone(
        pack: dict[str, Any], tmp_path: Path) -> None:
    """``evidence log`` shows each event's time in Beijing time to the second (it showed the
    UTC ISO text cut to 19 characters) and ``case list`` the day at the bureau."""
    import datetime as dt

    from store import clock
    from store.models import Case, CustodyEvent

    settings = pack["settings"]
    env = {"SPOTCHECK_HOME": str(settings.home), "SPOTCHECK_CONFIG": str(tmp_path / "none.toml"),
           "SPOTCHECK_LOCALE": "zh-CN", "COLUMNS": "400"}
    db = Database.open(settings.database_url, settings=settings)
    try:
        with db.session() as s:
            event = s.query(CustodyEvent).order_by(CustodyEvent.seq.desc()).first()
            case = s.query(Case).first()
            assert event is not None and case is not None
            case.opened_at = dt.datetime(2026, 12, 7, 17, 30, tzinfo=dt.UTC)  # 01:30 next day
            at = event.at
    finally:
        db.dispose()
    ran = spotcheck("evidence", "log", env=env, unset=("SPOTCHECK_DB",))
    assert ran.returncode == 0, ran.stderr
    assert clock.local(at, "zh-CN", tz=clock.zone("Asia/Shanghai")) in ran.stdout, ran.stdout
    assert "导出证据包" in ran.stdout
    ran = spotcheck("case", "list", env=env, unset=("SPOTCHECK_DB",))
    assert ran.returncode == 0, ran.stderr
    assert "2026-12-08" in ran.stdout and "2026-12-07" not in ran.stdout, ran.stdout
    # a purchase's history (kept as ISO text) and a plan's strata read for a person too
    ran = spotcheck("purchase", "show", "1", env=env, unset=("SPOTCHECK_DB",))
    assert ran.returncode == 0, ran.stderr
    history = ran.stdout.split("流转记录")[1]
    assert history.count("北京时间") >= 5 and "+00:00" not in history, history
    ran = spotcheck("plan", "show", "1", env=env, unset=("SPOTCHECK_DB",))
    assert ran.returncode == 0, ran.stderr
    assert "各层样本量（n_h）" in ran.stdout and "allocation" not in ran.stdout
