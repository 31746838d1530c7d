"""Safety Gate as published today: the weekly report, its index, the RAPEX layout, alerts JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from sampler.risk.importers import import_file
from sampler.risk.importers.base import Problems
from sampler.risk.importers.safety_gate import parse_index
from sampler.risk.importers.sg_fields import split_barcodes, split_measures, split_online
from store.db import Database
from store.errors import InvalidInput
from store.models import ForeignNotice, NoticeKey
from tests.risk.conftest import data_file


def _notices(db: Database) -> dict[str, ForeignNotice]:
    with db.session() as s:
        return {n.reference: n for n in s.scalars(select(ForeignNotice))}


def test_current_weekly_report_every_field(sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        result = import_file(s, data_file("safety_gate_weekly_report.xml"), "safety-gate")
    assert (result.read, result.added) == (2, 2)
    rows = _notices(sqlite_db)
    magnets, adaptor = rows["SR/03101/26"], rows["SR/03117/26"]
    assert magnets.published is not None and magnets.published.isoformat() == "2026-12-05"
    assert magnets.brand == "Tongle" and magnets.models == ["A2347", "JY-888"]
    assert magnets.url == ("https://ec.europa.eu/safety-gate-alerts/screen/webReport/"
                           "alertDetail/10201001")
    assert magnets.gtins == ["06901234567892"]  # "20241210" fails the GS1 check: not a key
    assert magnets.batches == ["20260412", "L-88"]
    assert magnets.risk_types == ["Injuries", "Choking"]
    assert magnets.online[0] | {"text": ""} == {"marketplace": "Amazon", "asin": "B0FCXZZ57X",
                                               "url": None, "item": None, "text": ""}
    assert magnets.online[1]["marketplace"] == "Shein"
    assert magnets.online[1]["item"] == "sj23050389953853544"
    assert len(magnets.pictures) == 2 and magnets.pictures[0].endswith("10201001-1")
    assert magnets.measures == [
        {"operator": "Manufacturer", "measure": "Recall of the product from end users",
         "date": "2026-11-22"},
        {"operator": "Distributor",
         "measure": "Removal of this product listing by the online marketplace", "date": None}]
    # every element of the record survives in raw, as published
    for name in ("order", "caseNumber", "reference", "category", "product", "brand", "name",
                 "type_numberOfModel", "batchNumber", "barcode", "riskType", "danger",
                 "measures", "URLrecall", "description", "notifyingCountry", "countryOfOrigin",
                 "type", "level", "pictures", "onlineTrader", "companyRecallCode",
                 "productionDates", "xsiType"):
        assert name in magnets.raw, name
    assert magnets.raw["report"] == {"report_language": "en", "report_date": "05/12/2026",
                                     "report_year": "2026", "report_week": "49"}
    # nil, empty element and empty CDATA are all missing values
    assert adaptor.brand is None and "name" not in adaptor.raw and "batchNumber" not in adaptor.raw
    assert adaptor.models == ["WD-9"] and adaptor.gtins == []
    assert adaptor.online[0]["url"] == "https://shop.example/item/4471?ref=sg"
    assert adaptor.online[0]["marketplace"] == "shop.example"
    with sqlite_db.session() as s:
        keys = {(k.kind, k.value) for k in s.scalars(
            select(NoticeKey).where(NoticeKey.notice_id == magnets.id))}
    assert keys == {("gtin", "06901234567892"), ("asin", "B0FCXZZ57X"), ("model", "a2347"),
                    ("model", "jy888")}


def test_compact_export_and_alerts_json_read_alike(sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        import_file(s, data_file("safety_gate_weekly_report_compact.xml"), "safety-gate")
        import_file(s, data_file("safety_gate_alerts.json"), "safety-gate")
    rows = _notices(sqlite_db)
    bath = rows["SR/03190/26"]
    assert bath.gtins == ["04006381333931"] and bath.online == []
    assert bath.measures == [{"operator": "Importer", "measure": "Stop of sales",
                              "date": "2026-12-01"}]
    magnets = rows["SR/03101/26"]
    assert magnets.models == ["A2347", "JY-888"] and magnets.online[0]["asin"] == "B0FCXZZ57X"


def test_weekly_index_is_read_and_refused_as_a_report(sqlite_db: Database) -> None:
    path = data_file("safety_gate_weekly_index.xml")
    problems = Problems(path)
    refs = parse_index(path.read_bytes(), problems)
    assert not problems.items
    assert [(r.reference, r.report_id) for r in refs] == [("Report-2026-49", "10000335"),
                                                          ("Report-2026-50", "10000336")]
    assert refs[1].url is not None and refs[1].url.endswith("language=en")
    with pytest.raises(InvalidInput, match="weekly index"), sqlite_db.session() as s:
        import_file(s, path, "safety-gate")


def test_a_notice_updated_in_a_later_week_replaces_its_keys(sqlite_db: Database,
                                                            tmp_path: Path) -> None:
    text = data_file("safety_gate_weekly_report.xml").read_text("utf-8")
    with sqlite_db.session() as s:
        import_file(s, data_file("safety_gate_weekly_report.xml"), "safety-gate")
    changed = tmp_path / "week.xml"
    changed.write_text(text.replace("A2347, JY-888", "A2347"), "utf-8")
    with sqlite_db.session() as s:
        result = import_file(s, changed, "safety-gate")
    assert (result.updated, result.unchanged) == (1, 1)
    with sqlite_db.session() as s:
        models = set(s.scalars(select(NoticeKey.value).where(NoticeKey.kind == "model")))
    assert "jy888" not in models and "a2347" in models


@pytest.mark.parametrize("text,expected", [
    ("Removal of this product listing by the online marketplace",
     [{"operator": None, "measure": "Removal of this product listing by the online marketplace",
       "date": None}]),
    ("Type of economic operator taking notified measure(s): OtherCategory of measure(s): "
     "Stop of salesDate of entry into force: Unknown",
     [{"operator": "Other", "measure": "Stop of sales", "date": None}]),
    ("", []),
])
def test_measures_split(text: str, expected: list[dict[str, str | None]]) -> None:
    assert split_measures(text) == expected


def test_online_trader_and_barcodes_split() -> None:
    assert [e["asin"] for e in split_online("Amazon(ASIN: B0FCXZZ57X) / Amazon(ASIN: "
                                            "B0AAAAAAA1) / ")] == ["B0FCXZZ57X", "B0AAAAAAA1"]
    assert split_online("Other(BEAUTY CORNER.GR) / ")[0]["marketplace"] == "BEAUTY CORNER.GR"
    gtins, other = split_barcodes("4006381333931 / 400638133393; LOT 5")
    assert gtins == ["04006381333931"] and other == ["400638133393", "LOT 5"]
