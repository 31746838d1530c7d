"""What every command shares: settings, the open database, output mode."""

from __future__ import annotations

from dataclasses import dataclass, field

from store.db import Database
from store.settings import Settings, get_settings


@dataclass
class AppContext:
    """Created once per CLI invocation by the root callback."""

    verbose: bool = False
    #: Who runs the command (``--user`` / SPOTCHECK_USER), for audit and four-eyes rules.
    user: str | None = None
    settings: Settings = field(default_factory=get_settings)
    _db: Database | None = None

    def actor(self) -> str:
        """The name recorded as the actor of what this command does."""
        return self.user or self.settings.operator

    def require_user(self, *roles: str) -> tuple[str, str]:
        """The current user's (name, role), which must be one of *roles* (any if none).

        Raises a user error when no user is given or the user lacks the role, so that
        actions with four-eyes rules (approving plans) are never anonymous.
        """
        from sqlalchemy import select

        from store.errors import Conflict, InvalidInput, NotFound
        from store.models import User

        if not self.user:
            raise InvalidInput("this action needs a user: pass --user NAME or set SPOTCHECK_USER")
        with self.db.session() as s:
            row = s.scalar(select(User).where(User.name == self.user))
            if row is None or not row.active:
                raise NotFound(f"no active user {self.user!r} (spotcheck user add)")
            role = row.role.value
        if roles and role not in roles:
            raise Conflict(f"user {self.user!r} is a {role}; this needs one of: {', '.join(roles)}")
        return self.user, role

    @property
    def db(self) -> Database:
        """The database, opened (and migrated) on first use."""
        if self._db is None:
            self._db = Database.open(settings=self.settings)
        return self._db


_current = AppContext()


def current() -> AppContext:
    return _current


def reset(ctx: AppContext) -> None:
    global _current
    _current = ctx
