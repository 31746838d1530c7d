"""Who acts: atomic login throttling under concurrency, CLI sessions that expire and end."""

from __future__ import annotations

import datetime as dt
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from spotcheck import identity, users
from store.db import Database
from store.errors import Conflict, InvalidInput
from store.models import AuditEvent, CliSession


def test_twenty_simultaneous_guesses_check_at_most_the_limit(any_db: Database) -> None:
    users.add_user(any_db, "wang.qiang", "supervisor", "the-right-password", actor="t")

    def guess(i: int) -> str:
        try:
            identity.login(any_db, "wang.qiang", f"wrong-guess-{i:03d}")
        except Conflict:
            return "throttled"
        except InvalidInput:
            return "checked"
        return "in"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(guess, range(20)))
    assert outcomes.count("checked") == identity.LIMIT_PER_NAME, outcomes
    assert outcomes.count("throttled") == 20 - identity.LIMIT_PER_NAME
    with any_db.session() as s:
        failed = s.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "login.failed"))
    assert failed == identity.LIMIT_PER_NAME
    # Even the right password is refused until the window has passed...
    with pytest.raises(Conflict):
        identity.login(any_db, "wang.qiang", "the-right-password")
    # ...and a new window starts afresh.
    later = identity.utcnow() + identity.WINDOW + dt.timedelta(seconds=1)
    assert identity.take_attempt(any_db, "wang.qiang", "elsewhere", now=later)


def test_cli_session_is_private_expires_and_is_revoked(sqlite_db: Database) -> None:
    users.add_user(sqlite_db, "li.na", "sampler", "li-na-password-1", actor="t")
    assert identity.current(sqlite_db) is None
    who = identity.login(sqlite_db, "li.na", "li-na-password-1")
    path = Path(os.environ["SPOTCHECK_SESSION_FILE"])
    assert path.stat().st_mode & 0o777 == 0o600
    token = path.read_text()
    with sqlite_db.session() as s:
        stored = s.scalars(select(CliSession)).one()
        assert stored.token_sha256 not in token  # only the hash is in the database
    current = identity.current(sqlite_db)
    assert current is not None and current.name == "li.na" == who.name
    # An expired session is nobody.
    with sqlite_db.session() as s:
        s.scalars(select(CliSession)).one().expires_at = identity.utcnow()
    assert identity.current(sqlite_db) is None
    identity.login(sqlite_db, "li.na", "li-na-password-1")
    assert identity.current(sqlite_db) is not None
    # Disabling the user ends it; so does logging out.
    users.set_active(sqlite_db, "li.na", False, actor="t")
    assert identity.current(sqlite_db) is None
    users.set_active(sqlite_db, "li.na", True, actor="t")
    assert identity.logout(sqlite_db) == "li.na"
    assert identity.current(sqlite_db) is None
    with sqlite_db.session() as s:
        assert all(r.revoked_at is not None for r in s.scalars(select(CliSession))
                   if r.expires_at.replace(tzinfo=dt.UTC) > identity.utcnow())
