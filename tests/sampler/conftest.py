"""Fixtures of the sampler tests: the factory's market in the store (real SQLite/PostgreSQL)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.db import Database
from store.settings import Settings
from tests import factory
from tests.conftest import sqlite_from


@pytest.fixture(scope="session")
def market_sqlite(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path) -> Path:
    """tests/conftest.py's migrated SQLite file with the market populated, made once per
    session: copying a file costs milliseconds where populating it cost a second a test."""
    path = tmp_path_factory.mktemp("sqlite-market") / "spotcheck.db"
    shutil.copyfile(migrated_sqlite, path)
    db = Database.open(f"sqlite:///{path}")
    factory.market(db)
    db.dispose()
    return path


@pytest.fixture()
def market(any_db: Database, settings: Settings, market_sqlite: Path) -> Iterator[Database]:
    if any_db.dialect != "sqlite":
        factory.market(any_db)
        yield any_db
        return
    any_db.dispose()
    db = sqlite_from(settings, market_sqlite)
    yield db
    db.dispose()
