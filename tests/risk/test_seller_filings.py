"""Platforms' data submissions update the sellers they name: filing and licence numbers written
onto Seller, so 'unfiled seller' counts what the platform reported; changes recorded, newest
submission wins, placeholders never clear a number, bad rows refuse the whole file."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from crawlers.crawl_runs import CrawlRuns
from crawlers.items import ListingItem, SellerItem
from crawlers.store_writer import ListingWriter
from sampler.risk.explain import explanation
from sampler.risk.importers import import_file
from sampler.risk.scoring import score_listings
from store.db import Database
from store.errors import InvalidInput
from store.models import AuditEvent, Listing, RiskSignal, Seller
from store.settings import Settings
from tests import factory

HEADER = "平台,店铺名称,企业名称,备案号,统一社会信用代码,报送日期\n"


def _shop(db: Database) -> tuple[int, int]:
    with db.session() as s:
        p = factory.platform(s, "mall")
        seller = factory.seller(s, p.id, "s1", name="深圳优选家居店")
        listing = factory.listing(s, p.id, "k1", seller_id=seller.id,
                                  url="https://mall.example/k1", title="电热水壶 1.7L", brand="优选")
        return seller.id, listing.id


def _numbers(db: Database, seller_id: int) -> tuple[str | None, str | None]:
    with db.session() as s:
        seller = s.get(Seller, seller_id)
        assert seller is not None
        return seller.filing_number, seller.licence_number


def _csv(tmp_path: Path, name: str, *rows: str) -> Path:
    path = tmp_path / name
    path.write_bytes((HEADER + "".join(r + "\n" for r in rows)).encode("gb18030"))
    return path


def _reason_codes(db: Database, listing_id: int) -> set[str]:
    with db.session() as s:
        score_listings(s)
    with db.session() as s:
        return {r["code"] for r in explanation(s, listing_id)["reasons"]}


def test_submission_files_the_seller_and_the_factor_follows(sqlite_db: Database,
                                                            tmp_path: Path) -> None:
    seller_id, listing_id = _shop(sqlite_db)
    assert "unfiled_seller" in _reason_codes(sqlite_db, listing_id)
    path = _csv(tmp_path, "sellers.csv", "mall,深圳优选家居店,深圳优选贸易有限公司,GD-2026-00017,"
                "91440300MA5F000000,2026-11-02")
    with sqlite_db.session() as s:
        result = import_file(s, path, "platform-sellers")
    assert (result.added, result.sellers_updated) == (1, 1)
    assert result.as_dict()["filing_changes"] == [
        {"line": 2, "seller_id": seller_id, "field": "filing_number", "before": None,
         "after": "GD-2026-00017"},
        {"line": 2, "seller_id": seller_id, "field": "licence_number", "before": None,
         "after": "91440300MA5F000000"}]
    assert _numbers(sqlite_db, seller_id) == ("GD-2026-00017", "91440300MA5F000000")
    assert "unfiled_seller" not in _reason_codes(sqlite_db, listing_id)
    with sqlite_db.session() as s:  # the same file again: nothing changes
        again = import_file(s, path, "platform-sellers")
    assert (again.added, again.unchanged, again.sellers_updated) == (0, 1, 0)


def test_newest_submission_wins_and_changes_are_recorded(sqlite_db: Database,
                                                         tmp_path: Path) -> None:
    seller_id, _ = _shop(sqlite_db)
    with sqlite_db.session() as s:  # the shop page showed a number of its own
        seller = s.get(Seller, seller_id)
        assert seller is not None
        seller.filing_number = "GD-2025-99999"
    november = _csv(tmp_path, "nov.csv", "mall,深圳优选家居店,优选贸易,GD-2026-00017,,2026-11-02")
    october = _csv(tmp_path, "oct.csv", "mall,深圳优选家居店,优选贸易,GD-2026-00003,,2026-10-05")
    with sqlite_db.session() as s:
        first = import_file(s, november, "platform-sellers")
    assert first.filing_changes == [{"line": 2, "seller_id": seller_id, "field": "filing_number",
                                     "before": "GD-2025-99999", "after": "GD-2026-00017"}]
    with sqlite_db.session() as s:  # an older submission imported later does not go back
        late = import_file(s, october, "platform-sellers")
    assert (late.added, late.sellers_updated, late.filing_changes) == (1, 0, [])
    assert _numbers(sqlite_db, seller_id) == ("GD-2026-00017", None)
    with sqlite_db.session() as s:
        sig = s.scalars(select(RiskSignal).order_by(RiskSignal.id.desc())).first()
        assert sig is not None and sig.detail["seller_update"]["older"] == ["filing_number"]


def test_placeholders_never_clear_and_one_file_newest_row_wins(sqlite_db: Database,
                                                               tmp_path: Path) -> None:
    seller_id, _ = _shop(sqlite_db)
    path = _csv(tmp_path, "two.csv",
                "mall,深圳优选家居店,优选贸易,GD-2026-00017,91440300MA5F000000,2026-11-02",
                "mall,深圳优选家居店,优选贸易,GD-2026-00001,,2026-09-01",
                "mall,深圳优选家居店,优选贸易,无,-,2026-12-01")
    with sqlite_db.session() as s:
        result = import_file(s, path, "platform-sellers")
    assert result.added == 3 and result.sellers_updated == 1
    assert _numbers(sqlite_db, seller_id) == ("GD-2026-00017", "91440300MA5F000000")


def test_listing_submission_files_the_listings_seller(sqlite_db: Database,
                                                      tmp_path: Path) -> None:
    seller_id, _ = _shop(sqlite_db)
    path = tmp_path / "listings.csv"
    path.write_text("平台,商品链接,商品名称,店铺名称,备案号\n"
                    "mall,https://mall.example/k1?spm=1,电热水壶 1.7L,,GD-2026-00042\n", "utf-8")
    with sqlite_db.session() as s:
        result = import_file(s, path, "platform-listings")
    assert result.sellers_updated == 1
    assert _numbers(sqlite_db, seller_id) == ("GD-2026-00042", None)


def test_unlinked_and_bad_rows(sqlite_db: Database, tmp_path: Path) -> None:
    seller_id, _ = _shop(sqlite_db)
    unknown = _csv(tmp_path, "unknown.csv", "mall,另一家店,某公司,GD-2026-00077,,2026-11-02")
    with sqlite_db.session() as s:
        result = import_file(s, unknown, "platform-sellers")
    assert (result.added, result.unlinked, result.sellers_updated) == (1, 1, 0)
    too_long = _csv(tmp_path, "long.csv",
                    "mall,深圳优选家居店,优选贸易,GD-2026-00017,,2026-11-02",
                    "mall,深圳优选家居店,优选贸易," + "9" * 65 + ",,2026-11-03")
    with pytest.raises(InvalidInput, match="line 3: filing_number is 65 characters"), \
            sqlite_db.session() as s:
        import_file(s, too_long, "platform-sellers")
    assert _numbers(sqlite_db, seller_id) == (None, None)  # nothing of the file applied


def _crawl(db: Database, settings: Settings) -> None:
    """The crawler's store writer writing the shop (no number on its page) and one listing."""
    run_id, _ = CrawlRuns(db).open("mall", full=True, job_key=None)
    w = ListingWriter(db, "mall", run_id, settings, batch_size=10)
    w.add_seller(SellerItem("mall", "s1", "深圳优选家居店"))
    w.add_listing(ListingItem(platform="mall", external_id="k1", url="https://mall.example/k1",
                              title="电热水壶 1.7L", brand="优选", price=Decimal("59.00"),
                              currency="CNY", seller_external_id="s1",
                              seller_name="深圳优选家居店"))
    w.flush()
    w.close()


