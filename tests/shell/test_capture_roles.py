"""``spotcheck capture`` follows the role matrix (``captures.run``) with an authenticated user:
refusals exit 4 before anything is captured, and the operator is who logged in."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from spotcheck import users
from spotcheck.permissions import roles_for
from store.db import Database
from store.models import Capture
from store.settings import Settings
from tests.clirun import spotcheck


def _home(tmp_path: Path) -> tuple[dict[str, str], Database]:
    env = {"SPOTCHECK_HOME": str(tmp_path), "SPOTCHECK_CONFIG": str(tmp_path / "none.toml"),
           # No browser anywhere: an allowed capture stops at "browser unavailable" (6),
           # which shows the role check let it through without starting Chromium.
           "SPOTCHECK_BROWSER": str(tmp_path / "no-such-chromium"),
           "SPOTCHECK_SESSION_FILE": str(tmp_path / "session.json")}
    db = Database.open(Settings(home=tmp_path, db="").database_url)
    users.add_user(db, "zhao.lei", "supervisor", "supervisor-pass-1", actor="t")
    users.add_user(db, "chen.jie", "investigator", "investigator-pass-1", actor="t")
    return env, db


def test_capture_needs_a_capturing_role_and_a_proven_user(tmp_path: Path) -> None:
    assert "supervisor" not in roles_for("captures.run")
    env, db = _home(tmp_path)
    url = "http://127.0.0.1:9/item/1"

    # A label alone is not an identity.
    claimed = spotcheck("--user", "chen.jie", "capture", url, env=env,
                        unset=("SPOTCHECK_DB", "SPOTCHECK_PASSWORD"))
    assert claimed.returncode == 4, claimed.stderr
    assert "login" in claimed.stderr

    # A supervisor, proven, may still not capture: refused with the README's exit code 4.
    supervisor = spotcheck("--user", "zhao.lei", "capture", url,
                           env={**env, "SPOTCHECK_PASSWORD": "supervisor-pass-1"},
                           unset=("SPOTCHECK_DB",))
    assert supervisor.returncode == 4, supervisor.stderr

    # A wrong password is refused too, and nothing was captured by any of them.
    wrong = spotcheck("--user", "chen.jie", "capture", url,
                      env={**env, "SPOTCHECK_PASSWORD": "not-the-password"},
                      unset=("SPOTCHECK_DB",))
    assert wrong.returncode not in (0, 6), wrong.stderr
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Capture)) == 0

    # The investigator passes the role check and reaches the capture itself.
    allowed = spotcheck("--user", "chen.jie", "capture", url,
                        env={**env, "SPOTCHECK_PASSWORD": "investigator-pass-1"},
                        unset=("SPOTCHECK_DB",))
    assert allowed.returncode == 6, allowed.stderr
    db.dispose()
