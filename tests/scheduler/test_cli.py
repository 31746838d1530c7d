"""The scheduler's CLI groups in-process (``spotcheck.cli.main``): exit codes, --json, masking."""

from __future__ import annotations

import json
from typing import Any

import pytest

from spotcheck import users
from spotcheck.cli import main
from store.db import Database
from store.settings import Settings
from tests.factory.shop import small_world

SECRET_PAY = "PAY-CLI-SECRET-777"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    code = int(exit_info.value.code or 0)
    try:
        data = json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        data = out
    return code, data, err


def test_persona_case_campaign_and_tick(sqlite_db: Database, settings: Settings,
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with sqlite_db.session() as s:
        w = small_world(s, listings=2)
    users.add_user(sqlite_db, "root", "admin", "pw-123456789", actor="t")
    users.add_user(sqlite_db, "ivy", "investigator", "pw-123456789", actor="t")

    code, view, _ = cli(capsys, "persona", "add", "buyer-x", "--platform", "mall",
                        "--account", "acct.cli.secret", "--password", "pw-cli-secret",
                        "--recipient", "张秘密", "--phone", "13700000000", "--address",
                        "北京秘密胡同 1 号", "--payment-ref", SECRET_PAY, "--json")
    assert code == 0 and view["alias"] == "buyer-x"
    code, listed, _ = cli(capsys, "persona", "list", "--json")
    blob = json.dumps(listed, ensure_ascii=False)
    assert code == 0 and SECRET_PAY not in blob and "acct.cli.secret" not in blob
    code, _, err = cli(capsys, "persona", "show", "buyer-x", "--reveal")
    assert code == 4 and "已登录的用户" in err
    code, _, err = cli(capsys, "--user", "root", "persona", "show", "buyer-x", "--reveal")
    assert code == 4 and "已登录的用户" in err  # a claim is not enough
    monkeypatch.setenv("SPOTCHECK_PASSWORD", "pw-123456789")
    code, _, err = cli(capsys, "--user", "ivy", "persona", "show", "buyer-x", "--reveal")
    assert code == 4 and "调查员" in err
    code, shown, _ = cli(capsys, "--user", "root", "persona", "show", "buyer-x", "--reveal",
                         "--json")
    assert code == 0 and shown["payment_ref"] == SECRET_PAY
    monkeypatch.delenv("SPOTCHECK_PASSWORD")

    code, case, _ = cli(capsys, "--user", "ivy", "case", "open", "--kind", "counterfeit",
                        "--listing", str(w.listing_ids[0]), "--json")
    assert code == 0 and case["bureau"] == "杭州海关 Hangzhou Customs"
    number = case["number"]
    assert cli(capsys, "--user", "ivy", "case", "notify", number, "--reference", "函 12", "--json")[0] == 0
    code, m, _ = cli(capsys, "--user", "ivy", "case", "measure", number, "--kind", "takedown", "--due",
                     "2026-12-01", "--json")
    assert code == 0 and not m["done"]
    code, _, err = cli(capsys, "--user", "ivy", "case", "close", number)
    assert code == 4 and "尚无结果的处置措施" in err
    code, _, err = cli(capsys, "case", "close", number)  # the console's cases.work, same rule
    assert code == 2 and "此操作需要用户" in err
    assert cli(capsys, "--user", "ivy", "case", "measure", number, "--kind", "takedown", "--complete",
               str(m["measure"]), "--outcome", "removed")[0] == 0
    code, closed, _ = cli(capsys, "--user", "ivy", "case", "close", number, "--json")
    assert code == 0 and closed["status"] == "closed"
    code, detail, _ = cli(capsys, "--user", "ivy", "case", "show", number, "--json")
    assert [x["kind"] for x in detail["measures"]] == ["takedown"]
    assert cli(capsys, "--user", "ivy", "case", "show", "SC-1999-99999")[0] == 3

    code, sched, _ = cli(capsys, "--user", "root", "campaign", "schedule", str(w.campaign_id), "--stats",
                         "0 6 1 1,7 *", "--timezone", "UTC", "--json")
    assert code == 0 and sched["schedules"]["stats"] == "0 6 1 1,7 *"
    code, _, err = cli(capsys, "--user", "root", "campaign", "schedule", str(w.campaign_id), "--crawl", "bad")
    assert code == 2 and "cron" in err
    code, ran, _ = cli(capsys, "scheduler", "tick", "--now", "2027-01-01T06:01:00+00:00",
                       "--kind", "stats", "--json")
    assert code == 0 and [r["outcome"] for r in ran] == ["ok"], ran
    code, again, _ = cli(capsys, "scheduler", "tick", "--now", "2027-01-01T06:02:00+00:00",
                         "--json")
    assert code == 0 and again == []
    code, recorded, _ = cli(capsys, "scheduler", "runs", "--json")
    assert code == 0 and recorded[0]["job"] == "stats" and recorded[0]["outcome"] == "ok"
    assert (settings.reports_dir / "2026H2" / "half-year-2026H2.json").exists()
    code, status, _ = cli(capsys, "scheduler", "status", "--json")
    assert code == 0 and status["lease"]["holder"]
    code, overdue, _ = cli(capsys, "purchase", "overdue", "--json")
    assert code == 0 and overdue == []
