"""Console and CLI users: roles, argon2 password hashes, and the audit trail of changes.

Passwords are hashed with argon2id at the cost the settings name (``password_hash_*``; by
default argon2-cffi's, RFC 9106 low-memory profile), so a stolen database does not give away
passwords.  Each hash carries its own parameters, so hashes made at another cost still verify,
and are re-made at the configured cost on the next login: that is how a bureau raises the cost
(and how the test suite, which runs at the cheapest cost, stays fast).  Every change to a user is written to the audit log in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.db import Database
from store.errors import Conflict, InvalidInput, NotFound
from store.models import AuditEvent, Role, User
from store.settings import Settings, get_settings

#: Shortest password accepted; long passphrases are encouraged, short ones refused.
MIN_PASSWORD_LENGTH = 10
#: Longest password accepted (argon2 hashes anything, but unbounded input is a DoS vector).
MAX_PASSWORD_LENGTH = 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")



@functools.cache
def _hasher_for(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def _hasher(settings: Settings | None = None) -> PasswordHasher:
    """The hasher at the cost *settings* (default: the process's) name."""
    settings = settings or get_settings()
    return _hasher_for(settings.password_hash_time_cost, settings.password_hash_memory_kib,
                       settings.password_hash_parallelism)


@functools.cache
def _dummy(hasher: PasswordHasher) -> str:
    """A hash to verify against when the user does not exist, so that timing does not reveal
    which names are registered; made at the configured cost, like the users' hashes.  Made at
    the first verification rather than at import: an argon2 hash at the default cost takes
    0.2 s of CPU (0.4 s on a loaded machine), which every command paid at start, ``--help``
    included."""
    return hasher.hash("spotcheck-no-such-user")


@dataclass(frozen=True)
class UserInfo:
    """What callers may know about a user (never the hash)."""

    id: int
    name: str
    role: Role
    locale: str | None
    active: bool
    created_at: dt.datetime

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role.value,
                "locale": self.locale, "active": self.active,
                "created_at": self.created_at.isoformat()}


def _info(user: User) -> UserInfo:
    return UserInfo(id=user.id, name=user.name, role=user.role, locale=user.locale,
                    active=user.active, created_at=user.created_at)


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise InvalidInput("users.unknown_role_use_one", value=value,
                           roles=', '.join(r.value for r in Role)) from None


def check_password(password: str) -> None:
    """Refuse passwords too short to resist guessing (or absurdly long)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("users.password_too_short_least_characters",
                           MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput("users.password_too_long_most_characters",
                           MAX_PASSWORD_LENGTH=MAX_PASSWORD_LENGTH)


def hash_password(password: str, settings: Settings | None = None) -> str:
    """*password*'s argon2id hash at the cost *settings* (default: the process's) name."""
    check_password(password)
    return _hasher(settings).hash(password)


def password_matches(password_hash: str | None, password: str,
                     settings: Settings | None = None) -> bool:
    """Whether *password* matches *password_hash*, whatever cost it was made at (constant work
    when there is no hash)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    hasher = _hasher(settings)
    dummy = _dummy(hasher)  # made (once) whether or not the user exists: the same work either way
    try:
        return hasher.verify(password_hash or dummy, password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _audit(s: Session, actor: str, action: str, name: str, **detail: Any) -> None:
    s.add(AuditEvent(actor=actor, action=action, object_type="user", object_id=name,
                     detail=detail))


def _get(s: Session, name: str) -> User:
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound("users.user", name=name)
    return user


def add_user(db: Database, name: str, role: str | Role, password: str, *, actor: str,
             locale: str | None = None) -> UserInfo:
    """Create a user; the name must be new.  Raises InvalidInput or Conflict."""
    if not _NAME.match(name):
        raise InvalidInput("users.invalid_user_name_letters_digits", name=name)
    role = parse_role(role) if isinstance(role, str) else role
    hashed = hash_password(password, db.settings)
    with db.session() as s:
        if s.scalar(select(User.id).where(User.name == name)) is not None:
            raise Conflict("users.user_already_exists", name=name)
        user = User(name=name, role=role, password_hash=hashed, locale=locale, active=True)
        s.add(user)
        s.flush()
        _audit(s, actor, "user.add", name, role=role.value)
        return _info(user)


def list_users(db: Database) -> list[UserInfo]:
    with db.session() as s:
        return [_info(u) for u in s.scalars(select(User).order_by(User.name))]


def get_user(db: Database, name: str) -> UserInfo:
    with db.session() as s:
        return _info(_get(s, name))


def set_password(db: Database, name: str, password: str, *, actor: str) -> None:
    """Replace a user's password (this also ends their console sessions)."""
    hashed = hash_password(password, db.settings)
    with db.session() as s:
        _get(s, name).password_hash = hashed
        _audit(s, actor, "user.passwd", name)


def set_active(db: Database, name: str, active: bool, *, actor: str) -> UserInfo:
    """Disable (or enable again) a user; disabled users cannot log in or act."""
    with db.session() as s:
        user = _get(s, name)
        user.active = active
        _audit(s, actor, "user.enable" if active else "user.disable", name)
        return _info(user)


def set_locale(db: Database, name: str, locale: str | None, *, actor: str) -> None:
    with db.session() as s:
        _get(s, name).locale = locale
        _audit(s, actor, "user.locale", name, locale=locale)


def has_active_admin(db: Database) -> bool:
    """Whether an active administrator exists (until then the shell's operator bootstraps)."""
    with db.session() as s:
        return s.scalar(select(User.id).where(User.role == Role.ADMIN, User.active.is_(True))
                        .limit(1)) is not None


def authenticate(db: Database, name: str, password: str) -> UserInfo | None:
    """The active user with this name and password, or None.

    Verification always does argon2 work, for unknown names too; a hash made at another cost
    than the database's settings name is replaced by one at that cost.
    """
    hasher = _hasher(db.settings)
    with db.session() as s:
        user = s.scalar(select(User).where(User.name == name)) if _NAME.match(name) else None
        stored = user.password_hash if user is not None else None
        if not password_matches(stored, password, db.settings) or user is None \
                or not user.active:
            return None
        if stored and hasher.check_needs_rehash(stored):
            user.password_hash = hasher.hash(password)
        return _info(user)
