"""Bad and borderline files: empty, wrong kind, conflicting repeats, oversized fields.

Each refusal leaves the database exactly as it was (atomic), and says why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sampler.risk.importers import import_file
from sampler.risk.importers.base import FIELD_LIMITS, RAW_TEXT_LIMIT, Problems
from sampler.risk.importers.sniff import check_kind
from store.db import Database
from store.errors import InvalidInput
from store.models import ForeignNotice, NoticeKey, RiskSignal
from tests.risk.conftest import data_file


def _state(db: Database) -> tuple[int, int, int]:
    with db.session() as s:
        return (int(s.scalar(select(func.count()).select_from(ForeignNotice)) or 0),
                int(s.scalar(select(func.count()).select_from(NoticeKey)) or 0),
                int(s.scalar(select(func.count()).select_from(RiskSignal)) or 0))


def _refused(db: Database, path: Path, fmt: str, match: str) -> None:
    before = _state(db)
    with pytest.raises(InvalidInput, match=match), db.session() as s:
        import_file(s, path, fmt)
    assert _state(db) == before  # nothing written


@pytest.fixture()
def seeded(sqlite_db: Database) -> Database:
    """A database already holding a week of notices: refusals must leave them as they are."""
    with sqlite_db.session() as s:
        import_file(s, data_file("safety_gate_weekly_report.xml"), "safety-gate")
    return sqlite_db


def test_empty_file_named_empty(seeded: Database, tmp_path: Path) -> None:
    path = tmp_path / "empty.dat"
    for content in (b"", b"  \n\r\n", b"\xef\xbb\xbf\n"):
        path.write_bytes(content)
        for fmt in ("cpsc", "safety-gate", "complaints"):
            _refused(seeded, path, fmt, r"empty\.dat is empty")


def test_file_without_records_named_empty(seeded: Database, tmp_path: Path) -> None:
    path = tmp_path / "recalls.json"
    path.write_text("[]\n", "utf-8")
    _refused(seeded, path, "cpsc", "holds no records")
    path = tmp_path / "complaints.csv"
    path.write_text("date,platform,seller,product\n", "utf-8")
    _refused(seeded, path, "complaints", "holds no records")


def test_wrong_kind_refused_with_reason(seeded: Database, tmp_path: Path) -> None:
    _refused(seeded, data_file("safety_gate_weekly_report.xml"), "cpsc",
             "holds XML, not a CPSC.*use --format safety-gate")
    _refused(seeded, data_file("cpsc_recalls.json"), "safety-gate",
             "CPSC Recalls API JSON file.*use --format cpsc")
    _refused(seeded, data_file("reports.csv"), "complaints",
             "enterprise self-reports.*file \\(columns enterprise\\).*--format reports")
    _refused(seeded, data_file("complaints.csv"), "reports", "looks like consumer complaints")
    _refused(seeded, data_file("cpsc_recalls.json"), "complaints", "holds JSON, not a complaints spreadsheet")


def test_conflicting_duplicates_name_both_records(seeded: Database, tmp_path: Path) -> None:
    recs = json.loads(data_file("cpsc_recalls.json").read_text("utf-8"))
    other = dict(recs[0], Title="another title")
    path = tmp_path / "recalls.json"
    path.write_text(json.dumps([recs[0], recs[1], other], indent=1), "utf-8")
    before = _state(seeded)
    with pytest.raises(InvalidInput) as err, seeded.session() as s:
        import_file(s, path, "cpsc")
    message = str(err.value)
    first_line = 2
    assert f"also at line {first_line}" in message and "title" in message
    assert recs[0]["RecallNumber"] in message
    assert _state(seeded) == before


def test_identical_duplicates_counted_once(sqlite_db: Database, tmp_path: Path) -> None:
    recs = json.loads(data_file("cpsc_recalls.json").read_text("utf-8"))
    path = tmp_path / "recalls.json"
    path.write_text(json.dumps([recs[0], recs[1], recs[0], recs[0]], indent=1), "utf-8")
    with sqlite_db.session() as s:
        result = import_file(s, path, "cpsc")
    assert (result.read, result.added, result.duplicates) == (4, 2, 2)
    assert _state(sqlite_db)[0] == 2


def test_oversized_fields_truncated_and_recorded(sqlite_db: Database, tmp_path: Path) -> None:
    """The issue's 20 MB hazard name and 9 MB danger text: cut to their bounds, and the cut is
    recorded per field on the notice and in the import result."""
    text = data_file("safety_gate_weekly_report.xml").read_text("utf-8")
    huge = "x" * (9 * 1024 * 1024)
    path = tmp_path / "week.xml"
    path.write_text(text.replace("Small, powerful magnets", huge, 1), "utf-8")
    recs = json.loads(data_file("cpsc_recalls.json").read_text("utf-8"))
    recs[0]["Hazards"] = [{"Name": "h" * (20 * 1024 * 1024)}]
    cpsc = tmp_path / "recalls.json"
    cpsc.write_text(json.dumps(recs), "utf-8")
    with sqlite_db.session() as s:
        week = import_file(s, path, "safety-gate")
        recalls = import_file(s, cpsc, "cpsc")
    cut = {(t["reference"], t["field"]) for t in week.truncated + recalls.truncated}
    assert ("SR/03101/26", "hazard") in cut and ("SR/03101/26", "raw.danger") in cut
    assert (recs[0]["RecallNumber"], "hazard") in cut
    with sqlite_db.session() as s:
        magnets = s.scalar(select(ForeignNotice).where(ForeignNotice.reference == "SR/03101/26"))
        recall = s.scalar(select(ForeignNotice).where(
            ForeignNotice.reference == recs[0]["RecallNumber"]))
        assert magnets is not None and recall is not None
        assert len(magnets.hazard or "") == FIELD_LIMITS["hazard"]
        assert len(magnets.raw["danger"]) == RAW_TEXT_LIMIT
        assert magnets.truncated["hazard"] > 9 * 1024 * 1024
        assert recall.truncated["hazard"] >= 20 * 1024 * 1024
    size = (tmp_path / "week.xml").stat().st_size
    assert size > 9_000_000


def test_a_file_import_refusal_names_its_lines_and_kinds_in_the_readers_language(
        tmp_path: Path) -> None:
    """The risk importers' refusals: line numbers read "第 N 行" in Chinese, and what a file
    looks like (XML, a CPSC feed) by a name that reads the same in both languages."""
    problems = Problems(tmp_path / "notices.csv")
    problems.add(9, "risk_rows.date_empty")
    problems.add(4, "risk_rows.field_value", field="RecallDate", detail="no date: 'soon'")
    with pytest.raises(InvalidInput) as err:
        problems.raise_if_any()
    assert str(err.value) == ("notices.csv: 2 problem(s), nothing imported: "
                              "line 4: RecallDate: no date: 'soon'; line 9: date is empty")
    assert err.value.message("zh-CN") == ("notices.csv：发现 2 个问题，未导入任何内容："
                                          "第 4 行：字段 RecallDate：no date: 'soon'；第 9 行：日期为空")
    with pytest.raises(InvalidInput) as err:
        check_kind(tmp_path / "week.xml", b"<?xml version='1.0'?><report/>", "cpsc")
    assert err.value.code == "risk_import.not_feed_xml"
    assert str(err.value).startswith("week.xml holds XML, not a CPSC Recalls API JSON file")
    assert err.value.message("zh-CN").startswith(
        "week.xml 的内容是 XML，不是 CPSC Recalls API JSON 文件（是欧盟 Safety Gate 导出文件吗？")


def test_every_line_problem_is_a_message_code_with_its_parameters() -> None:
    """Like tests/store/test_messages.py for refusals: each ``problems.add(line, ...)`` of the
    importers names a code of store/messages.toml and gives exactly the parameters its texts
    take, so a file's problems read in the reader's language."""
    import ast

    from store import messages

    root = Path(__file__).resolve().parents[2] / "sampler" / "risk" / "importers"
    sites = 0
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "add" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "problems"):
                continue
            sites += 1
            where = f"{path.name}:{node.lineno}"
            message = node.args[1]
            assert isinstance(message, ast.Constant) and messages.known(message.value), where
            texts = messages.catalogue()[message.value]
            wanted = {name for name, _s, _c in messages.placeholders(texts["en"])}
            assert wanted == {k.arg for k in node.keywords}, where
    assert sites > 40
