"""Spreadsheets bureaus exchange: spot-check result tables (GBK CSV, XLSX), platform
submissions, mapping files; unknown and missing columns and bad rows named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from sampler.risk.importers import import_file
from store.db import Database
from store.errors import InvalidInput
from store.models import RiskSignal
from tests import factory
from tests.risk.conftest import data_file

HEADER = ["序号", "产品名称", "商标/品牌", "规格型号", "生产日期/批号", "标称生产者",
          "被抽样单位/销售者", "电商平台", "抽查结果", "不合格项目", "检验机构"]


def _signals(db: Database) -> list[RiskSignal]:
    with db.session() as s:
        return list(s.scalars(select(RiskSignal).order_by(RiskSignal.id)))


def _seller(db: Database) -> int:
    with db.session() as s:
        p = factory.platform(s, "mall")
        return factory.seller(s, p.id, "s1", name="深圳优选家居店").id


def test_gbk_spot_check_table_every_field_kept(sqlite_db: Database) -> None:
    seller_id = _seller(sqlite_db)
    path = data_file("spot_check_results_gbk.csv")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # really GBK, as Excel on Chinese Windows saves it
    with sqlite_db.session() as s:
        first = import_file(s, path, "spot-check")
    with sqlite_db.session() as s:
        again = import_file(s, path, "spot-check")
    assert (first.added, again.added, again.unchanged) == (3, 0, 3)
    kettle, blocks, bank = _signals(sqlite_db)
    assert [sig.value for sig in (kettle, blocks, bank)] == [1.0, 0.0, 1.0]
    assert kettle.kind == "spot_check" and kettle.brand == "沃特瑞斯"
    assert kettle.detail | {"line": 0} == {
        "product": "电热水壶", "brand": "沃特瑞斯", "model": "VO-K1701", "batch": "2026-08-12",
        "producer": "深圳市沃特瑞斯电器有限公司", "seller": "深圳优选家居店", "platform": "mall",
        "result": "不合格", "failed_items": "输入功率和电流;发热",
        "lab": "广东产品质量监督检验研究院", "failed": True, "line": 0,
        "linked_by": "seller"}
    assert kettle.detail["line"] == 2 and bank.detail["line"] == 4
    assert kettle.seller_id == seller_id and blocks.detail["batch"] == "2026-07-03/L-88"


def test_xlsx_spot_check_table(sqlite_db: Database, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["国家监督抽查结果（2026年第3批）"])  # a title row above the table
    sheet.append([*HEADER[1:], "抽样日期"])
    sheet.append(["电热水壶", "沃特瑞斯", "VO-K1701", "2026-08-12", "沃特瑞斯电器", "优选家居店",
                  "mall", "不合格", "发热", "广东质检院", dt.datetime(2026, 9, 1)])
    sheet.append(["积木", "Tongle", 4410, "L-88", "通乐玩具", "通乐旗舰店", "mall", "合格", None,
                  "广东质检院", dt.datetime(2026, 9, 2)])
    path = tmp_path / "抽查结果.xlsx"
    book.save(path)
    with pytest.raises(InvalidInput, match=r"line 1: unknown column '国家监督抽查结果"), \
            sqlite_db.session() as s:
        import_file(s, path, "spot-check")
    sheet.delete_rows(1)
    book.save(path)
    with sqlite_db.session() as s:
        result = import_file(s, path, "spot-check")
    assert result.added == 2
    kettle, blocks = _signals(sqlite_db)
    assert kettle.observed_at.date() == dt.date(2026, 9, 1) and kettle.value == 1.0
    assert blocks.detail["model"] == "4410" and blocks.detail["line"] == 3


def test_columns_and_rows_named(sqlite_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("产品名称,抽查结果,检验员\n水壶,不合格\n", "utf-8")
    with pytest.raises(InvalidInput, match=r"unknown column '检验员'"), sqlite_db.session() as s:
        import_file(s, path, "spot-check")
    path.write_text("产品名称,检验机构\n水壶,某院\n", "utf-8")
    with pytest.raises(InvalidInput, match=r"missing column result \(accepted headers: result / "
                                           r"抽查结果"), sqlite_db.session() as s:
        import_file(s, path, "spot-check")
    path.write_text("产品名称,抽查结果\n水壶,不合格\n杯子,待定\n,合格\n", "utf-8-sig")
    with pytest.raises(InvalidInput) as err, sqlite_db.session() as s:
        import_file(s, path, "spot-check")
    assert "line 3: 抽查结果/result '待定'" in str(err.value)
    assert "line 4: 产品名称/product is empty" in str(err.value)
    assert _signals(sqlite_db) == []


def test_own_mapping_file(sqlite_db: Database, tmp_path: Path) -> None:
    mapping = tmp_path / "lab-x.toml"
    mapping.write_text('kind = "spot-check"\nrequired = ["product", "result"]\n'
                       'fail_values = ["N"]\npass_values = ["Y"]\n[columns]\n'
                       'product = ["Item"]\nresult = ["OK?"]\nlab = ["Lab"]\n', "utf-8")
    path = tmp_path / "x.csv"
    path.write_text("Item,OK?,Lab\nKettle,N,Lab X\nCup,Y,Lab X\n", "utf-8")
    with pytest.raises(InvalidInput, match="unknown column 'Item'"), sqlite_db.session() as s:
        import_file(s, path, "spot-check")
    with sqlite_db.session() as s:
        result = import_file(s, path, "spot-check", mapping=mapping)
    assert result.added == 2 and [x.value for x in _signals(sqlite_db)] == [1.0, 0.0]
    with pytest.raises(InvalidInput, match="is for spot-check, not complaints"), \
            sqlite_db.session() as s:
        import_file(s, path, "complaints", mapping=mapping)


def test_wrong_kind_spreadsheets(sqlite_db: Database) -> None:
    with pytest.raises(InvalidInput, match=r"looks like spot-check results.*--format spot-check"), \
            sqlite_db.session() as s:
        import_file(s, data_file("spot_check_results_gbk.csv"), "complaints")
    with pytest.raises(InvalidInput, match="looks like consumer complaints"), \
            sqlite_db.session() as s:
        import_file(s, data_file("complaints.csv"), "spot-check")


def test_platform_sellers_submission(sqlite_db: Database, tmp_path: Path) -> None:
    seller_id = _seller(sqlite_db)
    path = tmp_path / "sellers.csv"
    path.write_bytes("平台,店铺名称,企业名称,备案号,统一社会信用代码\n"
                     "mall,深圳优选家居店,深圳优选贸易有限公司,GD-2026-00017,"
                     "91440300MA5F000000\n".encode("gb18030"))
    with sqlite_db.session() as s:
        result = import_file(s, path, "platform-sellers")
        n = int(s.scalar(select(func.count()).select_from(RiskSignal)) or 0)
    assert result.added == 1 and n == 1
    (sig,) = _signals(sqlite_db)
    assert sig.kind == "platform_seller" and sig.seller_id == seller_id and sig.value == 0
    assert sig.detail["filing_number"] == "GD-2026-00017"
    assert sig.detail["licence_number"] == "91440300MA5F000000"
