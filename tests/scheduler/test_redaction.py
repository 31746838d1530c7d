"""``spotcheck evidence redact`` without a browser: which persona captures lack a redacted
copy (scheduler.redaction.missing), whose secrets an order page shows, and the command's
rules — only a logged-in sampler or admin, one of ``--capture``/``--all-missing``, a capture
that has its copy left alone.  The redaction itself runs in tests/evidence/test_redact.py."""

from __future__ import annotations

import json
from typing import Any

from scheduler import purchases, redaction
from scheduler.personas import create_persona
from spotcheck.users import add_user
from store.db import Database
from store.models import Capture, CaptureStatus, Purchase
from store.settings import Settings
from tests import factory
from tests.clirun import spotcheck
from tests.factory.shop import small_world


def _capture(s: Any, **kw: Any) -> int:
    kw.setdefault("status", CaptureStatus.OK)
    kw.setdefault("meta", {})
    return int(factory.capture(s, "http://127.0.0.1:9/order/1", **kw).id)


def test_missing_copies_and_the_commands_rules(sqlite_db: Database, settings: Settings) -> None:
    with sqlite_db.session() as s:
        world = small_world(s, listings=2)
        persona = create_persona(s, world.platform_id, "buyer-r", "acct.r", None,
                                 "李四 | 13900000001 | 杭州某路3号", "PAY-R", settings).id
        pid = purchases.create_purchase_tasks(s, world.plan_id, actor="amy",
                                              assign=False).created[0]
        p = s.get(Purchase, pid)
        assert p is not None
        p.persona_id = persona
        has_copy = _capture(s, kind="order", persona_id=persona, purchase_id=pid)
        copy = _capture(s, kind="order", purchase_id=pid,
                        purpose=f"脱敏副本 / redacted copy of capture #{has_copy}",
                        meta={"redacted_from": {"capture_id": has_copy}})
        lacking = _capture(s, kind="listing", persona_id=persona, purchase_id=pid)
        by_order = _capture(s, kind="order", purchase_id=pid)  # no persona recorded on it
        _capture(s, kind="order", persona_id=persona, status=CaptureStatus.FAILED)
        plain = _capture(s, kind="listing")
    with sqlite_db.session() as s:
        assert redaction.missing(s) == [lacking, by_order]
        order = s.get(Capture, by_order)
        assert order is not None and redaction.persona_of(s, order) == persona
    add_user(sqlite_db, "amy", "sampler", "a-long-password-2", actor="test")
    add_user(sqlite_db, "ian", "investigator", "a-long-password-1", actor="test")
    sampler = {"SPOTCHECK_USER": "amy", "SPOTCHECK_PASSWORD": "a-long-password-2"}

    def redact(*args: str, env: dict[str, str]) -> Any:
        return spotcheck("evidence", "redact", *args, "--json", env=env,
                         unset=() if "SPOTCHECK_PASSWORD" in env else ("SPOTCHECK_PASSWORD",))

    assert redact("--all-missing", env={"SPOTCHECK_USER": "ian",
                                        "SPOTCHECK_PASSWORD": "a-long-password-1"}
                  ).returncode == 4
    assert redact("--all-missing", env={"SPOTCHECK_USER": "amy"}).returncode == 4
    assert redact(env=sampler).returncode == 2
    assert redact("--all-missing", "--capture", str(lacking), env=sampler).returncode == 2
    assert redact("--capture", str(plain), env=sampler).returncode == 2
    assert redact("--capture", str(copy), env=sampler).returncode == 2
    assert redact("--capture", "999999", env=sampler).returncode == 3
    ran = redact("--capture", str(has_copy), env=sampler)  # has its copy: nothing to do
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == {"made": 0, "existing": 1, "failed": 0, "captures": [
        {"capture": has_copy, "copy": copy, "made": False}]}
