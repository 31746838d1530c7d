"""Calibration from lab outcomes, and the CLI end to end (exit codes, --json)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sampler.risk.calibrate import calibrate
from sampler.risk.weights import load_weights
from spotcheck.cli import main
from store.db import Database
from store.errors import Conflict
from store.models import Campaign, PlanStatus
from tests import factory
from tests.risk.conftest import data_file


def _lab_results(db: Database, truth: dict[str, Any], keys: dict[str, int], n: int) -> None:
    """n purchased and tested listings, failing as the sandbox's hidden truth says."""
    rng = random.Random(3)
    rows = [r for r in truth["listings"] if r["supervision_class"] != "prohibited"]
    picked = rng.sample(rows, n)
    with db.session() as s:
        camp = factory.campaign(s, "calibration")
        plan = factory.plan(s, camp.id, [keys[r["key"]] for r in picked],
                            status=PlanStatus.DRAFT, frame_size=len(rows),
                            inclusion_probability=n / len(rows))
        for i, (item, r) in enumerate(zip(plan.items, picked, strict=True)):
            factory.lab_result(s, item.id, "fail" if r["flags"]["noncompliant"] else "pass",
                               key=f"cal-{i}", code=f"CAL-{i}")


def test_calibration_reports_fit(scored: dict[str, Any], truth: dict[str, Any],
                                 tmp_path: Path) -> None:
    db = scored["db"]
    with db.session() as s, pytest.raises(Conflict, match="at least 40"):
        calibrate(s)
    _lab_results(db, truth, scored["keys"], 400)
    with db.session() as s:
        report = calibrate(s)
    print(f"\n{report.outcomes} outcomes, {report.failures} failed: CV AUC {report.auc_cv}, "
          f"Brier {report.brier_cv} vs prevalence-only {report.brier_prevalence}; "
          f"AUC of default weights {report.auc_current}; coefficients {report.coefficients}")
    assert report.outcomes == 400
    assert report.auc_cv >= 0.65 and report.auc_current >= 0.65
    assert report.brier_cv < report.brier_prevalence
    assert report.proposed is not None and report.proposed.w("base") > 0
    path = tmp_path / "calibrated.toml"
    path.write_text(report.proposed.to_toml(), "utf-8")
    assert load_weights(path).weights == report.proposed.weights


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_cli(settings: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from sandbox.truth import build_truth
    from tests.factory.truth import load_truth, write_feeds

    db = Database.open(settings.database_url)
    truth = build_truth(11, 600, 0)
    keys = load_truth(db, truth)
    db.dispose()
    cpsc, sg = write_feeds(11, 600, tmp_path)
    code, out, _ = _run(capsys, "signals", "import", str(cpsc), "--format", "cpsc", "--json")
    first = json.loads(out)
    assert code == 0 and first["added"] >= 1 and first["matching"]["matches"] >= 1
    code, out, _ = _run(capsys, "signals", "import", str(cpsc), "--format", "cpsc", "--json")
    assert json.loads(out)["added"] == 0
    assert _run(capsys, "signals", "import", str(sg), "-f", "safety-gate")[0] == 0
    code, out, _ = _run(capsys, "signals", "list", "--json")
    assert code == 0 and len(json.loads(out)["notices"]) == len(truth["notices"])
    code, out, _ = _run(capsys, "signals", "matches", "--json")
    matches = json.loads(out)
    assert matches
    from spotcheck.users import add_user

    db = Database.open(settings.database_url)
    add_user(db, "li", "investigator", "pw-li-123456", actor="test")
    add_user(db, "sam", "sampler", "pw-sam-123456", actor="test")
    db.dispose()
    code, _, err = _run(capsys, "--user", "sam", "signals", "reject",
                        str(matches[0]["match_id"]))
    assert code == 4 and "抽样员" in err  # the console's role matrix holds on the CLI too
    code, out, _ = _run(capsys, "--user", "li", "signals", "reject", str(matches[0]["match_id"]),
                        "--json")
    rejected = json.loads(out)
    assert code == 0 and rejected["status"] == "rejected"
    assert isinstance(rejected["risk_score"], float)  # re-scored at once, no scoring run
    code, out, _ = _run(capsys, "risk", "score", "--json")
    summary = json.loads(out)
    assert code == 0 and summary["scored"] + summary["prohibited"] == len(truth["listings"])
    listing = next(k for k, v in truth["planted"]["recalled"].items())
    code, out, _ = _run(capsys, "risk", "explain", listing, "--json")
    data = json.loads(out)
    assert code == 0 and data["listing_id"] == keys[listing] and data["reasons"]
    code, out, _ = _run(capsys, "risk", "explain", listing, "--lang", "zh-CN")
    assert code == 0 and "风险分" in out and "理由" in out
    code, out, _ = _run(capsys, "risk", "explain", listing, "--lang", "en")
    assert code == 0 and "risk score" in out and "风险分" not in out
    code, out, _ = _run(capsys, "risk", "leads", "--json")
    assert code == 0 and {x["listing_id"] for x in json.loads(out)} == \
        {keys[k] for k in truth["planted"]["prohibited"] if k in keys
         and next(r for r in truth["listings"] if r["key"] == k)["status"] != "removed"}
    # errors: one line, meaningful exit codes
    bad = tmp_path / "bad.csv"
    bad.write_text("reference,brand,product\n,X,Y\n", "utf-8")
    code, _, err = _run(capsys, "signals", "import", str(bad), "--format", "csv")
    # the CLI speaks zh-CN by default: the file's problems by their line, in Chinese
    assert code == 2 and "第 2 行：编号（reference）为空" in err and "未导入任何内容" in err
    code, _, err = _run(capsys, "risk", "explain", "999999")
    assert code == 3 and "没有商品 '999999'" in err
    code, _, err = _run(capsys, "risk", "calibrate")
    assert code == 4 and "校准风险权重至少需要" in err
    assert _run(capsys, "--user", "li", "signals", "confirm", "424242")[0] == 3
    weights = tmp_path / "w.toml"
    weights.write_text("[weights]\nbase = -1\n", "utf-8")
    assert _run(capsys, "risk", "score", "--weights", str(weights))[0] == 2
    assert _run(capsys, "signals", "import", str(data_file("notices.csv")), "-f", "csv")[0] == 0
    db = Database.open(settings.database_url)
    with db.session() as s:
        assert s.scalar(select(Campaign.id)) is None
    db.dispose()
