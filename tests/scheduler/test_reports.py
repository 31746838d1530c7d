"""Half-year report: statistics from the database, XLSX with a chart, PDF in zh-CN and en."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from PIL import Image

from scheduler import cases, personas, purchases
from scheduler.reports import collect, half_year_report, parse_period, previous_period
from store.db import Database
from store.errors import InvalidInput
from store.settings import Settings
from tests.conftest import need
from tests.factory.shop import small_world

T = dt.datetime(2026, 8, 3, 9, 0, tzinfo=dt.UTC)
SECRET = "PAYREF-REPORT-5521"


def fill(db: Database, settings: Settings) -> None:
    """6 purchases: 4 ordered, 3 with results (1 failure → a case with measures)."""
    with db.session() as s:
        w = small_world(s, listings=6)
        personas.create_persona(s, w.platform_id, "p", "acct-report", "pw",
                                "名 | 13800000000 | 地址", SECRET, settings)
        personas.create_persona(s, w.platform_id, "q", "acct-report-2", "pw",
                                "名 | 13800000001 | 地址", SECRET + "x", settings)
        ids = purchases.create_purchase_tasks(s, w.plan_id, now=T).created
    with db.session() as s:
        for i, pid in enumerate(ids[:4]):
            purchases.mark_ordered(s, pid, f"O-{i}", "19.9", "CNY", at=T, actor="amy")
        for i, pid in enumerate(ids[:3]):
            purchases.receive_sample(s, pid, f"S-{i}", at=T + dt.timedelta(days=3), actor="amy")
            purchases.send_to_lab(s, pid, "Lab", at=T + dt.timedelta(days=4), actor="amy")
        purchases.record_lab_result(s, ids[0], "fail", defects=["小零件脱落"],
                                    clauses=["GB 6675.2"], at=T + dt.timedelta(days=9))
        for pid in ids[1:3]:
            purchases.record_lab_result(s, pid, "pass", at=T + dt.timedelta(days=9))
        [case] = cases.list_cases(s)
        cases.notify(s, case.id, at=T + dt.timedelta(days=10), content="通报")
        cases.add_measure(s, case.id, "takedown", at=T + dt.timedelta(days=11),
                          outcome="已下架")
        cases.add_measure(s, case.id, "interview", at=T + dt.timedelta(days=11))


def test_periods() -> None:
    assert parse_period("2026H2") == (dt.date(2026, 7, 1), dt.date(2027, 1, 1))
    assert previous_period(dt.date(2027, 1, 1)) == "2026H2"
    assert previous_period(dt.date(2026, 7, 1)) == "2026H1"
    with pytest.raises(InvalidInput):
        parse_period("2026Q3")


def test_the_half_year_is_the_bureaus_not_utcs(any_db: Database, settings: Settings) -> None:
    """An order at 2026-12-31T17:00Z is 01:00 on 1 January in Beijing: outside 2026H2; one at
    2026-06-30T17:00Z is 01:00 on 1 July: inside it (the periods were cut at UTC midnight)."""
    beijing = ZoneInfo("Asia/Shanghai")
    new_year = dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC)
    july = dt.datetime(2026, 6, 30, 17, 0, tzinfo=dt.UTC)
    with any_db.session() as s:
        w = small_world(s, listings=2)
        personas.create_persona(s, w.platform_id, "p", "acct-tz", "pw",
                                "名 | 13800000000 | 地址", SECRET, settings)
        ids = purchases.create_purchase_tasks(s, w.plan_id, now=july).created
    with any_db.session() as s:
        purchases.mark_ordered(s, ids[0], "O-NY", "19.9", "CNY", at=new_year, actor="amy")
        purchases.mark_ordered(s, ids[1], "O-JUL", "19.9", "CNY", at=july, actor="amy")
    with any_db.session() as s:
        counts = {p: collect(s, p, tz=beijing).totals.ordered
                  for p in ("2026H1", "2026H2", "2027H1")}
        utc = {p: collect(s, p, tz=ZoneInfo("UTC")).totals.ordered for p in ("2026H1", "2026H2")}
    assert counts == {"2026H1": 0, "2026H2": 1, "2027H1": 1}
    assert utc == {"2026H1": 1, "2026H2": 1}  # the same orders cut at UTC midnight


def test_statistics(any_db: Database, settings: Settings) -> None:
    fill(any_db, settings)
    with any_db.session() as s:
        r = collect(s, "2026H2")
        empty = collect(s, "2026H1")
    assert (r.totals.ordered, r.totals.results, r.totals.failed) == (4, 3, 1)
    assert sum(b.ordered for b in r.by_sector.values()) == 4
    assert set(r.by_class) <= {"key", "general"}
    [est] = r.estimates
    assert est["results"] == 3 and est["failures"] == 1
    low, high = est["hajek_rate_ci"]
    assert 0 <= low < est["hajek_rate"] < high <= 1
    assert r.cases_by_kind == {"failed_sample": 1}
    assert r.measures == {"takedown": {"ordered": 1, "done": 1},
                          "interview": {"ordered": 1, "done": 0}}
    assert sum(r.notifications_by_bureau.values()) == 1
    assert empty.totals.ordered == 0 and empty.cases == []
    # The PDF's page (HTML) charts what it reports: the estimate with its interval, the
    # measures, every code by its label, every case column headed.
    from scheduler.reports import render_html

    html = render_html(r, "zh-CN")
    assert html.count("<circle") == 1 and f"{100 * est['hajek_rate']:.1f}%" in html
    assert "下架" in html and "约谈" in html and "takedown" not in html
    [code] = r.by_platform  # a platform reads by its name, not its code
    assert r.platform_names[code] != code and r.platform_names[code] in html
    cases = html[html.index('<table class="cases">'):]
    cases = cases[:cases.index("</table>")]
    assert len(re.findall(r"<th[ >]", cases)) == cases.count("<col ") + cases.count("<col>") == 7


@pytest.mark.browser
def test_files_xlsx_and_pdf_render_chinese(sqlite_db: Database, settings: Settings,
                                           tmp_path: Path, chromium_path: str | None) -> None:
    need(shutil.which("pdftoppm") is not None, "pdftoppm (poppler-utils) is not installed")
    fill(sqlite_db, settings)
    with sqlite_db.session() as s:
        out = half_year_report(s, "2026h2", tmp_path, ("xlsx", "pdf", "json"),
                               settings=settings)
    files = [Path(f) for f in out["files"]]
    assert {f.suffix for f in files} == {".xlsx", ".pdf", ".html", ".json"}
    wb = load_workbook(tmp_path / "half-year-2026H2.zh-CN.xlsx")
    summary = wb.worksheets[0]
    assert summary["A1"].value == "跨境电商消费品网购抽检半年统计"
    assert summary["B2"].value == "2026-07-01 – 2026-12-31 (2026H2)"  # the period's last day
    assert "北京时间" in summary["B3"].value
    assert any(row[0].value == "样品" and row[3].value == 1
               for row in summary.iter_rows(min_row=1, max_row=10) if row[0].value)
    assert all(len(ws.title) <= 31 for ws in wb.worksheets)
    samples = wb["样品"]
    assert samples.freeze_panes == "A2" and samples.auto_filter.ref
    header = [c.value for c in samples[1]]
    assert header[2:] == ["已下单", "已出检测结果", "不合格", "不合格样品占比"]  # zh, no snake_case
    assert samples.cell(row=2, column=6).number_format == "0.0%"
    assert samples.column_dimensions["B"].width >= 8
    cases = wb["案件"]
    assert cases.cell(row=2, column=1).number_format == "@"  # case numbers stay text
    assert cases.cell(row=2, column=6).is_date  # opened on: a date, not text
    assert not str(cases.cell(row=2, column=7).value).startswith("failed_sample")
    assert cases.cell(row=2, column=2).value == "样品不合格"  # the label table's case kind
    assert len(wb["图表"]._charts) >= 2  # samples by platform, measures (and estimates)
    # How each estimate was made, in the file's language (the sampler's coded notes).
    notes = [str(c.value) for c in wb["不合格率估计"]["B"] if c.value]
    assert any(n.startswith("估计量：") for n in notes), notes
    assert not any("estimator:" in n for n in notes)
    for f in files:  # no persona secret in any export
        data = f.read_bytes()
        assert SECRET.encode() not in data and b"acct-report" not in data
    pdf = tmp_path / "half-year-2026H2.zh-CN.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "跨境电商消费品网购抽检半年统计" in text and "杭州海关" in text and "SC-" in text
    assert "估计量：" in text and "estimator:" not in text
    # the crawled (hostile) title is shown as text, never as markup
    html = (tmp_path / "half-year-2026H2.zh-CN.html").read_text()
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)" in html
    assert "<script>alert(1)</script>" in "".join(text.split())  # wrapped in its column
    # Rasterise page 1 and check the title area is inked (not empty boxes or blank)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf),
                    str(tmp_path / "page")], check=True)
    png = next(tmp_path.glob("page*.png"))
    img = Image.open(png).convert("L")
    title = img.crop((0, 0, img.width, img.height // 8))
    dark = sum(title.histogram()[:128])
    assert dark > 200, "the Chinese title did not render"
    en = (tmp_path / "half-year-2026H2.en.pdf")
    en_text = subprocess.run(["pdftotext", str(en), "-"], capture_output=True, text=True,
                             check=True).stdout
    # codes read by the one label table's English labels (a case kind, a measure)
    assert "statistics" in en_text and "failed sample" in en_text and "takedown" in en_text
    assert "failed_sample" not in en_text
    assert "estimator:" in en_text and "估计量" not in en_text
    _case_columns_hold(en)


def _case_columns_hold(pdf: Path) -> None:
    """The case table's words as laid out: every header whole (no "Statu"/"s"), and each
    opened date a word of its own that ends before the title beside it begins."""
    import html as html_lib
    import re

    layout = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                            text=True, check=True).stdout
    words = [(float(x0), float(y0), float(x1), html_lib.unescape(w)) for x0, y0, x1, w in
             re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
                        r'yMax="[\d.]+">([^<]*)</word>', layout)]
    texts = [w for *_, w in words]
    assert "Status" in texts and "Statu" not in texts
    dates = [w for w in words if re.fullmatch(r"\d{4}-\d{2}-\d{2}", w[3])]
    assert dates, "no opened date stands as a word of its own"
    for x0, y0, x1, _ in dates:
        beside = [w for w in words if abs(w[1] - y0) < 2 and w[0] > x0]
        assert beside and min(w[0] for w in beside) > x1 + 2, "a date runs into the title"


def test_the_report_reads_the_one_label_table() -> None:
    from scheduler import reports
    from store.labels import LOCALES, text_labels_of

    assert not hasattr(reports, "LABELS") and not hasattr(reports, "SHEETS")
    assert reports.headings("en") == text_labels_of("half_year", "en")
    assert reports.code_label("measure", "takedown", "zh-CN") == "下架"
    assert reports.code_label("case_kind", "failed_sample", "en") == "failed sample"
    assert reports.code_label("platform", "mall", "zh-CN") == "mall"
    assert all(len(name) <= 31 for loc in LOCALES
               for name in text_labels_of("half_year_sheet", loc).values())


def test_chart_labels_fit_left_of_their_bars() -> None:
    """A row label is shown whole when the chart has room for it (the platform "SBX Boutique
    精品店 (sandbox shop)" was cut to 28 characters and ran off the chart's left edge), else
    cut with "…" to the label column."""
    from scheduler.reports import svg_bars, svg_intervals
    from store.chartlabels import text_width

    name = "SBX Boutique 精品店 (sandbox shop)"
    long = "某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某某"
    bars = svg_bars("t", {name: (11, 3), long: (2, 1)}, ("ordered", "failed"))
    lines = svg_intervals("t", {name: (0.1, 0.05, 0.2), long: (0.2, 0.1, 0.3)})
    for svg in (bars, lines):
        shown = re.findall(r'<text x="(\d+)" y="\d+" text-anchor="end">([^<]*)</text>', svg)
        texts = {t for _x, t in shown}
        assert name in texts
        [cut] = [t for t in texts if t.startswith("某")]
        assert cut.endswith("…") and len(cut) < len(long)
        assert all(int(x) - text_width(t) >= 0 for x, t in shown)  # nothing off the edge
