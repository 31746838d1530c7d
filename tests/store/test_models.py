"""The data model round-trips on SQLite and PostgreSQL, and its constraints hold."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError

from store import models as m
from store.db import Database, current_revision, downgrade, head_revision, upgrade
from tests import factory


def test_listing_round_trip(any_db: Database) -> None:
    with any_db.session() as s:
        p = factory.platform(s)
        seller = m.Seller(platform_id=p.id, external_id="S1", name="环球优品旗舰店",
                          contacts={"phone": "+86 138 0000 0000"})
        s.add(seller)
        s.flush()
        s.add(m.Listing(platform_id=p.id, external_id="42", url="http://x/42",
                        title='"><img src=x onerror=alert(1)> 儿童电动牙刷 🪥',
                        brand="Philips", model="HX-1", price=Decimal("1299.00"),
                        currency="CNY", seller_id=seller.id, sector=m.Sector.ELECTRICAL,
                        supervision_class=m.SupervisionClass.KEY, cert_marks=["CCC"],
                        raw={"@type": "Product", "name": "x"}, prn=0.25))
    with any_db.session() as s:
        row = s.scalars(select(m.Listing)).one()
        assert row.title.startswith('"><img')
        assert row.price == Decimal("1299.00")
        assert row.sector is m.Sector.ELECTRICAL
        assert row.supervision_class is m.SupervisionClass.KEY
        assert row.cert_marks == ["CCC"]
        assert row.raw["@type"] == "Product"
        assert row.seller is not None and row.seller.name == "环球优品旗舰店"
        assert row.status is m.ListingStatus.ACTIVE
        assert row.first_seen.tzinfo is not None or any_db.dialect == "sqlite"


def test_one_listing_per_platform_and_external_id(any_db: Database) -> None:
    with any_db.session() as s:
        p = factory.platform(s)
        s.add(m.Listing(platform_id=p.id, external_id="1", url="http://x/1"))
        pid = p.id
    with pytest.raises(IntegrityError), any_db.session() as s:
        s.add(m.Listing(platform_id=pid, external_id="1", url="http://x/1?utm=1"))
    with any_db.session() as s:
        other = factory.platform(s, "shop")
        s.add(m.Listing(platform_id=other.id, external_id="1", url="http://y/1"))
    with any_db.session() as s:
        assert s.scalar(select(func.count()).select_from(m.Listing)) == 2


def test_idempotency_keys(any_db: Database) -> None:
    """A purchase retried with the same key, a notice imported twice: both refused."""
    with any_db.session() as s:
        p = factory.platform(s)
        listing = m.Listing(platform_id=p.id, external_id="1", url="http://x/1")
        camp = m.Campaign(name="2026H2 儿童用品")
        s.add_all([listing, camp])
        s.flush()
        plan = m.Plan(campaign_id=camp.id, version=1, seed=7, method="pareto",
                      frame_sha256="0" * 64, frame_size=1, sample_size=1)
        s.add(plan)
        s.flush()
        item = m.PlanItem(plan_id=plan.id, listing_id=listing.id, seq=1, stratum="mall|toys",
                          inclusion_probability=0.5)
        s.add(item)
        s.flush()
        s.add(m.Purchase(idempotency_key="plan1-item1", plan_item_id=item.id))
        s.add(m.ForeignNotice(source="cpsc", reference="24-123", title="Recall"))
        item_id = item.id
    with pytest.raises(IntegrityError), any_db.session() as s:
        s.add(m.Purchase(idempotency_key="plan1-item1", plan_item_id=item_id))
    with pytest.raises(IntegrityError), any_db.session() as s:
        s.add(m.ForeignNotice(source="cpsc", reference="24-123", title="Recall again"))
    with any_db.session() as s:
        assert s.scalar(select(func.count()).select_from(m.Purchase)) == 1


def test_invalid_enum_value_refused(any_db: Database) -> None:
    from sqlalchemy import text

    with any_db.session() as s:
        p = factory.platform(s)
        pid = p.id
    with pytest.raises(LookupError), any_db.session() as s:
        s.execute(text("INSERT INTO listing (platform_id, external_id, url, title, sector,"
                       " supervision_class, class_reasons, cert_marks, image_urls, raw,"
                       " content_hash, status, first_seen, last_seen)"
                       " VALUES (:p, 'x', 'u', 't', 'sector', 'general', '[]', '[]', '[]',"
                       " '{}', '', 'active', :now, :now)"),
                  {"p": pid, "now": dt.datetime.now(dt.UTC)})
        s.flush()
        # Reading the bad row back through the model must fail: enum validation.
        s.scalars(select(m.Listing)).all()


def test_case_with_measures_and_notifications(any_db: Database) -> None:
    with any_db.session() as s:
        p = factory.platform(s, jurisdiction_bureau="杭州海关")
        case = m.Case(number="C-2026-001", kind="counterfeit", title="仿冒品牌耳机",
                      platform_id=p.id, jurisdiction_bureau=p.jurisdiction_bureau)
        case.measures.append(m.Measure(kind=m.MeasureKind.TAKEDOWN, outcome="下架"))
        case.notifications.append(m.Notification(bureau=p.jurisdiction_bureau))
        s.add(case)
    with any_db.session() as s:
        case = s.scalars(select(m.Case)).one()
        assert [x.kind for x in case.measures] == [m.MeasureKind.TAKEDOWN]
        assert case.notifications[0].bureau == "杭州海关"


def test_migrations_down_and_up(any_db: Database) -> None:
    """Every revision downgrades to nothing and upgrades back to head."""
    engine = any_db.engine
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"listing", "listing_snapshot", "plan_item", "custody_event", "case"} <= tables
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert not set(inspect(engine).get_table_names()) & {t.name for t in
                                                         m.Base.metadata.sorted_tables}
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) >= tables - {"alembic_version"}


def test_migration_0004_carries_scores_over(any_db: Database) -> None:
    """Scores and reasons stored on listings before 0004 move to listing_risk, each distinct
    reason text stored once, and come back on a downgrade."""
    from sqlalchemy import DateTime, bindparam, text

    engine = any_db.engine
    with any_db.session() as s:
        p = factory.platform(s)
        pid = p.id
    downgrade(engine, "0003")
    reasons = '[{"code": "unfiled_seller", "points": 0.3, "en": "no filing", "zh": "未备案"}]'
    at = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    with engine.begin() as c:
        for i, (score, why) in enumerate([(0.8, reasons), (0.5, reasons), (None, "[]")]):
            c.execute(text(
                "INSERT INTO listing (platform_id, external_id, url, title, sector,"
                " supervision_class, class_reasons, cert_marks, image_urls, raw, content_hash,"
                " status, first_seen, last_seen, risk_score, risk_reasons, risk_scored_at)"
                " VALUES (:p, :x, 'u', 't', 'textiles', 'general', '[]', '[]', '[]', '{}', '',"
                " 'active', :at, :at, :score, :why, :scored)")
                .bindparams(bindparam("at", type_=DateTime(timezone=True)),
                            bindparam("scored", type_=DateTime(timezone=True))),
                {"p": pid, "x": f"L{i}", "at": at, "score": score, "why": why,
                 "scored": at if i < 2 else None})
    upgrade(engine)
    with any_db.session() as s:
        listings = {x.external_id: x for x in s.scalars(select(m.Listing))}
        assert listings["L0"].risk_score == 0.8 and listings["L1"].risk_score == 0.5
        assert listings["L0"].risk_reasons[0]["zh"] == "未备案"
        assert listings["L0"].risk_scored_at is not None
        assert listings["L0"].risk_scored_at.replace(tzinfo=dt.UTC) == at
        assert listings["L2"].risk is None and listings["L2"].risk_reasons == []
        assert s.scalar(select(func.count()).select_from(m.RiskReasonSet)) == 1
    downgrade(engine, "0003")
    with engine.connect() as c:
        back = dict(c.execute(text("SELECT external_id, risk_score FROM listing")).all())
    assert back == {"L0": 0.8, "L1": 0.5, "L2": None}
    upgrade(engine)


def test_schema_matches_models(any_db: Database) -> None:
    """Autogenerate finds nothing to do: the migrations describe exactly the models (but for
    the text search structures of store/search.py, which SQLAlchemy cannot describe)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from store.search import include_name

    with any_db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_name": include_name})
        diff = compare_metadata(ctx, m.Base.metadata)
    assert diff == []


def test_sqlite_uses_wal(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
