"""Importers: real field names parsed, imports atomic and idempotent, bad files named by line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sampler.risk.importers import import_file
from store.db import Database
from store.errors import InvalidInput
from store.models import ForeignNotice, Listing, Platform, RiskSignal, Seller
from tests.risk.conftest import data_file


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_cpsc_fields(sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        result = import_file(s, data_file("cpsc_recalls.json"), "cpsc")
    assert (result.read, result.added) == (2, 2)
    with sqlite_db.session() as s:
        n = s.scalar(select(ForeignNotice).where(ForeignNotice.reference == "24-123"))
        assert n is not None
        assert n.source == "cpsc" and n.brand == "Voltaris Inc."
        assert n.models == ["VO-M5521", "VO-M5522"]
        assert n.published is not None and n.published.isoformat() == "2024-05-02"
        assert n.product == "Voltaris Magnetic Power Bank"
        assert "overheat" in (n.hazard or "") and n.country == "China"
        assert n.raw["derived"]["UPCs"] == ["012345678905"]
        assert n.raw["derived"]["RemedyNames"] == ["Refund"]
        assert n.raw["Remedies"] == [{"Name": "Refund"}]  # the record as the API wrote it
        assert n.gtins == ["00012345678905"]  # a valid UPC-A is a matching key


def test_safety_gate_fields_and_nil(sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        import_file(s, data_file("safety_gate_week.xml"), "safety-gate")
    with sqlite_db.session() as s:
        rows = {n.reference: n for n in s.scalars(select(ForeignNotice))}
    blocks, dryer = rows["A12/00310/26"], rows["A12/00311/26"]
    assert blocks.brand == "Tongle" and blocks.models == ["TO-K4410"]
    assert blocks.published is not None and blocks.published.isoformat() == "2026-03-06"
    assert "Choking" in (blocks.hazard or "") and blocks.country == "China"
    assert "batchNumber" not in blocks.raw  # xsi:nil is missing, not the text ""
    assert dryer.brand is None and dryer.models == ["HD-2200"]


@pytest.mark.parametrize("name,fmt,expected", [
    ("cpsc_recalls.json", "cpsc", 2), ("safety_gate_week.xml", "safety-gate", 2),
    ("reports.csv", "reports", 1), ("notices.csv", "csv", 1), ("complaints.csv", "complaints", 3),
    ("safety_gate_weekly_report.xml", "safety-gate", 2), ("safety_gate_alerts.json", "safety-gate", 1),
    ("health_canada_recalls.json", "health-canada", 2),
    ("spot_check_results_gbk.csv", "spot-check", 3),
])
def test_import_twice_adds_nothing(any_db: Database, name: str, fmt: str, expected: int) -> None:
    model = RiskSignal if fmt in ("complaints", "spot-check") else ForeignNotice
    with any_db.session() as s:
        first = import_file(s, data_file(name), fmt)
    with any_db.session() as s:
        second = import_file(s, data_file(name), fmt)
    assert first.added == expected
    assert second.added == 0 and second.unchanged == expected
    assert _count(any_db, model) == expected


def test_bad_record_imports_nothing(sqlite_db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "recalls.json"
    bad.write_text('[\n  {"RecallNumber": "25-001", "RecallDate": "2025-01-02"},\n'
                   '  {"RecallNumber": "25-002", "RecallDate": "not a date"},\n'
                   '  {"Title": "no number"}\n]\n', "utf-8")
    with pytest.raises(InvalidInput) as err, sqlite_db.session() as s:
        import_file(s, bad, "cpsc")
    message = str(err.value)
    assert "line 3" in message and "RecallDate" in message
    assert "line 4" in message and "RecallNumber" in message
    assert _count(sqlite_db, ForeignNotice) == 0  # the good first record is not kept either


def test_json_syntax_error_names_line(sqlite_db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "recalls.json"
    bad.write_text('[\n {"RecallNumber": "25-001"},\n {"RecallNumber": 25-002"}\n]', "utf-8")
    with pytest.raises(InvalidInput, match="line 3"), sqlite_db.session() as s:
        import_file(s, bad, "cpsc")


def test_xml_entities_refused(sqlite_db: Database, tmp_path: Path) -> None:
    evil = tmp_path / "evil.xml"
    evil.write_text('<?xml version="1.0"?>\n<!DOCTYPE n [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                    "<notifications><notification><reference>&x;</reference>"
                    "</notification></notifications>", "utf-8")
    with pytest.raises(InvalidInput, match="DOCTYPE"), sqlite_db.session() as s:
        import_file(s, evil, "safety-gate")
    broken = tmp_path / "broken.xml"
    broken.write_text("<notifications>\n<notification>\n<reference>A1</reference>\n"
                      "</notifications>", "utf-8")
    with pytest.raises(InvalidInput, match="line 4"), sqlite_db.session() as s:
        import_file(s, broken, "safety-gate")
    assert _count(sqlite_db, ForeignNotice) == 0


def test_csv_errors_line_numbered(sqlite_db: Database, tmp_path: Path) -> None:
    bad = tmp_path / "reports.csv"
    bad.write_text("date,enterprise,brand,product,model,kind\n"
                   "2026-01-01,A Co,A,Kettle,K-1001,recall\n"
                   "2026-13-45,B Co,B,Toaster,T-2002,recall\n"
                   "2026-01-03,C Co,C,Iron,I-3003,praise\n", "utf-8")
    with pytest.raises(InvalidInput) as err, sqlite_db.session() as s:
        import_file(s, bad, "reports")
    assert "line 3" in str(err.value) and "line 4" in str(err.value)
    missing = tmp_path / "notices.csv"
    missing.write_text("brand,product\nX,Y\n", "utf-8")
    with pytest.raises(InvalidInput, match="line 1: missing column"), sqlite_db.session() as s:
        import_file(s, missing, "csv")
    assert _count(sqlite_db, ForeignNotice) == 0


def test_gb18030_chinese_headers(sqlite_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "投诉.csv"
    path.write_bytes("日期,平台,店铺,商品,投诉类型\n2026-02-01,mall,深圳优选店,充电宝,质量\n"
                     .encode("gb18030"))
    with sqlite_db.session() as s:
        result = import_file(s, path, "complaints")
    assert result.added == 1
    with sqlite_db.session() as s:
        sig = s.scalar(select(RiskSignal))
        assert sig is not None and sig.detail["product"] == "充电宝"


def test_complaint_linked_by_url(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.session() as s:
        p = Platform(code="mall", name="Mall")
        s.add(p)
        s.flush()
        seller = Seller(platform_id=p.id, external_id="100001", name="Shenzhen Global Store")
        s.add(seller)
        s.flush()
        s.add(Listing(platform_id=p.id, external_id="1", url="https://mall.example/item/1",
                      seller_id=seller.id))
    shutil.copy(data_file("complaints.csv"), tmp_path / "c.csv")
    with sqlite_db.session() as s:
        result = import_file(s, tmp_path / "c.csv", "complaints")
    assert result.unlinked == 1  # the third row names only a product
    with sqlite_db.session() as s:
        rows = s.scalars(select(RiskSignal).order_by(RiskSignal.observed_at)).all()
        assert rows[0].listing_id is not None and rows[0].seller_id == seller.id
        assert rows[1].listing_id is None and rows[1].seller_id == seller.id


def test_complaint_linked_by_product_text(sqlite_db: Database, tmp_path: Path) -> None:
    """A complaint naming only a product links to the one listing whose title matches it
    clearly; an ambiguous or unknown product links to no listing."""
    with sqlite_db.session() as s:
        mall, shop = Platform(code="mall", name="Mall"), Platform(code="shop", name="Shop")
        s.add_all([mall, shop])
        s.flush()
        seller = Seller(platform_id=mall.id, external_id="S1", name="童乐旗舰店")
        s.add(seller)
        s.flush()
        for i, (platform, title) in enumerate([
                (mall, "Tongle Building Blocks 120 pcs, kids"),
                (mall, "Voltaris power bank 20000mAh"),
                (mall, "儿童保温杯 316不锈钢 500ml"),
                (shop, "Nordvik kettle 1.7L stainless"),
                (shop, "Nordvik kettle 1.5L glass")]):
            s.add(Listing(platform_id=platform.id, external_id=f"L{i}", url=f"http://x/{i}",
                          title=title, seller_id=seller.id if platform is mall else None))
    path = tmp_path / "c.csv"
    path.write_text(
        "date,platform,seller,listing_url,product,kind\n"
        "2026-02-01,,,,Tongle blocks,safety\n"          # unique on every platform
        "2026-02-02,mall,童乐旗舰店,,保温杯,quality\n"  # Chinese, within the seller
        "2026-02-03,shop,,,Nordvik kettle,quality\n"    # two kettles: ambiguous
        "2026-02-04,,,,Acme toaster,quality\n",         # nothing like it
        "utf-8")
    with sqlite_db.session() as s:
        result = import_file(s, path, "complaints")
    assert result.added == 4 and result.unlinked == 2
    with sqlite_db.session() as s:
        rows = s.scalars(select(RiskSignal).order_by(RiskSignal.observed_at)).all()
        titles = {x.id: x.title for x in s.scalars(select(Listing))}
        linked = [titles.get(r.listing_id) if r.listing_id else None for r in rows]
        assert linked == ["Tongle Building Blocks 120 pcs, kids", "儿童保温杯 316不锈钢 500ml",
                          None, None]
        assert rows[0].detail["linked_by"] == "product" and rows[0].detail["link_score"] >= 0.85
        assert rows[0].seller_id == seller.id  # the listing's seller counts it too
        assert rows[2].platform_id is not None and "link_score" not in rows[2].detail
    with sqlite_db.session() as s:  # idempotent: importing twice adds nothing
        again = import_file(s, path, "complaints")
    assert again.added == 0 and again.unchanged == 4


def test_unknown_format_and_missing_file(sqlite_db: Database) -> None:
    from store.errors import NotFound

    with pytest.raises(InvalidInput, match="unknown format"), sqlite_db.session() as s:
        import_file(s, data_file("notices.csv"), "rapex")
    with pytest.raises(NotFound), sqlite_db.session() as s:
        import_file(s, data_file("absent.json"), "cpsc")