def _state(db: Database) -> dict[str, object]:
    with db.session() as s:
        seller = s.scalar(select(Seller).where(Seller.external_id == "s1"))
        assert seller is not None
        sigs = list(s.scalars(select(RiskSignal).order_by(RiskSignal.id)))
        return {"numbers": (seller.filing_number, seller.licence_number),
                "signals": [(sig.seller_id == seller.id, "pending" in sig.detail,
                             (sig.detail.get("seller_update") or {}).get("fields"))
                            for sig in sigs]}


@pytest.mark.parametrize("via", ["seller", "url"])
def test_submission_before_the_crawl_files_the_seller_when_it_appears(
        any_db: Database, settings: Settings, tmp_path: Path, via: str) -> None:
    """Submission then crawl, and crawl then submission, leave the seller in the same state;
    the pending row is kept (persisted) until the crawl, then applied and audited."""
    from crawlers.platforms import add_platform

    # each file also names a shop never crawled: that row stays pending throughout
    if via == "seller":
        path = _csv(tmp_path, "sellers.csv",
                    "mall,深圳优选家居店,深圳优选贸易有限公司,GD-2026-00017,91440300MA5F000000,"
                    "2026-11-02", "mall,另一家店,某公司,GD-2026-00077,,2026-11-02")
        fmt = "platform-sellers"
    else:
        path = tmp_path / "listings.csv"
        path.write_text("平台,商品链接,商品名称,店铺名称,备案号\n"
                        "mall,https://mall.example/k1?spm=9,电热水壶 1.7L,,GD-2026-00017\n"
                        "mall,https://mall.example/zz,台灯,,GD-2026-00077\n", "utf-8")
        fmt = "platform-listings"
    with any_db.session() as s:
        add_platform(s, "mall", start_url="https://mall.example/", profile="structured-data")
    with any_db.session() as s:
        early = import_file(s, path, fmt)
    assert (early.added, early.pending, early.sellers_updated) == (2, 2, 0)
    with any_db.session() as s:  # kept, not lost: the rows wait without a seller
        sigs = list(s.scalars(select(RiskSignal)))
        assert [(x.seller_id, x.detail["pending"]) for x in sigs] == [(None, True)] * 2
    _crawl(any_db, settings)
    first_order = _state(any_db)
    assert first_order["numbers"] == ("GD-2026-00017",
                                      "91440300MA5F000000" if via == "seller" else None)
    assert first_order["signals"] == [(True, False, {
        "filing_number": {"before": None, "after": "GD-2026-00017"}} | ({
            "licence_number": {"before": None, "after": "91440300MA5F000000"}}
            if via == "seller" else {})), (False, True, None)]
    with any_db.session() as s:
        sig = s.scalar(select(RiskSignal).order_by(RiskSignal.id))
        assert sig is not None and sig.detail["linked_by"] == via
        assert sig.detail["resolved"]["by"].startswith("crawl run ")
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "seller.filing"))
        assert event is not None and event.object_id == str(sig.seller_id)
        assert event.detail["fields"]["filing_number"] == {"before": None,
                                                           "after": "GD-2026-00017"}
    _crawl(any_db, settings)  # crawled again: the page shows no number and clears nothing
    assert _state(any_db) == first_order

    # the other order, on a fresh database: crawl first, then the same submission
    with any_db.session() as s:
        for table in (RiskSignal, AuditEvent, Listing, Seller):
            s.execute(delete(table))
    _crawl(any_db, settings)
    with any_db.session() as s:
        late = import_file(s, path, fmt)
    assert (late.added, late.pending, late.sellers_updated) == (2, 1, 1)
    assert _state(any_db) == first_order
