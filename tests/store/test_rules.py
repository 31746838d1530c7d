"""Rules the store owns: one PRN formula, the approved-plan guard, one artifact layout."""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
import sys

import pytest
from sqlalchemy import DateTime, bindparam, select, text

from store import models as m
from store.artifacts import ArtifactStore
from store.db import Database, downgrade, upgrade
from store.errors import Conflict, NotFound, VerificationFailed
from store.prn import permanent_random_number
from tests import factory


def test_prn_is_uniform_and_fixed_by_identity() -> None:
    prns = [permanent_random_number("mall", str(i)) for i in range(4000)]
    assert all(0.0 < x < 1.0 for x in prns)
    assert abs(sum(prns) / len(prns) - 0.5) < 0.02
    assert permanent_random_number("mall", "7") == prns[7]
    assert permanent_random_number("shop", "7") != prns[7]


def test_listing_stored_through_the_orm_gets_the_one_rule(sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        p = factory.platform(s)
        s.add(m.Listing(platform_id=p.id, external_id="A1", url="http://x/1"))
        s.add(m.Listing(platform=p, external_id="A2", url="http://x/2", prn=0.25))
    with sqlite_db.session() as s:
        got = dict(s.execute(select(m.Listing.external_id, m.Listing.prn)).all())
    assert got == {"A1": permanent_random_number("mall", "A1"), "A2": 0.25}


def test_migration_fills_missing_prns_and_records_legacy_ones(sqlite_db: Database) -> None:
    engine = sqlite_db.engine
    with sqlite_db.session() as s:
        pid = factory.platform(s).id
    downgrade(engine, "0004")
    at = dt.datetime(2026, 5, 1, 8, 0, tzinfo=dt.UTC)
    old = (int.from_bytes(hashlib.sha256(f"prn:{pid}:L1".encode()).digest()[:8], "big")
           + 0.5) / 2.0**64  # the sampler's former formula
    rows = {"L0": None, "L1": old, "L2": permanent_random_number("mall", "L2")}
    with engine.begin() as c:
        for x, prn in rows.items():
            c.execute(text(
                "INSERT INTO listing (platform_id, external_id, url, title, sector,"
                " supervision_class, class_reasons, cert_marks, image_urls, raw, content_hash,"
                " status, first_seen, last_seen, prn)"
                " VALUES (:p, :x, 'u', 't', 'textiles', 'general', '[]', '[]', '[]', '{}', '',"
                " 'active', :at, :at, :prn)")
                .bindparams(bindparam("at", type_=DateTime(timezone=True))),
                {"p": pid, "x": x, "at": at, "prn": prn})
    upgrade(engine)
    with sqlite_db.session() as s:
        got = dict(s.execute(select(m.Listing.external_id, m.Listing.prn)).all())
        legacy = s.scalars(select(m.ListingPrnLegacy)).all()
        ids = dict(s.execute(select(m.Listing.external_id, m.Listing.id)).all())
    # A number past plans were coordinated on is kept; the difference is on record.
    assert got == {"L0": permanent_random_number("mall", "L0"), "L1": old, "L2": rows["L2"]}
    assert [(r.listing_id, r.prn, r.canonical_prn) for r in legacy] == [
        (ids["L1"], old, permanent_random_number("mall", "L1"))]


def _approved_plan(db: Database) -> int:
    with db.session() as s:
        p = factory.platform(s)
        factory.listing(s, p.id, "1", url="http://x/1")
        campaign = factory.campaign(s, "c")
        return factory.plan(s, campaign.id, [], frame_size=1, sample_size=1).id


def test_approved_plan_guard_holds_without_the_sampler(sqlite_db: Database) -> None:
    plan_id = _approved_plan(sqlite_db)
    with pytest.raises(Conflict), sqlite_db.session() as s:
        plan = s.get(m.Plan, plan_id)
        assert plan is not None
        plan.seed = 2
    with pytest.raises(Conflict), sqlite_db.session() as s:
        s.delete(s.get(m.Plan, plan_id))
    # Registered by store.db itself, not by importing a domain package.
    code = ("import sys, store.db; from sqlalchemy import event; from sqlalchemy.orm import "
            "Session; from store.guards import guard_approved_plans as g; "
            "assert event.contains(Session, 'before_flush', g); "
            "assert not [n for n in sys.modules if n.split('.')[0] in "
            "('sampler', 'crawlers', 'evidence', 'scheduler', 'spotcheck')], sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_artifact_store_is_content_addressed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = ArtifactStore(tmp_path)
    stored = store.put(b"frame")
    assert stored.path == tmp_path / stored.sha256[:2] / stored.sha256
    assert store.put(b"frame").new is False
    assert store.read(stored.sha256) == b"frame"
    assert store.find(stored.sha256) == stored.path and store.find("zz") is None
    stored.path.chmod(0o644)
    stored.path.write_bytes(b"other")
    with pytest.raises(VerificationFailed):
        store.read(stored.sha256)
    with pytest.raises(NotFound):
        store.read("0" * 64)
