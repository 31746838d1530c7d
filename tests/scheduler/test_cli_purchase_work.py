"""`purchase` on the command line: the role matrix the console shares (purchases.work),
rotation-rule breaches flagged when tasks are created, the lab report stored by hash."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from scheduler.personas import create_persona
from spotcheck import users
from spotcheck.cli import main
from store.db import Database
from store.models import Purchase
from store.settings import Settings
from tests.factory.shop import small_world


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    try:
        data = json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        data = out
    return int(exit_info.value.code or 0), data, err


def test_purchase_steps_need_the_buyers_role_and_breaches_are_flagged(
        sqlite_db: Database, settings: Settings, capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    with sqlite_db.session() as s:
        w = small_world(s, listings=4)
        create_persona(s, w.platform_id, "buyer-1", "acct", "pw", {"name": "x", "phone": "1", "address": "a"}, "PAY",
                       settings, actor="t")
    users.add_user(sqlite_db, "amy", "sampler", "pw-123456789", actor="t")
    users.add_user(sqlite_db, "ivy", "investigator", "pw-123456789", actor="t")

    code, _, err = cli(capsys, "--user", "ivy", "purchase", "tasks", str(w.plan_id))
    assert code == 4 and "调查员" in err  # the console's purchases.work, same rule
    code, report, _ = cli(capsys, "--user", "amy", "purchase", "tasks", str(w.plan_id),
                          "--json")
    assert code == 0 and len(report["created"]) == 4 and report["flags"] == []
    # Orders placed by hand on one day break "once a day per persona": flagged on the next
    # run of `purchase tasks` (the demo's personas buying three times a day were not).
    with sqlite_db.session() as s:
        rows = list(s.scalars(select(Purchase).order_by(Purchase.id)))
        for p in rows[:3]:
            p.persona_id = rows[0].persona_id or 1
            p.ordered_at = dt.datetime(2026, 11, 3, 4, tzinfo=dt.UTC)
        ids = [p.id for p in rows[:3]]
    code, report, _ = cli(capsys, "--user", "amy", "purchase", "tasks", str(w.plan_id),
                          "--json")
    assert code == 0
    daily = [f for f in report["flags"] if f["rule"] == "persona_per_day"]
    assert daily and daily[0]["purchases"] == ids and daily[0]["count"] == 3
    code, _, err = cli(capsys, "--user", "amy", "purchase", "tasks", str(w.plan_id))
    # said in the reader's language (zh-CN by default), the rule by its label
    assert code == 0 and "警告：买家身份 #" in err and "下单 3 次" in err
    assert "每个买家身份每天最多购买次数" in err and "persona_per_day" not in err

    pid = ids[0]
    code, _, err = cli(capsys, "--user", "ivy", "purchase", "ordered", str(pid), "--order",
                       "O-1", "--price", "10")
    assert code == 4 and "调查员" in err
    assert cli(capsys, "--user", "amy", "purchase", "ordered", str(pid), "--order", "O-1",
               "--price", "10")[0] == 0
    text = tmp_path / "seal.txt"
    text.write_text("not a photo")
    code, _, err = cli(capsys, "--user", "amy", "purchase", "receive", str(pid), "--sample",
                       "S-CLI-1", "--seal-photo", str(text))
    assert code == 2 and "封样照片 必须是以下之一" in err
    assert cli(capsys, "--user", "amy", "purchase", "receive", str(pid), "--sample",
               "S-CLI-1")[0] == 0
    assert cli(capsys, "--user", "amy", "purchase", "send", str(pid), "--lab", "实验室")[0] == 0
    report_pdf = tmp_path / "r.pdf"
    report_pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    code, out, _ = cli(capsys, "--user", "amy", "purchase", "result", str(pid), "--outcome",
                       "pass", "--report", str(report_pdf), "--json")
    assert code == 0 and out["outcome"] == "pass" and len(out["report_sha256"]) == 64
    assert (settings.artifacts_dir / out["report_sha256"][:2]).is_dir() or any(
        settings.artifacts_dir.rglob(out["report_sha256"]))


def test_plan_export_follows_the_plan_rule(sqlite_db: Database, settings: Settings,
                                           capsys: pytest.CaptureFixture[str],
                                           tmp_path: Path) -> None:
    """Whoever may not open /plans/N in the console may not export it on the command line."""
    with sqlite_db.session() as s:
        w = small_world(s, listings=3)
    users.add_user(sqlite_db, "ivy", "investigator", "pw-123456789", actor="t")
    users.add_user(sqlite_db, "sue", "supervisor", "pw-123456789", actor="t")
    out = tmp_path / "plan.csv"
    code, _, err = cli(capsys, "--user", "ivy", "plan", "export", str(w.plan_id), "-f", "csv",
                       "-o", str(out))
    assert code == 4 and "调查员" in err and not out.exists()
    code, data, _ = cli(capsys, "--user", "sue", "plan", "export", str(w.plan_id), "-f", "form",
                        "-o", str(tmp_path / "form.xlsx"), "--json")
    assert code == 0 and data["format"] == "form" and (tmp_path / "form.xlsx").stat().st_size
