"""Pre-registration: an approved plan's manifest is signed and time-stamped (a real local
RFC 3161 TSA), verifies offline, and fails once the plan, the frame or the bundle changes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence.localtsa import LocalTSA
from evidence.trust import TrustAnchors
from sampler.campaign_scope import create_campaign
from sampler.plans import draw_plan, submit_plan
from scheduler.preregistration import (
    approve_and_register,
    bundle_of,
    registration_of,
    verify_bundle,
)
from store.artifacts import ArtifactStore
from store.db import Database
from store.models import Plan, PlanItem, Purchase
from store.settings import Settings
from tests import factory
from tests.conftest import need


@pytest.fixture(scope="module")
def local_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTSA]:
    need(shutil.which("openssl") is not None, "openssl is not installed")
    tsa = LocalTSA(tmp_path_factory.mktemp("tsa"))
    tsa.start()
    yield tsa
    tsa.stop()


@pytest.fixture()
def world(tmp_path: Path, local_tsa: LocalTSA) -> Iterator[tuple[Database, Settings, int]]:
    settings = Settings(home=tmp_path / "home", db="", tsa_urls=[local_tsa.url],
                        trusted_tsa_cas=[str(local_tsa.ca_file)])
    settings.ensure_home()
    db = Database.open(settings.database_url, settings=settings)
    factory.market(db, listings=200)
    with db.session() as s:
        cid = create_campaign(s, "预登记", actor="alice", n=20, method="pivotal",
                              max_per_seller=2).id
        plan = draw_plan(s, cid, seed=7, actor="alice", settings=settings)
        submit_plan(s, plan.id, "alice")
        _, detail = approve_and_register(s, plan.id, "bob", "supervisor", None, settings)
        pid = plan.id
    assert detail["timestamps"] and not detail["failed_tsas"]
    yield db, settings, pid
    db.dispose()


def _verify(db: Database, settings: Settings, data: bytes) -> dict:
    with db.session() as s:
        return verify_bundle(data, TrustAnchors.for_installation(settings), session=s,
                             settings=settings).as_dict()


def test_approval_registers_and_the_bundle_verifies(world: tuple[Database, Settings, int]
                                                   ) -> None:
    db, settings, pid = world
    with db.session() as s:
        reg = registration_of(s, pid)
        data = bundle_of(s, pid, settings)
        plan = s.get(Plan, pid)
        assert plan is not None and reg is not None
        manifest = json.loads(json.loads(data)["manifest"])
        assert manifest["seed"] == "7" and manifest["frame"]["sha256"] == plan.frame_sha256
        assert len(manifest["frame_pi"]) == plan.frame_size
        assert len(manifest["items"]) == plan.sample_size == 20
    report = _verify(db, settings, data)
    assert report["ok"], report
    assert report["registered_at"]
    names = {c["check"] for c in report["checks"]}
    assert {"signature", "stamp record", "manifest", "plan unchanged", "frame file"} <= names


def test_purchases_after_the_registration_pass_and_before_fail(
        world: tuple[Database, Settings, int]) -> None:
    db, settings, pid = world
    with db.session() as s:
        data = bundle_of(s, pid, settings)
        item = s.query(PlanItem).filter_by(plan_id=pid).first()
        assert item is not None
        s.add(Purchase(idempotency_key=f"plan:{pid}:item:{item.id}", plan_item_id=item.id))
    assert _verify(db, settings, data)["ok"]
    with db.session() as s:
        purchase = s.query(Purchase).one()
        purchase.ordered_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # bought before approval
    report = _verify(db, settings, data)
    assert not report["ok"]
    assert any(c["check"] == "before first order" and not c["ok"] for c in report["checks"])


def test_tampering_is_detected(world: tuple[Database, Settings, int]) -> None:
    db, settings, pid = world
    with db.session() as s:
        data = bundle_of(s, pid, settings)
    outer = json.loads(data)
    # 1. an item swapped in the manifest: the signature breaks
    manifest = json.loads(outer["manifest"])
    manifest["items"][0]["listing_id"] += 1
    forged = {**outer, "manifest": json.dumps(manifest, indent=2, sort_keys=True)}
    report = _verify(db, settings, json.dumps(forged).encode())
    assert not report["ok"]
    assert any(c["check"] == "signature" and not c["ok"] for c in report["checks"])
    # 2. the time-stamp token removed: the signed stamp record says one was made
    stripped = {**outer, "tokens": {}}
    assert not _verify(db, settings, json.dumps(stripped).encode())["ok"]
    # 3. the frozen frame altered on disk
    with db.session() as s:
        plan = s.get(Plan, pid)
        assert plan is not None
        path = ArtifactStore(settings.artifacts_dir).path(plan.frame_sha256)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\n\n", 1))
    report = _verify(db, settings, data)
    assert any(c["check"] == "frame file" and not c["ok"] for c in report["checks"])
    # 4. not a bundle at all
    assert not _verify(db, settings, base64.b64encode(b"junk"))["ok"]


def test_the_bundle_s_verification_reads_in_chinese(world: tuple[Database, Settings, int]
                                                    ) -> None:
    """``plan verify`` details are catalogue messages: Chinese for a Chinese reader, the
    English text kept in ``detail`` for --json."""
    from store.messages import render

    db, settings, pid = world
    with db.session() as s:
        data = bundle_of(s, pid, settings)
        item = s.query(PlanItem).filter_by(plan_id=pid).first()
        assert item is not None
        s.add(Purchase(idempotency_key=f"plan:{pid}:item:{item.id}", plan_item_id=item.id,
                       ordered_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
    report = _verify(db, settings, data)
    zh = {c["check"]: render(c["detail_code"], c["detail_params"], "zh-CN")
          for c in report["checks"]}
    assert all(c["detail_code"].startswith("verify_said.") for c in report["checks"]), report
    assert "即为预登记的方案（20 个样本条目）" in zh["plan unchanged"]
    assert "晚于首笔下单" in zh["before first order"]
    assert "所有令牌齐全" in zh["stamp record"] and "本系统当前的密钥" in zh["signing key"]
    order = next(c for c in report["checks"] if c["check"] == "before first order")
    assert order["detail"].startswith("the registration's time-stamp ")
    assert not verify_bundle(b"{}", TrustAnchors.for_installation(settings)).ok
    bad = verify_bundle(b"{}", TrustAnchors.for_installation(settings)).details("zh-CN")
    assert bad[0][2].startswith("不是方案预登记包：")
    # a plan changed after its registration: each difference in Chinese
    from sampler.registration import compare_with_plan

    manifest = json.loads(json.loads(data)["manifest"])
    manifest["seed"] = "8"
    with db.session() as s:
        plan = s.get(Plan, pid)
        assert plan is not None
        [changed] = compare_with_plan(manifest, plan)
    assert render(changed["code"], changed["params"], "zh-CN") == \
        "预登记的随机种子为 8，数据库中为 7"
    assert render(changed["code"], changed["params"], "en") == "seed 8 registered, 7 stored"


def test_plan_verify_reads_in_chinese_with_local_times(world: tuple[Database, Settings, int],
                                                       tmp_path: Path) -> None:
    """``plan verify`` for a Chinese reader: the plan, every check and the times read in
    Chinese, in the bureau's zone to the second; --json keeps the checks' names and the ISO
    times."""
    from tests.clirun import spotcheck

    db, settings, pid = world
    with db.session() as s:
        item = s.query(PlanItem).filter_by(plan_id=pid).first()
        assert item is not None
        s.add(Purchase(idempotency_key=f"plan:{pid}:item:{item.id}", plan_item_id=item.id,
                       ordered_at=dt.datetime(2020, 1, 1, 2, 3, 4, tzinfo=dt.UTC)))
    env = {"SPOTCHECK_HOME": str(settings.home), "SPOTCHECK_CONFIG": str(tmp_path / "none.toml"),
           "SPOTCHECK_TRUSTED_TSA_CAS": json.dumps(settings.trusted_tsa_cas),
           "SPOTCHECK_LOCALE": "zh-CN", "COLUMNS": "400"}
    ran = spotcheck("plan", "verify", str(pid), env=env, unset=("SPOTCHECK_DB",))
    assert ran.returncode == 5, ran.stdout + ran.stderr
    out = ran.stdout + ran.stderr
    assert f"抽样方案 {pid}" in out and "早于首笔下单" in out and "早于首个购样任务" in out
    assert "晚于首笔下单（2020-01-01 10:03:04 北京时间）" in out, out
    assert "before first" not in out and "plan " not in out and "+00:00" not in out
    ran = spotcheck("plan", "verify", str(pid), "--json", env=env, unset=("SPOTCHECK_DB",))
    order = next(c for c in json.loads(ran.stdout)["checks"] if c["check"] == "before first order")
    assert order["detail_params"]["at"] == "2020-01-01T02:03:04+00:00"
