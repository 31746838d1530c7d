"""Shared helpers for crawler tests: a running sandbox, crawls in child processes, and the
comparison of what was crawled with the sandbox's ground truth."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from crawlers.platforms import register_sandbox_platforms
from crawlers.run import crawl_platform
from crawlers.session import CrawlRunSummary
from store.db import Database
from store.models import Listing, Platform, Seller
from store.settings import Settings

#: Small enough to stay fast, large enough for pagination, sellers and planted cases.
LISTINGS = 600


@pytest.fixture(scope="module")
def sandbox(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A sandbox with obstacles on (503s on first requests, slow pages, 429s), of
    :data:`LISTINGS` listings or the module's own ``SANDBOX_LISTINGS`` (a module whose tests
    crawl one platform again and again, and prove nothing more on a bigger one, sets less)."""
    from sandbox.runner import Sandbox

    listings = int(getattr(request.module, "SANDBOX_LISTINGS", LISTINGS))
    with Sandbox(seed=11, listings=listings, day=0, obstacles=True) as sb:
        yield sb


@pytest.fixture(scope="module")
def small_sandbox() -> Iterator[Any]:
    """A smaller sandbox (50 listings per style) for the slow paths: CLI, browser."""
    from sandbox.runner import Sandbox

    with Sandbox(seed=13, listings=150, day=0, obstacles=True) as sb:
        yield sb


@pytest.fixture()
def sandbox_db(sandbox: Any, sqlite_db: Database) -> Database:
    """A database with the three sandbox platforms registered at the running sandbox."""
    sandbox.set_day(0)
    with sqlite_db.session() as s:
        register_sandbox_platforms(s, sandbox.urls)
    return sqlite_db


def crawl(settings: Settings, code: str, **kwargs: Any) -> CrawlRunSummary:
    return crawl_platform(code, settings=settings, progress=False, timeout=300, **kwargs)


def crawled(db: Database, code: str) -> dict[str, dict[str, Any]]:
    """Listings of platform *code* as stored, by external id, with their seller."""
    out = {}
    with db.session() as s:
        q = (select(Listing, Seller).join(Platform, Platform.id == Listing.platform_id)
             .outerjoin(Seller, Seller.id == Listing.seller_id).where(Platform.code == code))
        for listing, seller in s.execute(q):
            out[listing.external_id] = {
                "listing": listing, "title": listing.title, "brand": listing.brand,
                "model": listing.model, "price": listing.price, "currency": listing.currency,
                "seller_id": seller.external_id if seller else None,
                "seller_name": seller.name if seller else None, "status": listing.status.value,
                "supervision_class": listing.supervision_class.value,
                "sector": listing.sector.value, "seller": seller,
            }
    return out


def field_mismatches(truth_rows: list[dict[str, Any]], got: dict[str, dict[str, Any]],
                     title_limit: int = 1000) -> dict[str, list[Any]]:
    """Fields that differ from the truth, per field (titles compared within their bound)."""
    bad: dict[str, list[Any]] = {}
    for row in truth_rows:
        mine = got.get(row["external_id"])
        if mine is None:
            continue
        expect = {"title": " ".join(row["title"].split())[:title_limit].strip(),
                  "brand": row["brand"], "model": row["model"],
                  "price": Decimal(row["price"]), "currency": row["currency"],
                  "seller_id": row["seller_id"], "seller_name": row["seller_name"]}
        for key, value in expect.items():
            if mine[key] != value:
                bad.setdefault(key, []).append((row["external_id"], mine[key], value))
    return bad
