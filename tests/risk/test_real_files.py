"""Real published files (tests/risk/data/real, provenance in its PROVENANCE.md) imported whole.

Every field of every record must survive into the database (``raw`` keeps the record as the
source wrote it, the typed columns carry the matching keys), and corrupt copies of the same
files (cut short, saved in another encoding) must be refused with the database unchanged.
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import select

from sampler.risk.importers import import_file
from sampler.risk.importers.base import Problems
from sampler.risk.importers.mapping import load_mapping
from sampler.risk.importers.safety_gate import parse_index
from store.db import Database
from store.errors import InvalidInput
from store.gtin import gtin_valid
from store.models import Base, ForeignNotice, RiskSignal

REAL = Path(__file__).with_name("data") / "real"
CPSC = ["cpsc_recall_10887.json", "cpsc_recall_10191.json", "cpsc_recall_9986.json",
        "cpsc_recall_26639_response.json"]
SG_REPORT = "safety_gate_report_2026_36_brandmonitor.xml"
SG_INDEX = "safety_gate_report_list_brandmonitor.xml"
HC = "health_canada_hcrsam_2024_sample.json"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def _stripped(value: Any) -> Any:
    """Values as stored: strings without surrounding blanks (the importers strip them)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return [_stripped(v) for v in value]
    if isinstance(value, dict):
        return {k: _stripped(v) for k, v in value.items()}
    return value


