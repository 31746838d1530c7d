"""What every command shares: settings, the open database, output mode."""

from __future__ import annotations

from dataclasses import dataclass, field

from store.db import Database
from store.settings import Settings, get_settings


@dataclass
class AppContext:
    """Created once per CLI invocation by the root callback."""

    verbose: bool = False
    settings: Settings = field(default_factory=get_settings)
    _db: Database | None = None

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
