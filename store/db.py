"""Opening the database: engine, sessions, and migrating to the newest schema by itself.

Every command opens the database through :meth:`Database.open`, which runs the Alembic
migrations up to head first, so an operator never meets an out-of-date schema.  SQLite gets WAL
mode and foreign keys; PostgreSQL is used as it is.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from store import guards
from store.errors import ConfigError, ServiceUnavailable
from store.settings import Settings, get_settings

MIGRATIONS = Path(__file__).parent / "migrations"
# The store's rules hold on every session of every caller (store.guards).
guards.register()
_migrate_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


#: Database backends spotcheck is built and tested for.
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for *url* (SQLite in WAL mode, or PostgreSQL); anything else, or a SQLite
    file in a folder that does not exist, is a configuration error (exit 2)."""
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise ConfigError("db.database_url_usable", url=url, exc=exc) from exc
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise ConfigError("db.database_url_supported_spotcheck_runs",
                          url=parsed.render_as_string(hide_password=True),
                          backend=backend)
    if backend == "sqlite":
        folder = Path(parsed.database).parent if parsed.database not in (None, "", ":memory:") \
            else None
        # A typo in a folder name must not look like an empty database: the data folder is
        # created by the settings (ensure_home), an explicit URL's folder must exist.
        if folder is not None and not folder.is_dir():
            raise ConfigError("db.database_url_folder_does_exist", url=url, folder=folder)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def alembic_config(url: str, schema: str | None = None) -> Any:
    """An Alembic config pointing at our migrations and at *url*."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if schema:
        cfg.attributes["schema"] = schema
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind *engine* up to *revision*."""
    from alembic import command

    with _migrate_lock, engine.begin() as connection:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database behind *engine* down to *revision* (``base`` drops everything)."""
    from alembic import command

    with _migrate_lock, engine.begin() as connection:
        cfg = alembic_config(engine.url.render_as_string(hide_password=False))
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


class Database:
    """An open, migrated database: an engine and a session factory."""

    def __init__(self, engine: Engine, settings: Settings | None = None) -> None:
        self.engine = engine
        #: The settings it was opened with, in every session's ``info`` too: code given only
        #: a session (a purchase's signed history) finds this installation's key folder.
        self.settings = settings
        self._sessions = sessionmaker(engine, expire_on_commit=False,
                                      info={"settings": settings} if settings else None)

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True,
             settings: Settings | None = None, **engine_kwargs: Any) -> Database:
        """Open the database at *url* (default: the settings'), migrated to head."""
        settings = settings or get_settings()
        if url is None:
            settings.ensure_home()
            url = settings.database_url
        engine = make_engine(url, **engine_kwargs)
        try:
            if migrate and current_revision(engine) != head_revision():
                upgrade(engine)
        except OperationalError as exc:
            engine.dispose()
            raise ServiceUnavailable(
                "db.cannot_open_database",
                url=engine.url.render_as_string(hide_password=True),
                reason=str(exc.orig).strip().splitlines()[0]) from exc
        return cls(engine, settings)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back on an exception."""
        with self._sessions() as session, session.begin():
            yield session

    def new_session(self) -> Session:
        """A plain session, for callers that manage transactions themselves."""
        return self._sessions()

    def dispose(self) -> None:
        self.engine.dispose()
