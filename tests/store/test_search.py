"""Listing text search (store.search) gives what a substring match gives, stays in step with
inserts, updates, deletes and seller renames, and is answered from the search structures."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from store import models as m
from store.db import Database
from store.search import listing_text_condition
from tests import factory
from tests.conftest import need

TITLES = [
    "儿童保温杯316不锈钢 Kids Bottle",
    "婴儿连体衣 纯棉 100% cotton",
    "USB-C 充电器 65W",
    "LED 台灯 护眼",
    'Silk scarf "limited" 真丝围巾',
    "毛绒玩具 under_score 熊",
    "保温杯 便携",
]
SELLERS = ["环球优品旗舰店", "Baby Care Store", "深圳电子"]


def _load(db: Database) -> None:
    with db.session() as s:
        p = factory.platform(s, "mall")
        sellers = [factory.seller(s, p.id, f"S{i}", name=n) for i, n in enumerate(SELLERS)]
        for i, title in enumerate(TITLES):
            factory.listing(s, p.id, f"EXT-{i:04d}", url=f"http://x/{i}", title=title,
                            brand="ACME" if i % 2 else None, model=f"M-{i}",
                            seller_id=sellers[i % len(sellers)].id, risk_score=i / 10)


def _found(db: Database, q: str) -> set[int]:
    with db.session() as s:
        return set(s.scalars(select(m.Listing.id).where(listing_text_condition(s, q))))


def _expected(db: Database, q: str) -> set[int]:
    """The definition: case-insensitive substring of title, brand, model, id or seller name."""
    needle = q.strip().lower()
    with db.session() as s:
        rows = s.execute(select(m.Listing.id, m.Listing.title, m.Listing.brand, m.Listing.model,
                                m.Listing.external_id, m.Seller.name)
                         .outerjoin(m.Seller, m.Seller.id == m.Listing.seller_id)).all()
    return {r[0] for r in rows if any(needle in (v or "").lower() for v in r[1:])}


QUERIES = ["保温杯", "保温", "台", "kids bottle", "KIDS", "100%", "under_score", "_", "%",
           '"limited"', "EXT-0003", "旗舰店", "baby care", "acm", "  充电器  ", "no such thing",
           "65w", "\\"]


@pytest.mark.parametrize("q", QUERIES)
def test_search_is_a_substring_match(sqlite_db: Database, q: str) -> None:
    _load(sqlite_db)
    assert _found(sqlite_db, q) == _expected(sqlite_db, q)


@pytest.mark.postgres
def test_search_is_a_substring_match_postgres(pg_db: Database) -> None:
    _load(pg_db)
    for q in QUERIES:
        assert _found(pg_db, q) == _expected(pg_db, q), q


def test_search_follows_changes(any_db: Database) -> None:
    _load(any_db)
    assert len(_found(any_db, "保温杯")) == 2
    with any_db.session() as s:
        first = s.scalars(select(m.Listing).where(m.Listing.external_id == "EXT-0000")).one()
        first.title = "儿童水杯"
        s.flush()
        last = s.scalars(select(m.Listing).where(m.Listing.external_id == "EXT-0006")).one()
        s.delete(last)
        s.add(m.Listing(platform_id=first.platform_id, external_id="NEW", url="http://x/n",
                        title="新款保温杯"))
        seller = s.scalars(select(m.Seller).where(m.Seller.name == "深圳电子")).one()
        seller.name = "东莞五金"
        first.risk_score = 0.99  # a column outside the index: nothing to re-index
    assert _titles(any_db, _found(any_db, "保温杯")) == {"新款保温杯"}
    assert _titles(any_db, _found(any_db, "儿童水杯")) == {"儿童水杯"}
    assert _found(any_db, "深圳电子") == set()
    assert _found(any_db, "东莞五金") == _expected(any_db, "东莞五金") != set()
    for q in QUERIES:
        assert _found(any_db, q) == _expected(any_db, q), q


def _titles(db: Database, ids: set[int]) -> set[str]:
    with db.session() as s:
        return set(s.scalars(select(m.Listing.title).where(m.Listing.id.in_(ids))))


def test_sqlite_plans_use_the_indexes(sqlite_db: Database) -> None:
    """Text search reads the FTS tables; the risk order reads an index, not a sort."""
    _load(sqlite_db)
    with sqlite_db.session() as s:
        stmt = (select(m.Listing.id).where(listing_text_condition(s, "保温杯"))
                .join(m.ListingRisk, m.ListingRisk.listing_id == m.Listing.id)
                .order_by(*m.RISK_ORDER).limit(50))
        compiled = stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True})
        plan = " | ".join(str(r[-1]) for r in s.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "VIRTUAL TABLE INDEX" in plan and "listing_fts" in plan, plan
        by_risk = (select(m.Listing.id, m.Listing.title, m.Platform.code)
                   .join(m.Platform, m.Platform.id == m.Listing.platform_id)
                   .outerjoin(m.Seller, m.Seller.id == m.Listing.seller_id)
                   .join(m.ListingRisk, m.ListingRisk.listing_id == m.Listing.id)
                   .order_by(*m.RISK_ORDER)
                   .limit(50).compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
        plan = " | ".join(str(r[-1]) for r in s.execute(text(f"EXPLAIN QUERY PLAN {by_risk}")))
        assert "ix_listing_risk_score" in plan and "TEMP B-TREE" not in plan, plan


@pytest.mark.postgres
def test_postgres_trigram_indexes(pg_db: Database) -> None:
    """With pg_trgm installed, ILIKE search can be answered by the GIN trigram index."""
    _load(pg_db)
    with pg_db.engine.begin() as conn:
        names = set(conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")).scalars())
        assert "ix_listing_risk_score" in names
        has_trgm = conn.execute(text(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar() is not None
        need(has_trgm, "pg_trgm is not installed here: the search runs as plain ILIKE")
        assert {"ix_listing_trgm", "ix_seller_name_trgm"} <= names
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(conn.execute(text(
            "EXPLAIN SELECT id FROM listing WHERE title ILIKE '%保温杯%'")).scalars())
        assert "ix_listing_trgm" in plan, plan
