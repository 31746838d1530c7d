"""The sampler's commands as a user meets them: exit codes, stdout/stderr, --json.

The flows run in-process through ``tests.clirun`` (``spotcheck.cli.main``, the same code path
as the console script, SystemExit and all, with the settings read afresh per command; a
subprocess re-imports the project at ~3 s a call); one test runs the real entry point in a
subprocess."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from store.db import Database
from tests import factory
from tests.clirun import Ran, spotcheck


def _env(home: Path, password: str | None) -> dict[str, str]:
    env = {**os.environ, "SPOTCHECK_HOME": str(home), "SPOTCHECK_CONFIG": str(home / "x.toml"),
           "SPOTCHECK_SESSION_FILE": str(home / "session.json")}
    env.pop("SPOTCHECK_DB", None)
    env.pop("SPOTCHECK_USER", None)
    env.pop("SPOTCHECK_PASSWORD", None)
    if password is not None:
        env["SPOTCHECK_PASSWORD"] = password
    return env


def run_subprocess(*args: str, home: Path, password: str | None = None
                   ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "spotcheck", *args], capture_output=True,
                          text=True, env=_env(home, password), timeout=120, check=False)


def run(*args: str, home: Path, password: str | None = None) -> Ran:
    """``spotcheck ARGS`` in this process (tests.clirun): same environment, exit code, stdout
    and stderr, settings read afresh as a new process reads them."""
    env = {"SPOTCHECK_HOME": str(home), "SPOTCHECK_CONFIG": str(home / "x.toml"),
           "SPOTCHECK_SESSION_FILE": str(home / "session.json")}
    unset = ["SPOTCHECK_DB", "SPOTCHECK_USER"]
    if password is None:
        unset.append("SPOTCHECK_PASSWORD")
    else:
        env["SPOTCHECK_PASSWORD"] = password
    return spotcheck(*args, env=env, unset=unset)


def _frame(path: Path, rows: int = 500) -> None:
    rng = np.random.default_rng(4)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "region", "turnover", "名称"])
        for i in range(rows):
            w.writerow([f"u{i}", "NSEW"[i % 4], f"{rng.gamma(2, 10):.3f}", f"店铺{i}"])


def test_sample_a_csv_frame(tmp_path: Path) -> None:
    frame = tmp_path / "frame.csv"
    _frame(frame)
    args = ("sample", str(frame), "--size", "turnover", "--n", "24", "--strata", "region",
            "--method", "systematic", "--seed", "5")
    a = run_subprocess(*args, "-o", str(tmp_path / "a.csv"), "--json", home=tmp_path)
    assert a.returncode == 0, a.stderr
    summary = json.loads(a.stdout)
    assert summary["n"] == 24 and sum(summary["allocation"].values()) == 24
    b = run(*args, home=tmp_path)  # to stdout, in-process
    assert b.returncode == 0, b.stderr
    rows = list(csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8")))
    assert len(rows) == 24 and {"pi", "weight", "名称"} <= set(rows[0])
    assert all(0 < float(r["pi"]) <= 1 for r in rows)
    assert (tmp_path / "a.csv").read_text(encoding="utf-8") == b.stdout  # same seed, same sample


def test_sample_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    frame = tmp_path / "frame.csv"
    _frame(frame)
    for args in (("--size", "region"), ("--method", "lottery")):
        r = run("sample", str(frame), "--n", "5", "--seed", "1", *args, home=tmp_path)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.stderr


def test_campaign_plan_review_flow(tmp_path: Path, settings: object,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from spotcheck.users import set_password

    db = Database.open(f"sqlite:///{tmp_path / 'spotcheck.db'}")
    factory.market(db)
    for name in ("alice", "bob"):
        set_password(db, name, f"{name}-password-2026", actor="test")
    db.dispose()
    r = run("campaign", "create", "春季", "--n", "20", "--method", "brewer",
            "--allocation", "neyman", "--json", home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["design"]["method"] == "brewer"
    assert run("campaign", "create", "春季", "--n", "20", home=tmp_path).returncode == 4
    draw = run("-u", "alice", "plan", "draw", "春季", "--seed", "11", "--json", home=tmp_path)
    assert draw.returncode == 0, draw.stderr
    assert json.loads(draw.stdout)["totals"]["n"] == 20
    assert run("-u", "alice", "plan", "submit", "春季", home=tmp_path).returncode == 0
    own = run("-u", "alice", "plan", "approve", "春季", home=tmp_path,
              password="alice-password-2026")
    assert own.returncode == 4 and "审核人" in own.stderr
    # --user is a label: approving as bob needs bob's password (or his login).
    claim = run("-u", "bob", "plan", "approve", "春季", home=tmp_path)
    assert claim.returncode == 4 and "已登录的用户" in claim.stderr
    wrong = run("-u", "bob", "plan", "approve", "春季", home=tmp_path, password="guess-guess-1")
    assert wrong.returncode == 2 and "密码错误" in wrong.stderr
    ok = run("-u", "bob", "plan", "approve", "春季", "-m", "同意", "--json", home=tmp_path,
             password="bob-password-2026")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "approved"
    assert json.loads(ok.stdout)["registration"]["manifest_sha256"]
    # Pre-registration: verifies from the database and from the bundle file alone (no TSA is
    # configured here, which the report warns about); a forged bundle exits 5.
    ver = run("plan", "verify", "春季", "--json", home=tmp_path)
    assert ver.returncode == 0, ver.stderr
    assert json.loads(ver.stdout)["ok"]
    bundle = tmp_path / "reg.json"
    assert run("plan", "registration", "春季", "-o", str(bundle), home=tmp_path).returncode == 0
    assert run("plan", "verify", str(bundle), home=tmp_path).returncode == 0
    forged = json.loads(bundle.read_text())
    forged["manifest"] = forged["manifest"].replace('"seed": "11"', '"seed": "12"')
    bundle.write_text(json.dumps(forged))
    bad = run("plan", "verify", str(bundle), home=tmp_path)
    assert bad.returncode == 5 and "签名无效" in bad.stderr, bad.stderr  # zh-CN by default
    est = run("plan", "estimate", "春季", home=tmp_path)
    assert est.returncode == 2 and "还没有检测结果" in est.stderr
    listing = json.loads(run("plan", "list", "--json", home=tmp_path).stdout)
    assert [p["status"] for p in listing] == ["approved"]
    shown = run("plan", "list", home=tmp_path).stdout  # for a person: zh-CN labels
    assert "抽样方案" in shown and "已批准" in shown and "approved" not in shown
    # a stratum names its platform (Mall 商城), as the console's audit log does; --json
    # keeps the code
    shown = run("plan", "show", "春季", home=tmp_path).stdout
    assert "│ Mall 商城/" in shown and "mall/" not in shown, shown  # the reasons' too
    assert json.loads(run("plan", "show", "春季", "--json", home=tmp_path).stdout)[
        "items"][0]["stratum"].split("/")[0] in ("mall", "shop")
    db = Database.open(f"sqlite:///{tmp_path / 'spotcheck.db'}")
    with db.session() as s:  # every item bought and tested; every third one fails
        factory.lab_results(s, listing[0]["id"], fail_every=3)
    db.dispose()
    est = run("plan", "estimate", "春季", "--by", "platform", "--post-stratify", "sector",
              "--interval", "logit", "--variance", "hajek", home=tmp_path)
    assert est.returncode == 0, est.stderr
    # Titles and headers in the reader's language (zh-CN by default), codes by their labels.
    assert "按平台（95% 置信区间）" in est.stdout and "按行业事后分层" in est.stdout
    assert "Shop 小店" in est.stdout and "shop" not in est.stdout
    assert "Hájek 率 [区间]" in est.stdout and "设计效应" in est.stdout
    assert "by platform" not in est.stdout and "deff" not in est.stdout
    assert "logit 区间" in est.stdout and "Hájek 近似方差" in est.stdout
    assert "hajek" not in est.stdout  # the estimator and variance by their labels
    # How the estimate was made, in the locale setting's language (zh-CN by default).
    assert "估计量：" in est.stdout and "按平台分域" in est.stdout and "estimator:" not in est.stdout
    got = json.loads(run("plan", "estimate", "春季", "--by", "seller-network", "--json",
                         home=tmp_path).stdout)
    assert got["interval"] == "beta" and got["overall"]["interval_method"].startswith("beta")
    assert sum(d["n"] for d in got["by_domain"]["domains"]) == got["results"] == 20
    bad = run("plan", "estimate", "春季", "--interval", "wald", home=tmp_path)
    assert bad.returncode == 2 and "区间方法" in bad.stderr
    got = json.loads(run("plan", "estimate", "春季", "--calibrate", "platform", "--calibrate",
                         "sector", "--calfun", "raking", "--replicates", "jkn",
                         "--variance", "syg", "--json", home=tmp_path).stdout)
    cal = got["calibrated"]
    assert cal["fields"] == ["platform", "sector"] and cal["calfun"] == "raking"
    assert "raking calibration residuals" in cal["estimate"]["variance_method"]
    assert got["replicates"]["type"] == "jkn"
    assert got["replicates"]["estimate"]["variance_method"].startswith("replicate jkn")
    assert got["variance"] == "syg" and got["joint"]
    assert got["overall"]["variance_method"].startswith("syg")
    text = run("plan", "estimate", "春季", "--calibrate", "platform", "--replicates",
               "bootstrap", "--replicate-reps", "50", home=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "校准（线性（GREG））到 平台" in text.stdout
    assert "重复权重：自助法（bootstrap）" in text.stdout
    assert "已校准（线性（GREG））" in text.stdout and "linear" not in text.stdout
    monkeypatch.setenv("SPOTCHECK_LOCALE", "en")  # read afresh by the next command
    text = run("plan", "estimate", "春季", "--calibrate", "platform", "--by", "platform",
               home=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "calibrated (linear (GREG)) to platform" in text.stdout
    assert "by platform (95% intervals)" in text.stdout and "deff (Kish)" in text.stdout
    assert "estimator:" in text.stdout and "估计量" not in text.stdout
    monkeypatch.delenv("SPOTCHECK_LOCALE")
    bad = run("plan", "estimate", "春季", "--replicates", "brr", home=tmp_path)
    assert bad.returncode == 2 and "重复权重" in bad.stderr


def test_campaign_options_reach_the_design(tmp_path: Path, settings: object) -> None:
    """Team, categories, prior rates, floor, risk weights and the Pareto PRN shift are set
    from the CLI; a shifted Pareto campaign buys other listings, an unshifted one the same."""
    from sqlalchemy import select

    from store.models import Plan, PlanItem

    db = Database.open(f"sqlite:///{tmp_path / 'spotcheck.db'}")
    factory.market(db)
    weights = tmp_path / "w.toml"
    weights.write_text("[weights]\nunfiled_seller = 3.5\n", "utf-8")
    r = run("campaign", "create", "秋季", "--n", "12", "--method", "pareto", "--team", "抽样一组",
            "--floor-ratio", "0.2", "--prior-rate", "mall/electrical=0.2", "--weights",
            str(weights), "--json", home=tmp_path)
    assert r.returncode == 0, r.stderr
    made = json.loads(r.stdout)
    assert made["team"] == "抽样一组" and made["design"]["floor_ratio"] == 0.2
    assert made["design"]["prior_rates"] == {"mall/electrical": 0.2}
    assert made["risk_weights"] == {"weights": {"unfiled_seller": 3.5}}
    for name, shift in (("秋季-再抽", "0"), ("秋季-错开", "0.5")):
        r = run("campaign", "create", name, "--n", "12", "--method", "pareto", "--prn-shift",
                shift, "--floor-ratio", "0.2", home=tmp_path)
        assert r.returncode == 0, r.stderr
    for name in ("秋季", "秋季-再抽", "秋季-错开"):
        assert run("-u", "alice", "plan", "draw", name, "--seed", "1", home=tmp_path
                   ).returncode == 0
    with db.session() as s:
        picks = {}
        for plan in s.scalars(select(Plan)):
            picks[plan.campaign.name] = set(s.scalars(
                select(PlanItem.listing_id).where(PlanItem.plan_id == plan.id)))
    db.dispose()
    assert picks["秋季"] == picks["秋季-再抽"]  # same PRNs, same design: the same listings
    assert len(picks["秋季"] & picks["秋季-错开"]) < len(picks["秋季"]) / 2
    bad = run("campaign", "create", "x", "--n", "5", "--prior-rate", "mall=2", home=tmp_path)
    assert bad.returncode == 2 and "层=比率" in bad.stderr
    weights.write_text("[weights]\nno_such_factor = 1\n", "utf-8")
    bad = run("campaign", "create", "y", "--n", "5", "--weights", str(weights), home=tmp_path)
    assert bad.returncode == 2 and "no_such_factor" in bad.stderr


def test_sample_reads_gbk_and_bom_frames(tmp_path: Path) -> None:
    """A frame saved by Excel on a Chinese Windows machine (GBK) or with a UTF-8 BOM is read:
    it used to fail with "internal error: UnicodeDecodeError"."""
    from typer.testing import CliRunner

    from spotcheck.cli import app

    frame = tmp_path / "frame.csv"
    _frame(frame, rows=60)
    text = frame.read_text(encoding="utf-8")
    outputs = []
    for encoding in ("gbk", "gb18030", "utf-8-sig", "utf-16"):
        path = tmp_path / f"frame-{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        out = tmp_path / f"out-{encoding}.csv"
        res = CliRunner().invoke(app, ["--home", str(tmp_path), "sample", str(path), "--size",
                                       "turnover", "--n", "6", "--seed", "5", "-o", str(out)])
        assert res.exit_code == 0, (encoding, res.output)
        rows = list(csv.DictReader(out.open(encoding="utf-8")))
        assert len(rows) == 6 and rows[0]["名称"].startswith("店铺"), encoding
        outputs.append(out.read_text(encoding="utf-8"))
    assert len(set(outputs)) == 1  # the same frame, whatever its encoding
