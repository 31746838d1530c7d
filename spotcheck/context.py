"""What every command shares: settings, the open database, output mode."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

    #: The authenticated user, once checked (None: not yet looked up; False: nobody).
    _identity: Any = None

    def actor(self) -> str:
        """The name recorded as the actor of what this command does.

        The logged-in user (``spotcheck login``) when there is one; else the ``--user``
        label; else the operating-system user and host, so nothing is credited to a name
        nobody vouched for.
        """
        who = self.authenticated()
        if who is not None:
            return who.name
        if self.user:
            return self.user
        from spotcheck.identity import origin

        return f"os:{origin()}"[:100]

    def reader_locale(self) -> str:
        """The language of the person at the terminal (refusals, notes): the ``locale``
        setting, as the console's default; zh-CN when the settings cannot be read."""
        return reader_locale(lambda: self.settings)

    def authenticated(self) -> Any:
        """The user logged in on this database (``spotcheck.identity.Identity``), or None."""
        if self._identity is None:
            from spotcheck import identity

            self._identity = identity.current(self.db) or False
        return self._identity or None

    def require_user(self, *roles: str, authenticated: bool = False) -> tuple[str, str]:
        """The current user's (name, role), which must be one of *roles* (any if none).

        Raises a user error when no user is given or the user lacks the role, so that
        actions with four-eyes rules (approving plans) are never anonymous.  With
        *authenticated*, ``--user`` is not enough: the user must have logged in
        (``spotcheck login``), or prove it now with ``SPOTCHECK_PASSWORD`` or at a password
        prompt; that user, not the claim, is who acts.
        """
        from sqlalchemy import select

        from store.errors import Conflict, InvalidInput, NotFound
        from store.models import User

        name = self._prove() if authenticated else self.user
        if not name:
            raise InvalidInput("context.action_needs_user_pass_user")
        with self.db.session() as s:
            row = s.scalar(select(User).where(User.name == name))
            if row is None or not row.active:
                raise NotFound("context.active_user_spotcheck_user_add", name=name)
            role = row.role.value
        if roles and role not in roles:
            from store.vocabulary import Role

            raise Conflict("context.user_needs_one", name=name, role=Role(role),
                           roles=[Role(r) for r in roles])
        return name, role

    def require(self, permission: str, *, authenticated: bool = False) -> tuple[str, str]:
        """:meth:`require_user` with the roles of *permission* in
        :data:`spotcheck.permissions.PERMISSIONS` (the console's matrix too)."""
        from spotcheck.permissions import roles_for

        return self.require_user(*roles_for(permission), authenticated=authenticated)

    def read_as(self, permission: str) -> None:
        """A read the console allows only to some roles (``plans.view``, ``cases.view``, …).

        Anyone with a shell may read the database, so a read needs no user; but a ``--user``
        label that names a user whose role the console refuses this read is refused here too
        (exit 4), so the CLI and the console apply one matrix.  A label naming no user stays a
        label."""
        if not self.user:
            return
        from sqlalchemy import select

        from spotcheck.permissions import roles_for
        from store.errors import Conflict
        from store.models import User
        from store.vocabulary import Role

        with self.db.session() as s:
            row = s.scalar(select(User).where(User.name == self.user))
            role = None if row is None or not row.active else row.role.value
        roles = roles_for(permission)
        if role is not None and role not in roles:
            raise Conflict("context.user_needs_one", name=self.user, role=Role(role),
                           roles=[Role(r) for r in roles])

    def _prove(self) -> str:
        """The authenticated user's name: a login session, else a password checked now."""
        import os
        import sys

        from spotcheck import identity
        from store.errors import Conflict

        who = self.authenticated()
        if who is not None:
            if self.user and self.user != who.name:
                raise Conflict("context.logged_but_user_says_run", who_name=who.name,
                               self_user=self.user)
            return str(who.name)
        password = os.environ.get("SPOTCHECK_PASSWORD")
        if password is None and self.user and sys.stdin.isatty():
            import typer

            password = str(typer.prompt(f"Password for {self.user}", hide_input=True))
        if password is None or not self.user:
            raise Conflict("context.action_needs_logged_user_user")
        checked = identity.check_password_once(self.db, self.user, password)
        return checked

    @property
    def db(self) -> Database:
        """The database, opened (and migrated) on first use."""
        if self._db is None:
            self._db = Database.open(settings=self.settings)
        return self._db


def reader_locale(settings: Any = get_settings) -> str:
    """The reader's language from the ``locale`` setting of *settings* (a callable giving
    them; by default the process's settings, as read before a command's context exists:
    help and usage errors); zh-CN when the settings cannot be read."""
    try:
        locale = str(settings().locale)
    except Exception:  # the refusal may be about the settings themselves
        return "zh-CN"
    return "en" if locale.lower().startswith("en") else "zh-CN"


_current = AppContext()


def current() -> AppContext:
    return _current


def reset(ctx: AppContext) -> None:
    global _current
    _current = ctx