def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: what 'the database unchanged' is compared on."""
    with db.session() as s:
        return {t.name: sorted(map(repr, s.execute(select(t)).all()))
                for t in Base.metadata.sorted_tables}


def _notices(db: Database) -> dict[str, ForeignNotice]:
    with db.session() as s:
        rows = list(s.scalars(select(ForeignNotice)))
        s.expunge_all()
    return {n.reference: n for n in rows}


@pytest.mark.parametrize("name", CPSC)
def test_cpsc_every_field_of_every_record_survives(sqlite_db: Database, name: str) -> None:
    records = json.loads((REAL / name).read_text("utf-8"))
    with sqlite_db.session() as s:
        result = import_file(s, REAL / name, "cpsc")
    assert (result.read, result.added, result.truncated) == (len(records), len(records), [])
    stored = _notices(sqlite_db)
    for rec in records:
        n = stored[rec["RecallNumber"]]
        for key, value in rec.items():
            if value in (None, "", [], {}):
                assert key not in n.raw  # an empty field is absent, not invented
            else:
                assert n.raw[key] == _stripped(value), key
        assert n.source == "cpsc" and n.title == rec["Title"] and n.url == rec["URL"]
        assert n.published is not None and n.published.isoformat() == rec["RecallDate"][:10]
        assert n.product == "; ".join(p["Name"] for p in rec["Products"])
        assert n.pictures == [i["URL"] for i in rec["Images"]]
        assert [m["measure"] for m in n.measures] == [r["Name"] for r in rec["Remedies"]]
        assert n.country == ", ".join(c["Country"] for c in rec["ManufacturerCountries"])
        upcs = [u["UPC"] for u in rec["ProductUPCs"]]
        valid = {u.zfill(14) for u in upcs if gtin_valid(u)}
        assert valid <= set(n.gtins)  # every valid UPC is an exact matching key
        assert not any(u.zfill(14) in n.gtins for u in upcs if not gtin_valid(u))


def test_cpsc_keys_read_from_the_real_texts(sqlite_db: Database) -> None:
    """Real responses leave Products[].Model and Manufacturers empty; the keys are in the text."""
    with sqlite_db.session() as s:
        for name in CPSC:
            import_file(s, REAL / name, "cpsc")
    n = _notices(sqlite_db)
    harppa, slot_cars, miniverse, peony = n["26651"], n["25170"], n["24281"], n["26639"]
    # "MODEL No.: HANS0002" in the description, "model HANS0002" in a caption
    assert harppa.models == ["HANS0002"] and harppa.raw["derived"]["models_from_text"]
    assert harppa.brand == "HARPPA, Inc." and harppa.raw["derived"]["brand_from"] == "Importers"
    assert peony.brand == "Peony Design Co."  # ", of Howell, MI" is where, not who
    assert len(slot_cars.gtins) == 21 and "00849398065631" in slot_cars.gtins
    # the published list repeats 035051504153 and has one code with a wrong check digit
    assert miniverse.raw["ProductUPCs"].count({"UPC": "035051504153"}) == 2
    assert "00035051591768" not in miniverse.gtins and len(miniverse.gtins) == 37
    assert miniverse.models == []  # "all models and series", "depending on the model"


def test_real_files_import_twice_add_nothing(any_db: Database) -> None:
    files = [(REAL / n, "cpsc") for n in CPSC] + [(REAL / SG_REPORT, "safety-gate"),
                                                  (REAL / HC, "health-canada")]
    with any_db.session() as s:
        first = [import_file(s, p, f).added for p, f in files]
    before = _snapshot(any_db)
    with any_db.session() as s:
        second = [(import_file(s, p, f).added, import_file(s, p, f).unchanged)
                  for p, f in files]
    assert first == [1, 1, 1, 1, 2, 5]
    assert second == [(0, 1), (0, 1), (0, 1), (0, 1), (0, 2), (0, 5)]
    assert _snapshot(any_db) == before


def _hc_text(value: str) -> str:
    """A Health Canada text as displayed: entities decoded, the 2024 export's wrapping quotes
    removed, blanks collapsed (written out here, not by calling the importer's helper)."""
    text = html.unescape(value).strip()
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    return " ".join(text.split())


def test_health_canada_every_field_of_every_record_survives(sqlite_db: Database) -> None:
    records = json.loads((REAL / HC).read_text("utf-8"))
    with sqlite_db.session() as s:
        result = import_file(s, REAL / HC, "health-canada")
    assert (result.read, result.added, result.truncated) == (5, 5, [])
    stored = _notices(sqlite_db)
    for rec in records:
        n = stored[rec["NID"]]
        for key, value in rec.items():
            if value in (None, ""):
                assert key not in n.raw  # an empty field is absent, not invented
            else:
                assert n.raw[key] == value, key  # as the file wrote it
        assert n.source == "health-canada" and n.country == "Canada"
        assert n.title == _hc_text(rec["Title"]) and not n.title.startswith('"')
        assert n.url == rec["URL"]
        assert n.published is not None and n.published.isoformat() == rec["Last updated"]
        assert n.product == _hc_text(rec["Product"]) and n.hazard == _hc_text(rec["Issue"])
        assert n.risk_types == ([rec["Recall class"]] if rec["Recall class"] else [])
        advice = rec["What you should do"]
        assert n.measures == ([{"operator": rec["Organization"], "measure": _hc_text(advice),
                                "date": None}] if advice else [])
        assert n.raw["derived"]["archived"] is False  # "Archived": "No" in this export
        assert n.raw["derived"]["categories"] == rec["Category"].split(", ")
    bmw, knobs, spray = stored["74484"], stored["74227"], stored["74171"]
    assert bmw.brand == "BMW" and bmw.raw["derived"]["transport_canada_recall"] == "2023568"
    assert bmw.raw["derived"]["categories"] == ["Vehicles - Car", "Vehicles - SUV"]
    assert knobs.title == ("Prime-Line Defender Security Glass Knobs recalled due to "
                           "laceration hazard")
    assert "www.primeline.net" in knobs.measures[0]["measure"]  # &nbsp; read as a blank
    assert "\u201cImportant Recall Information\u201d" in knobs.measures[0]["measure"]
    assert spray.title.startswith("Soja & Co. ambiance spray")  # &amp; decoded


def test_health_canada_both_export_layouts_read_alike(sqlite_db: Database,
                                                      tmp_path: Path) -> None:
    """The 2026 layout (relative URL, "Archived": "0", no wrapping quotes) of a 2024 record
    gives the same notice as the record as published in 2024."""
    rec = json.loads((REAL / HC).read_text("utf-8"))[3]
    new = dict(rec, Title=rec["Title"].strip('"'), Archived="0",
               URL=rec["URL"].removeprefix("https://recalls-rappels.canada.ca"))
    new["What you should do"] = rec["What you should do"].strip('"')
    (tmp_path / "old.json").write_text(json.dumps([rec]), "utf-8")
    (tmp_path / "new.json").write_text(json.dumps([new], indent=1), "utf-8")
    fields = ("title", "url", "product", "hazard", "measures", "risk_types", "published")
    seen = []
    for name in ("old.json", "new.json"):
        with sqlite_db.session() as s:
            import_file(s, tmp_path / name, "health-canada")
        n = _notices(sqlite_db)["74227"]
        seen.append([getattr(n, f) for f in fields] + [n.raw["derived"]])
    assert seen[0] == seen[1]


def test_safety_gate_report_every_field_survives(sqlite_db: Database) -> None:
    with sqlite_db.session() as s:
        result = import_file(s, REAL / SG_REPORT, "safety-gate")
    assert (result.read, result.added, result.truncated) == (2, 2, [])
    root = etree.parse(str(REAL / SG_REPORT)).getroot()
    header = {el.tag: el.text for el in root if el.tag.startswith("report_")
              and el.get(f"{XSI}nil") != "true"}
    stored = _notices(sqlite_db)
    for alert in root.iter("notifications"):
        n = stored[alert.findtext("caseNumber")]
        assert n.raw["xsiType"] == alert.get(f"{XSI}type")
        assert n.raw["report"] == header
        for field in alert:
            text = "".join(field.itertext()).strip()
            if field.get(f"{XSI}nil") == "true" or not text:
                assert field.tag not in n.raw, field.tag  # nil is missing, not ""
            elif len(field):
                assert n.raw[field.tag] == [c.text for c in field], field.tag
            else:
                assert n.raw[field.tag] == text, field.tag
        assert n.url == alert.findtext("reference")
        assert n.pictures == [p.text for p in alert.iter("picture")]
        assert n.published is not None and n.published.isoformat() == "2026-09-11"
    necklace, perfume = stored["SR/02420/26"], stored["SR/02417/26"]
    assert necklace.gtins == []  # barcode 20241210 has no valid check digit: not a key
    assert necklace.raw["barcode"] == "20241210"
    assert necklace.online == [{"marketplace": "Shein", "asin": None, "url": None,
                                "item": "sj23050389953853544",
                                "text": "Other(Shein (sj23050389953853544))"}]
    assert perfume.brand == "Tesori d'Oriente" and perfume.risk_types == ["Chemical"]
    assert perfume.measures == [{"operator": None, "date": None,
                                 "measure": "Withdrawal of the product from the market"}]


def test_safety_gate_index_as_published_by_another_reader() -> None:
    """This copy of the weekly index has root <weeklyReports> and year/month/day/week fields."""
    problems = Problems(REAL / SG_INDEX)
    refs = parse_index((REAL / SG_INDEX).read_bytes(), problems)
    assert problems.items == []
    assert [(r.reference, r.published.isoformat() if r.published else None, r.report_id)
            for r in refs] == [("Report-2026-35", "2026-09-04", "10000321"),
                               ("Report-2026-36", "2026-09-11", "10000322")]
    assert all(r.url and not r.url.endswith(",") and "&search=" in r.url for r in refs)


def test_safety_gate_index_imported_as_a_report_is_refused(sqlite_db: Database) -> None:
    before = _snapshot(sqlite_db)
    with pytest.raises(InvalidInput, match="weekly index"), sqlite_db.session() as s:
        import_file(s, REAL / SG_INDEX, "safety-gate")
    assert _snapshot(sqlite_db) == before


def _corrupt_copies(tmp_path: Path) -> list[tuple[Path, str, str]]:
    """(file, format, what the refusal must say) for cut and re-encoded copies of real files."""
    out: list[tuple[Path, str, str]] = []
    for name, fmt in ([(n, "cpsc") for n in CPSC] + [(SG_REPORT, "safety-gate"),
                                                     (HC, "health-canada")]):
        data = (REAL / name).read_bytes()
        cut = tmp_path / f"cut-{name}"
        cut.write_bytes(data[: len(data) * 2 // 3])
        out.append((cut, fmt, "not well-formed XML" if fmt == "safety-gate" else "not JSON"))
        if fmt != "safety-gate":
            utf16 = tmp_path / f"utf16-{name}"
            utf16.write_bytes(data.decode("utf-8").encode("utf-16-le"))  # no byte-order mark
            out.append((utf16, fmt, "NUL bytes"))
    latin = tmp_path / "cp1252-cpsc_recall_9986.json"  # "Café", "–" saved by a Windows tool
    latin.write_bytes((REAL / "cpsc_recall_9986.json").read_text("utf-8").encode("cp1252"))
    out.append((latin, "cpsc", "not UTF-8"))
    return out


def test_corrupt_copies_refused_and_database_unchanged(sqlite_db: Database,
                                                       tmp_path: Path) -> None:
    with sqlite_db.session() as s:  # a database that already holds real notices
        import_file(s, REAL / "cpsc_recall_10887.json", "cpsc")
        import_file(s, REAL / SG_REPORT, "safety-gate")
        import_file(s, REAL / HC, "health-canada")
    before = _snapshot(sqlite_db)
    for path, fmt, said in _corrupt_copies(tmp_path):
        with pytest.raises(InvalidInput) as err, sqlite_db.session() as s:
            import_file(s, path, fmt)
        assert said in str(err.value) and path.name in str(err.value), (path.name, err.value)
        assert _snapshot(sqlite_db) == before, path.name


def test_safety_gate_report_saved_as_utf16_reads_the_same(sqlite_db: Database,
                                                         tmp_path: Path) -> None:
    """XML names its encoding and a parser detects UTF-16 from '<' (XML 1.0 appendix F), so a
    copy re-saved as UTF-16 is not corrupt: it must give exactly the same notices."""
    with sqlite_db.session() as s:
        import_file(s, REAL / SG_REPORT, "safety-gate")
    before = _snapshot(sqlite_db)
    utf16 = tmp_path / "utf16.xml"
    utf16.write_bytes((REAL / SG_REPORT).read_text("utf-8").encode("utf-16-le"))
    with sqlite_db.session() as s:
        result = import_file(s, utf16, "safety-gate")
    assert (result.added, result.updated, result.unchanged) == (0, 0, 2)
    assert _snapshot(sqlite_db) == before


CQN = "cqn_unqualified_2019_chinaqualitynews.csv"
CQN_MAP = (Path(__file__).parents[2] / "sampler" / "risk" / "mappings" / "layouts"
           / "cqn-unqualified-2019.toml")


def _cqn_rows() -> list[list[str]]:
    with (REAL / CQN).open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def _spot_checks(db: Database) -> dict[str, RiskSignal]:
    with db.session() as s:
        rows = list(s.scalars(select(RiskSignal).where(RiskSignal.kind == "spot_check")))
        s.expunge_all()
    return {sig.detail["record_id"]: sig for sig in rows}


def test_chinese_spot_check_table_every_row_and_field_survives(sqlite_db: Database) -> None:
    """A real table of failed samples (2019 SAMR/NMPA announcements as a crawler exported them,
    no header row): every sample row becomes a failed spot check with every cell kept, and the
    rows the crawler stored without their table are skipped by line, not imported or refused."""
    mapping = load_mapping(CQN_MAP)
    assert mapping.header is not None
    fields = [mapping.field_of(h) for h in mapping.header]
    rows = _cqn_rows()
    assert len(rows) == 385 and {len(r) for r in rows} == {20}
    with sqlite_db.session() as s:
        result = import_file(s, REAL / CQN, "spot-check", CQN_MAP)
    samples = [(i, r) for i, r in enumerate(rows, start=1)
               if any(r[fields.index(f)].strip() for f in mapping.blank_unless)]
    assert (result.read, result.added) == (231, 231) == (len(samples), len(samples))
    assert result.skipped == [i for i, r in enumerate(rows, start=1)
                              if (i, r) not in samples] and len(result.skipped) == 154
    stored = _spot_checks(sqlite_db)
    for line, cells in samples:
        sig = stored[cells[0]]
        assert sig.value == 1.0 and sig.detail["failed"] is True and sig.detail["line"] == line
        assert sig.detail["result"] == "不合格"  # the layout's default: a table of failures
        for name, cell in zip(fields, cells, strict=True):
            if cell.strip():
                assert sig.detail[name] == cell.strip(), (line, name)
            else:
                assert name not in sig.detail, (line, name)
        assert sig.observed_at.date().isoformat() == cells[2][:10]
    taobao = next(s for s in stored.values() if s.detail.get("seller") == "淘宝伊玛目清真商城")
    assert taobao.detail["seller_address"].startswith("https://item.taobao.com/item.htm")
    assert taobao.detail["product"] == "豆沙千层手撕面包" and taobao.brand == "凯利福及图形商标"


def test_chinese_spot_check_table_idempotent_and_encodings(sqlite_db: Database,
                                                           tmp_path: Path) -> None:
    with sqlite_db.session() as s:
        import_file(s, REAL / CQN, "spot-check", CQN_MAP)
    before = _snapshot(sqlite_db)
    gbk = tmp_path / "cqn-gb18030.csv"  # as Excel on a Chinese Windows machine re-saves it
    gbk.write_bytes((REAL / CQN).read_text("utf-8").encode("gb18030"))
    # the shipped layout by its name, as an inspector types it: --mapping cqn-unqualified-2019
    for path, mapping in ((REAL / CQN, CQN_MAP), (gbk, CQN_MAP), (gbk, CQN_MAP.stem)):
        with sqlite_db.session() as s:
            again = import_file(s, path, "spot-check", mapping)
        assert (again.added, again.unchanged) == (0, 231), path.name
    assert _snapshot(sqlite_db) == before


def test_chinese_spot_check_table_corrupt_copies_refused(sqlite_db: Database,
                                                         tmp_path: Path) -> None:
    with sqlite_db.session() as s:
        import_file(s, REAL / "cpsc_recall_10887.json", "cpsc")
    before = _snapshot(sqlite_db)
    lines = (REAL / CQN).read_text("utf-8").splitlines(keepends=True)
    cut = tmp_path / "cut.csv"  # cut in the middle of line 257
    cut.write_text("".join(lines[:256]) + lines[256][: len(lines[256]) // 2], "utf-8")
    shifted = tmp_path / "shifted.csv"  # one cell lost on line 9 (the Taobao row)
    cells = next(csv.reader([lines[8]]))
    lines_shifted = list(lines)
    lines_shifted[8] = ",".join(cells[:5] + cells[6:]) + "\n"
    shifted.write_text("".join(lines_shifted), "utf-8")
    for path, said in [(cut, "line 257: "), (shifted, "line 9: 19 cells but this layout")]:
        with pytest.raises(InvalidInput) as err, sqlite_db.session() as s:
            import_file(s, path, "spot-check", CQN_MAP)
        assert said in str(err.value), err.value
        assert _snapshot(sqlite_db) == before
    # without the layout's mapping the first record is read as a header, and refused as one
    with pytest.raises(InvalidInput, match="missing column product"), sqlite_db.session() as s:
        import_file(s, REAL / CQN, "spot-check")
    assert _snapshot(sqlite_db) == before
