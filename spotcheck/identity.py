"""Who is acting: login throttling shared by console and CLI, and command-line sessions.

``--user NAME`` on the command line is a claim anybody with a shell can make, so privileged
actions (approving or rejecting plans, revealing a buyer persona, rotating keys, managing
users) need an *authenticated* user: ``spotcheck login`` checks the password once and stores a
short-lived token in the operating-system user's own session file (mode 0600); the database
keeps only the token's SHA-256, its expiry and whether it was revoked (``spotcheck logout``).

Throttling takes a slot before the password is checked, with one atomic upsert per key (the
user name, and the client address or OS user), so concurrent guesses cannot each read a count
under the limit: at most ``LIMIT_PER_NAME`` password checks per name per window.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from spotcheck import users
from store.db import Database
from store.errors import Conflict, InvalidInput
from store.models import AuditEvent, CliSession, LoginAttempt, User, utcnow

#: Password checks allowed per user name, and per client address, within WINDOW.
LIMIT_PER_NAME = 5
LIMIT_PER_ADDRESS = 20
WINDOW = dt.timedelta(minutes=15)
#: How long a command-line login lasts (a working day).
CLI_SESSION_TTL = dt.timedelta(hours=8)


#: Why :func:`check_password` said no: too many attempts, or a wrong name or password.
Refusal = Literal["throttled", "wrong"]


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands timezone-aware columns back naive; they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# --- throttling --------------------------------------------------------------------------

def _take(db: Database, key: str, limit: int, now: dt.datetime) -> bool:
    """Take one attempt slot for *key*; False when the window's slots are used up.

    One INSERT … ON CONFLICT DO UPDATE … RETURNING: the increment and the read of the new
    count are a single statement, atomic on SQLite (one writer) and PostgreSQL (row lock).
    """
    from sqlalchemy import case

    since = now - WINDOW
    col = LoginAttempt.__table__.c
    insert: Any = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    stale = col.window_start < since
    stmt = insert(LoginAttempt).values(key=key[:200], window_start=now, attempts=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[col.key],
        set_={"attempts": case((stale, 1), else_=col.attempts + 1),
              "window_start": case((stale, now), else_=col.window_start)},
    ).returning(col.attempts)
    with db.engine.begin() as conn:
        count = conn.execute(stmt).scalar_one()
    return int(count) <= limit


def take_attempt(db: Database, name: str, address: str, *,
                 now: dt.datetime | None = None) -> bool:
    """Whether a login for *name* from *address* may check a password now.

    Both keys are charged before the password is checked; a successful login gives the
    name's slots back (``forgive``), failures keep them until the window ends.
    """
    now = now or utcnow()
    by_name = _take(db, f"name:{name}", LIMIT_PER_NAME, now)
    by_address = _take(db, f"addr:{address}", LIMIT_PER_ADDRESS, now)
    return by_name and by_address


def forgive(db: Database, name: str, address: str) -> None:
    """A correct password: the name's attempts no longer count, and this attempt does not
    count against the address (only failures should use up its slots)."""
    from sqlalchemy import update

    with db.session() as s:
        s.execute(delete(LoginAttempt).where(LoginAttempt.key == f"name:{name}"[:200]))
        s.execute(update(LoginAttempt)
                  .where(LoginAttempt.key == f"addr:{address}"[:200], LoginAttempt.attempts > 0)
                  .values(attempts=LoginAttempt.attempts - 1))


def check_password(db: Database, name: str, password: str, address: str, *,
                   origin: str | None = None, ip: str | None = None) -> users.UserInfo | Refusal:
    """The one throttled password check, for a console login, a CLI login and a command's
    one-off check alike: a slot is taken first (:func:`take_attempt`, keyed by *address*),
    each refusal is audited as ``login.throttled`` or ``login.failed`` (with the CLI's
    *origin* or the console client's *ip*), and a correct password gives the slots back
    (:func:`forgive`).  Returns the user, or why not (the caller says it in its own words: a
    page, a coded error)."""
    detail = {"origin": origin} if origin is not None else {}
    actor, who = (name or "?")[:100], name[:100]
    if not take_attempt(db, name, address):
        with db.session() as s:
            s.add(AuditEvent(actor=actor, action="login.throttled", object_type="user",
                             object_id=who, detail=detail, ip=ip))
        return "throttled"
    info = users.authenticate(db, name, password)
    if info is None:
        with db.session() as s:
            s.add(AuditEvent(actor=actor, action="login.failed", object_type="user",
                             object_id=who, detail=detail, ip=ip))
        return "wrong"
    forgive(db, info.name, address)
    return info


# --- command-line sessions ---------------------------------------------------------------

def origin() -> str:
    """Operating-system user and host of this process, recorded with each CLI login."""
    try:
        who = getpass.getuser()
    except Exception:  # no passwd entry (containers): still say something useful
        who = str(os.getuid()) if hasattr(os, "getuid") else "?"
    return f"{who}@{socket.gethostname()}"[:200]


def session_file() -> Path:
    """The OS user's session file: ``SPOTCHECK_SESSION_FILE``, else the XDG config folder."""
    explicit = os.environ.get("SPOTCHECK_SESSION_FILE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "spotcheck" / "session.json"


def _database_key(db: Database) -> str:
    """Sessions are per database: the URL without its password, hashed."""
    url = db.engine.url.render_as_string(hide_password=True)
    return hashlib.sha256(url.encode()).hexdigest()[:32]


def _read_file(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_file(path: Path, data: dict[str, dict[str, str]]) -> None:
    """Write the session file readable by its owner only (created 0600, never wider)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


@dataclass(frozen=True)
class Identity:
    """An authenticated command-line user."""

    name: str
    role: str
    expires_at: dt.datetime


def login(db: Database, name: str, password: str, *,
          ttl: dt.timedelta = CLI_SESSION_TTL) -> Identity:
    """Check *name*'s password (throttled), start a session and store its token locally."""
    name = name.strip()
    here = origin()
    info = check_password(db, name, password, f"cli:{here}", origin=here)
    if info == "throttled":
        raise Conflict("identity.too_many_failed_logins_wait")
    if info == "wrong":
        raise InvalidInput("identity.wrong_user_name_password")
    token = secrets.token_urlsafe(32)
    expires = utcnow() + ttl
    with db.session() as s:
        s.add(CliSession(token_sha256=hashlib.sha256(token.encode()).hexdigest(),
                         user_id=info.id, expires_at=expires, origin=here))
        s.add(AuditEvent(actor=info.name, action="login.cli", object_type="user",
                         object_id=info.name, detail={"origin": here,
                                                      "expires_at": expires.isoformat()}))
    path = session_file()
    data = _read_file(path)
    data[_database_key(db)] = {"token": token, "user": info.name,
                               "expires_at": expires.isoformat()}
    _write_file(path, data)
    return Identity(name=info.name, role=info.role.value, expires_at=expires)


def current(db: Database) -> Identity | None:
    """The user this OS user is logged in as on *db*, or None (no, expired or revoked)."""
    entry = _read_file(session_file()).get(_database_key(db))
    if not entry or not isinstance(entry.get("token"), str):
        return None
    digest = hashlib.sha256(entry["token"].encode()).hexdigest()
    with db.session() as s:
        row = s.execute(select(CliSession, User).join(User, User.id == CliSession.user_id)
                        .where(CliSession.token_sha256 == digest)).first()
        if row is None:
            return None
        session, user = row
        if (session.revoked_at is not None or _aware(session.expires_at) <= utcnow()
                or not user.active):
            return None
        return Identity(name=user.name, role=user.role.value,
                        expires_at=_aware(session.expires_at))


def logout(db: Database) -> str | None:
    """Revoke this OS user's session on *db* and forget its token; the name, if any."""
    path = session_file()
    data = _read_file(path)
    entry = data.pop(_database_key(db), None)
    if entry is None:
        return None
    digest = hashlib.sha256(str(entry.get("token", "")).encode()).hexdigest()
    with db.session() as s:
        session = s.scalar(select(CliSession).where(CliSession.token_sha256 == digest))
        if session is not None and session.revoked_at is None:
            session.revoked_at = utcnow()
            s.add(AuditEvent(actor=str(entry.get("user", "?"))[:100], action="logout.cli",
                             object_type="user", object_id=str(entry.get("user", ""))[:100],
                             detail={"origin": origin()}))
    _write_file(path, data)
    return str(entry.get("user") or "") or None


def revoke_all(db: Database, name: str, *, actor: str) -> int:
    """End every command-line session of *name* (a disabled user, a leaked token)."""
    with db.session() as s:
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            return 0
        rows = list(s.scalars(select(CliSession).where(CliSession.user_id == user.id,
                                                       CliSession.revoked_at.is_(None))))
        for row in rows:
            row.revoked_at = utcnow()
        s.add(AuditEvent(actor=actor, action="sessions.revoke", object_type="user",
                         object_id=name, detail={"count": len(rows)}))
        return len(rows)


def check_password_once(db: Database, name: str, password: str) -> str:
    """Authenticate *name* for one command (``SPOTCHECK_PASSWORD`` or a prompt), throttled
    like a login; no session is kept.  Returns the name, or raises."""
    here = origin()
    info = check_password(db, name, password, f"cli:{here}", origin=here)
    if info == "throttled":
        raise Conflict("identity.too_many_failed_logins_wait_2")
    if info == "wrong":
        raise InvalidInput("identity.wrong_password", name=name)
    return info.name
