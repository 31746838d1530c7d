"""Fixtures of the sampler tests: a small marketplace in the store (real SQLite/PostgreSQL)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from store.db import Database
from store.models import (
    Listing,
    ListingStatus,
    Platform,
    Sector,
    Seller,
    SupervisionClass,
    User,
)
from store.settings import Settings
from tests.conftest import sqlite_from


def populate(db: Database, listings: int = 400, seed: int = 11,
             reverse: bool = False) -> dict[str, Any]:
    """Two platforms, sellers, listings of every sector and class (a few prohibited and
    removed ones that must never be drawn), risk scores on most, and four users.  *reverse*
    stores the same listings in the opposite order (other row ids, as after another crawl)."""
    rng = np.random.default_rng(seed)
    with db.session() as s:
        platforms = [Platform(code=code, name=name) for code, name in
                     (("mall", "Mall 商城"), ("shop", "Shop 小店"))]
        s.add_all(platforms)
        s.flush()
        sellers = [Seller(platform_id=platforms[i % 2].id, external_id=f"s{i}", name=f"卖家{i}")
                   for i in range(40)]
        s.add_all(sellers)
        s.flush()
        sectors = [Sector.LIGHT_INDUSTRY, Sector.TEXTILES, Sector.ELECTRICAL]
        rows: list[Listing] = []
        for i in range(listings):
            seller = sellers[int(rng.integers(0, len(sellers)))]
            cls = (SupervisionClass.PROHIBITED if i % 50 == 7 else
                   SupervisionClass.KEY if i % 3 == 0 else SupervisionClass.GENERAL)
            status = ListingStatus.REMOVED if i % 60 == 5 else ListingStatus.ACTIVE
            score = None if i % 10 == 3 else float(rng.beta(1.2, 4.0))
            rows.append(Listing(
                platform_id=seller.platform_id, external_id=f"L{i}",
                url=f"http://example.test/item/{i}", title=f"商品 item {i}", seller_id=seller.id,
                sector=sectors[i % 3], supervision_class=cls, status=status,
                price_cny=Decimal(f"{rng.gamma(3, 40):.2f}"), price=Decimal("1"), currency="CNY",
                risk_score=score, risk_reasons=[{"code": "base", "points": 1, "params": {},
                                                 "en": "base weight", "zh": "基础权重"}]))
        s.add_all(rows[::-1] if reverse else rows)
        s.add_all([User(name="alice", role="sampler"), User(name="bob", role="supervisor"),
                   User(name="carol", role="admin"), User(name="dave", role="investigator")])
    return {"listings": listings}


@pytest.fixture(scope="session")
def market_sqlite(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path) -> Path:
    """tests/conftest.py's migrated SQLite file with the market populated, made once per
    session: copying a file costs milliseconds where populating it cost a second a test."""
    path = tmp_path_factory.mktemp("sqlite-market") / "spotcheck.db"
    shutil.copyfile(migrated_sqlite, path)
    db = Database.open(f"sqlite:///{path}")
    populate(db)
    db.dispose()
    return path


@pytest.fixture()
def market(any_db: Database, settings: Settings, market_sqlite: Path) -> Iterator[Database]:
    if any_db.dialect != "sqlite":
        populate(any_db)
        yield any_db
        return
    any_db.dispose()
    db = sqlite_from(settings, market_sqlite)
    yield db
    db.dispose()
