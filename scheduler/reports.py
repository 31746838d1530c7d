"""Half-year statistics (the guidance asks for statistics every half year): XLSX and PDF.

What a half year holds: samples (purchases ordered in the period) by platform, sector and
supervision class with their lab outcomes; the failure-rate estimates of every plan with
results (the sampler's Horvitz–Thompson and Hájek estimates with their 95 % intervals, not a
naive share of failed samples, because risk-weighted samples over-represent risky listings);
cases opened, notifications to bureaus and measures taken.  :func:`collect` gathers it once;
:func:`write_xlsx` (openpyxl, with native charts) and :func:`write_pdf` (Jinja2 → HTML with
inline SVG charts → Chromium ``page.pdf()``, in zh-CN and en) present it.  Crawled text
(titles, seller names) is escaped by the template and bounded in length.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from store import clock
from store.chartlabels import fit_labels
from store.errors import InvalidInput
from store.jsonio import dumps, jsonable
from store.labels import LOCALES, label, text_label, text_labels_of
from store.models import (
    Case,
    LabResult,
    Listing,
    Measure,
    Notification,
    Plan,
    PlanItem,
    Platform,
    Purchase,
    PurchaseStatus,
    Sample,
)
from store.printing import PrintJob, print_pdfs
from store.settings import Settings
from store.templating import environment
from store.vocabulary import CaseStatus, MeasureKind, Sector, SupervisionClass

if TYPE_CHECKING:  # openpyxl is imported when a workbook is written
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

FORMATS = ("xlsx", "pdf", "json")

#: What each code of a breakdown or a case row reads as (store.labels, the one table).
CODE_DOMAINS: dict[str, type[enum.StrEnum] | str] = {
    "sector": Sector, "class": SupervisionClass, "measure": MeasureKind,
    "case_status": CaseStatus, "case_kind": "case_kind", "interval": "interval_method",
}


def headings(locale: str) -> dict[str, str]:
    """The report's headings in *locale* (``half_year`` of :data:`store.labels.TEXT_LABELS`)."""
    return text_labels_of("half_year", locale)


def code_label(group: str, code: str | None, locale: str) -> str:
    """A code of *group* (``sector``, ``class``, ``measure``, ``case_kind``, ...) as a
    person reads it; platforms and anything else unlabelled read as themselves."""
    domain = CODE_DOMAINS.get(group)
    if domain is None or code is None:
        return "—" if code is None else str(code)
    if isinstance(domain, str):
        return text_label(domain, code, locale)
    return label(domain, code, locale)


def parse_period(period: str) -> tuple[dt.date, dt.date]:
    """``2026H1`` → [2026-01-01, 2026-07-01); ``2026H2`` → [2026-07-01, 2027-01-01)."""
    m = re.fullmatch(r"(\d{4})\s*-?\s*H([12])", period.strip(), re.IGNORECASE)
    if not m:
        raise InvalidInput("reports.period_look_like_h1_h2", period=period)
    year, half = int(m.group(1)), int(m.group(2))
    if half == 1:
        return dt.date(year, 1, 1), dt.date(year, 7, 1)
    return dt.date(year, 7, 1), dt.date(year + 1, 1, 1)


def period_of(day: dt.date) -> str:
    return f"{day.year}H{1 if day.month <= 6 else 2}"


def previous_period(day: dt.date) -> str:
    """The half year that ended most recently before *day* (what a Jan/Jul job reports)."""
    start, _ = parse_period(period_of(day))
    return period_of(start - dt.timedelta(days=1))


@dataclass
class Breakdown:
    """Samples in one group: ordered, with a result, failed."""

    ordered: int = 0
    results: int = 0
    failed: int = 0

    @property
    def fail_share(self) -> float | None:
        return self.failed / self.results if self.results else None


@dataclass
class HalfYear:
    period: str
    start: dt.date
    end: dt.date
    generated_at: dt.datetime
    totals: Breakdown = field(default_factory=Breakdown)
    by_platform: dict[str, Breakdown] = field(default_factory=dict)
    by_sector: dict[str, Breakdown] = field(default_factory=dict)
    by_class: dict[str, Breakdown] = field(default_factory=dict)
    estimates: list[dict[str, Any]] = field(default_factory=list)
    cases_by_kind: dict[str, int] = field(default_factory=dict)
    cases_by_status: dict[str, int] = field(default_factory=dict)
    cases: list[dict[str, Any]] = field(default_factory=list)
    notifications_by_bureau: dict[str, int] = field(default_factory=dict)
    measures: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Platform code → its name, what a reader of the report sees (the code is the key).
    platform_names: dict[str, str] = field(default_factory=dict)

    def label(self, group: str, code: str | None, locale: str) -> str:
        """A code of *group* as this report's reader reads it (platforms by name)."""
        if group == "platform" and code:
            return self.platform_names.get(code, code)
        return code_label(group, code, locale)

    @property
    def last_day(self) -> dt.date:
        """The period's last day (``end`` is the first day after it)."""
        return self.end - dt.timedelta(days=1)

    def as_dict(self) -> dict[str, Any]:
        def b(x: Breakdown) -> dict[str, Any]:
            return {"ordered": x.ordered, "results": x.results, "failed": x.failed,
                    "fail_share": x.fail_share}

        return {"period": self.period, "start": self.start.isoformat(),
                "end": self.end.isoformat(), "generated_at": self.generated_at.isoformat(),
                "totals": b(self.totals),
                "by_platform": {k: b(v) for k, v in self.by_platform.items()},
                "by_sector": {k: b(v) for k, v in self.by_sector.items()},
                "by_class": {k: b(v) for k, v in self.by_class.items()},
                "estimates": self.estimates, "cases_by_kind": self.cases_by_kind,
                "cases_by_status": self.cases_by_status, "cases": self.cases,
                "notifications_by_bureau": self.notifications_by_bureau,
                "measures": self.measures}


def _in(value: dt.datetime | None, start: dt.datetime, end: dt.datetime) -> bool:
    if value is None:
        return False
    v = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return start <= v < end


def collect(session: Session, period: str, *, now: dt.datetime | None = None,
            tz: ZoneInfo | None = None) -> HalfYear:
    """Gather one half year's statistics from the database.  The half year is the bureau's:
    it starts and ends at midnight in its time zone (*tz*, the ``timezone`` setting), so an
    order placed at 01:00 on 1 January in Beijing (17:00 UTC the day before) counts in the
    new year, as the bureau's own records date it."""
    d0, d1 = parse_period(period)
    tz = tz or clock.bureau_zone()
    start = dt.datetime.combine(d0, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(d1, dt.time(), tzinfo=tz)
    out = HalfYear(period.upper(), d0, d1, now or dt.datetime.now(dt.UTC))
    rows = session.execute(
        select(Purchase, Listing, Platform.code, LabResult.outcome)
        .join(PlanItem, Purchase.plan_item_id == PlanItem.id)
        .join(Listing, PlanItem.listing_id == Listing.id)
        .join(Platform, Listing.platform_id == Platform.id)
        .outerjoin(Sample, Sample.purchase_id == Purchase.id)
        .outerjoin(LabResult, LabResult.sample_id == Sample.id)
        .where(Purchase.ordered_at.is_not(None))).all()
    plan_ids: set[int] = set()
    groups: dict[str, dict[str, Breakdown]] = {"platform": defaultdict(Breakdown),
                                               "sector": defaultdict(Breakdown),
                                               "class": defaultdict(Breakdown)}
    for purchase, listing, platform_code, outcome in rows:
        if not _in(purchase.ordered_at, start, end) or \
                purchase.status == PurchaseStatus.CANCELLED:
            continue
        plan_ids.add(purchase.plan_item.plan_id)
        keys = {"platform": platform_code, "sector": listing.sector.value,
                "class": listing.supervision_class.value}
        for target in [out.totals, *(groups[g][k] for g, k in keys.items())]:
            target.ordered += 1
            if outcome is not None:
                target.results += 1
                target.failed += int(outcome.value == "fail")
    out.by_platform = dict(sorted(groups["platform"].items()))
    out.by_sector = dict(sorted(groups["sector"].items()))
    out.by_class = dict(sorted(groups["class"].items()))
    out.estimates = _estimates(session, sorted(plan_ids))
    cases = [c for c in session.scalars(select(Case).order_by(Case.id))
             if _in(c.opened_at, start, end)]
    out.cases_by_kind = dict(Counter(c.kind for c in cases))
    out.cases_by_status = dict(Counter(c.status.value for c in cases))
    all_platforms = list(session.scalars(select(Platform)))
    platforms = {p.id: p.code for p in all_platforms}
    out.platform_names = {p.code: p.name or p.code for p in all_platforms}
    out.cases = [{"number": c.number, "kind": c.kind, "status": c.status.value,
                  "platform": platforms.get(c.platform_id or -1, ""),
                  "bureau": c.jurisdiction_bureau, "title": c.title[:160],
                  "opened_at": clock.local_date(c.opened_at)} for c in cases]
    notes = [n for n in session.scalars(select(Notification)) if _in(n.sent_at, start, end)]
    out.notifications_by_bureau = dict(Counter(n.bureau for n in notes))
    measures: dict[str, dict[str, int]] = defaultdict(lambda: {"ordered": 0, "done": 0})
    for m in session.scalars(select(Measure)):
        if _in(m.ordered_at, start, end):
            measures[m.kind.value]["ordered"] += 1
            measures[m.kind.value]["done"] += int(m.done_at is not None)
    out.measures = dict(measures)
    return out


def _estimates(session: Session, plan_ids: list[int]) -> list[dict[str, Any]]:
    """The sampler's design-based estimates for each plan with lab results."""
    from sampler.plan_estimates import estimate_plan

    out = []
    for pid in plan_ids:
        plan = session.get(Plan, pid)
        if plan is None:
            continue
        try:
            est = estimate_plan(session, pid)
        except InvalidInput:
            continue  # no lab result yet
        o = est["overall"]
        out.append({"plan": pid, "version": plan.version, "campaign": est["campaign"],
                    "results": est["results"], "failures": est["failures"],
                    "pending": est["pending"], "ht_rate": o["ht_rate"],
                    "ht_rate_ci": list(o["ht_rate_ci"]), "hajek_rate": o["hajek_rate"],
                    "hajek_rate_ci": list(o["hajek_rate_ci"]), "deff_kish": o["deff_kish"],
                    "interval_method": o["interval_method"],
                    "ht_interval_method": o["ht_interval_method"],
                    "variance_method": o["variance_method"], "notes": est["notes"],
                    "note_codes": est["note_codes"]})
    return out


# --- charts -----------------------------------------------------------------------------------


def _svg_head(title: str, width: int, height: int) -> list[str]:
    """A chart's opening tag (its title as its accessible name, CJK font) and its title line;
    the title is escaped (it may carry a campaign's name)."""
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img" aria-label="{escape(title)}" font-family="Noto Sans CJK SC, sans-serif"'
            ' font-size="12">',
            f'<text x="0" y="16" font-weight="bold" font-size="13">{escape(title)}</text>']


def svg_bars(title: str, data: dict[str, tuple[int, int]], labels: tuple[str, str],
             width: int = 640) -> str:
    """A grouped horizontal bar chart (ordered vs failed) as inline SVG; labels escaped."""
    row = 26
    left, shown = fit_labels(data, width)
    height = 40 + row * max(1, len(data)) + 24
    top = max((a for a, _ in data.values()), default=0) or 1
    scale = (width - left - 60) / top
    parts = _svg_head(title, width, height)
    y = 32
    for name, (a, b) in data.items():
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">'
                     f'{escape(shown[str(name)])}</text>')
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{a * scale:.1f}" height="9" '
                     'fill="#4e79a7"/>')
        parts.append(f'<rect x="{left}" y="{y + 13}" width="{b * scale:.1f}" height="9" '
                     'fill="#e15759"/>')
        parts.append(f'<text x="{left + a * scale + 4:.1f}" y="{y + 12}">{a}</text>')
        parts.append(f'<text x="{left + b * scale + 4:.1f}" y="{y + 22}">{b}</text>')
        y += row
    y += 8
    parts.append(f'<rect x="{left}" y="{y}" width="10" height="10" fill="#4e79a7"/>'
                 f'<text x="{left + 14}" y="{y + 9}">{escape(labels[0])}</text>'
                 f'<rect x="{left + 120}" y="{y}" width="10" height="10" fill="#e15759"/>'
                 f'<text x="{left + 134}" y="{y + 9}">{escape(labels[1])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_intervals(title: str, data: dict[str, tuple[float, float, float]],
                  width: int = 640) -> str:
    """Estimates with their intervals as inline SVG: per row a line from the interval's low
    to its high end and a dot at the estimate, on one 0–100 % scale; labels escaped."""
    row = 24
    left, shown = fit_labels(data, width)
    height = 40 + row * max(1, len(data)) + 20
    top = max((hi for _e, _lo, hi in data.values()), default=0.0) or 1.0
    top = min(1.0, max(0.05, top * 1.1))
    scale = (width - left - 110) / top
    parts = _svg_head(title, width, height)
    y = 32
    for name, (est, lo, hi) in data.items():
        x0, x1, xe = left + lo * scale, left + hi * scale, left + est * scale
        parts.append(f'<text x="{left - 8}" y="{y + 12}" text-anchor="end">'
                     f'{escape(shown[str(name)])}</text>')
        parts.append(f'<line x1="{x0:.1f}" y1="{y + 8}" x2="{x1:.1f}" y2="{y + 8}" '
                     'stroke="#4e79a7" stroke-width="2"/>')
        for x in (x0, x1):
            parts.append(f'<line x1="{x:.1f}" y1="{y + 3}" x2="{x:.1f}" y2="{y + 13}" '
                         'stroke="#4e79a7" stroke-width="2"/>')
        parts.append(f'<circle cx="{xe:.1f}" cy="{y + 8}" r="4" fill="#e15759"/>')
        parts.append(f'<text x="{x1 + 6:.1f}" y="{y + 12}">{100 * est:.1f}% '
                     f'[{100 * lo:.1f}–{100 * hi:.1f}]</text>')
        y += row
    parts.append(f'<line x1="{left}" y1="{y + 4}" x2="{left + top * scale:.1f}" y2="{y + 4}" '
                 'stroke="#999"/>')
    parts.append(f'<text x="{left}" y="{y + 16}">0%</text>'
                 f'<text x="{left + top * scale:.1f}" y="{y + 16}" text-anchor="end">'
                 f'{100 * top:.0f}%</text>')
    parts.append("</svg>")
    return "".join(parts)


# --- writers ----------------------------------------------------------------------------------


def notes_in(estimate: dict[str, Any], locale: str) -> list[str]:
    """How a plan's estimate was made, in *locale* (a report written before the notes were
    coded keeps its English notes)."""
    from sampler.plan_estimates import notes_in as coded

    return coded(estimate, locale) if "note_codes" in estimate else list(estimate.get("notes", []))


def write_xlsx(report: HalfYear, path: Path, locale: str = "zh-CN") -> Path:
    """The statistics as a workbook to hand on: typed columns (rates as percentages, dates as
    dates, case numbers as text), frozen and filtered headers in the file's language, and a
    chart sheet (samples by platform, measures, estimates with their intervals).

    One function per sheet, in the order the sheets appear; the chart sheet comes last
    because its charts reference the cells of the samples, measures and estimates sheets.
    """
    from openpyxl import Workbook

    L = headings(locale)
    names = text_labels_of("half_year_sheet", locale)
    wb = Workbook()
    _xlsx_summary(wb, report, L, names, locale)
    samples = _xlsx_samples(wb, report, L, names, locale)
    est, e_last = _xlsx_estimates(wb, report, L, names, locale)
    _xlsx_cases(wb, report, L, names, locale)
    ms, m_last = _xlsx_measures(wb, report, L, names, locale)
    _xlsx_notifications(wb, report, L, names)
    _xlsx_charts(wb, report, L, names, (samples, len(report.by_platform)), (ms, m_last),
                 (est, e_last))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _xlsx_summary(wb: Workbook, report: HalfYear, L: dict[str, str], names: dict[str, str],
                  locale: str) -> None:
    """The first sheet: title, period, when generated (bureau time), the sample totals."""
    from openpyxl.styles import Font

    from store.workbook import Column, write_table

    ws = wb.active
    assert ws is not None
    ws.title = names["summary"]
    ws["A1"] = L["title"]
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([L["period"], f"{report.start:%Y-%m-%d} – {report.last_day:%Y-%m-%d} "
                            f"({report.period})"])
    ws.append([L["generated"], clock.local(report.generated_at, locale)])
    write_table(ws, [Column("", "text", 18), Column(L["ordered"], "int"),
                     Column(L["results"], "int"), Column(L["failed"], "int"),
                     Column(L["fail_share"], "percent")],
                [[L["samples"], report.totals.ordered, report.totals.results,
                  report.totals.failed, report.totals.fail_share]],
                first_row=5)


def _xlsx_samples(wb: Workbook, report: HalfYear, L: dict[str, str], names: dict[str, str],
                  locale: str) -> Worksheet:
    """Samples by platform, then sector, then supervision class (the platform rows come
    first: the platform chart reads them from row 2 on)."""
    from store.workbook import Column, write_table

    samples = wb.create_sheet(names["samples"])
    s_cols = [Column(L["kind"], "text"), Column(L["platform"] + " / " + L["sector"] + " / "
                                                + L["class"], "text"),
              Column(L["ordered"], "int"), Column(L["results"], "int"),
              Column(L["failed"], "int"), Column(L["fail_share"], "percent")]
    s_rows = [[L[f"by_{group}"], report.label(group, k, locale), b.ordered, b.results,
               b.failed, b.fail_share]
              for group, data in (("platform", report.by_platform),
                                  ("sector", report.by_sector),
                                  ("class", report.by_class))
              for k, b in data.items()]
    write_table(samples, s_cols, s_rows)
    return samples


def _xlsx_estimates(wb: Workbook, report: HalfYear, L: dict[str, str], names: dict[str, str],
                    locale: str) -> tuple[Worksheet, int]:
    """Each plan's HT and Hájek rates with their intervals, then how each estimate was
    made in the file's language (the sampler's coded notes); (sheet, last table row)."""
    from store.workbook import Column, write_table

    est = wb.create_sheet(names["estimates"])
    e_cols = [Column(L["campaign"], "text"), Column(L["plan"], "text"), Column(L["n"], "int"),
              Column(L["failed"], "int"), Column(L["ht"], "percent"),
              Column(L["ci"] + " (HT) ↓", "percent"), Column(L["ci"] + " (HT) ↑", "percent"),
              Column(L.get("method", "method"), "text"),
              Column(L["hajek"], "percent"), Column(L["ci"] + " (Hájek) ↓", "percent"),
              Column(L["ci"] + " (Hájek) ↑", "percent"), Column(L.get("method", "method"), "text")]
    e_rows = [[e["campaign"], f"#{e['plan']} v{e['version']}", e["results"], e["failures"],
               e["ht_rate"], *e["ht_rate_ci"],
               code_label("interval", e.get("ht_interval_method", ""), locale),
               e["hajek_rate"], *e["hajek_rate_ci"],
               code_label("interval", e.get("interval_method", ""), locale)]
              for e in report.estimates]
    _, e_last = write_table(est, e_cols, e_rows)
    est.cell(row=e_last + 2, column=1, value=L["note_estimates"])
    row = e_last + 3
    for e in report.estimates:
        for text in notes_in(e, locale):
            est.cell(row=row, column=1, value=f"#{e['plan']} v{e['version']}")
            est.cell(row=row, column=2, value=text)
            row += 1
    return est, e_last


def _xlsx_cases(wb: Workbook, report: HalfYear, L: dict[str, str], names: dict[str, str],
                locale: str) -> None:
    """The half-year's cases: numbers as text, codes by their labels, opened as a date."""
    from store.workbook import Column, write_table

    cs = wb.create_sheet(names["cases"])
    write_table(cs, [Column(L["case_number"], "text", 22), Column(L["kind"], "text"),
                     Column(L["status"], "text"), Column(L["platform"], "text"),
                     Column(L["bureau"], "text"), Column(L["opened_on"], "date"),
                     Column(L["case_title"], "text", 60)],
                [[c["number"], code_label("case_kind", c["kind"], locale),
                  code_label("case_status", c["status"], locale),
                  report.label("platform", c["platform"], locale), c["bureau"],
                  c["opened_at"], c["title"]]
                 for c in report.cases])


def _xlsx_measures(wb: Workbook, report: HalfYear, L: dict[str, str], names: dict[str, str],
                   locale: str) -> tuple[Worksheet, int]:
    """Measures ordered and done, by kind; (sheet, last table row) for the measures chart."""
    from store.workbook import Column, write_table

    ms = wb.create_sheet(names["measures"])
    _, m_last = write_table(ms, [Column(L["measure"], "text"), Column(L["count"], "int"),
                                 Column(L["done"], "int")],
                            [[code_label("measure", k, locale), v["ordered"], v["done"]]
                             for k, v in report.measures.items()])
    return ms, m_last


def _xlsx_notifications(wb: Workbook, report: HalfYear, L: dict[str, str],
                        names: dict[str, str]) -> None:
    """Notifications sent, by bureau."""
    from store.workbook import Column, write_table

    ns = wb.create_sheet(names["notifications"])
    write_table(ns, [Column(L["bureau"], "text"), Column(L["notifications"], "int")],
                [[k, n] for k, n in report.notifications_by_bureau.items()])


def _xlsx_charts(wb: Workbook, report: HalfYear, L: dict[str, str], names: dict[str, str],
                 samples: tuple[Worksheet, int], measures: tuple[Worksheet, int],
                 estimates: tuple[Worksheet, int]) -> None:
    """Native Excel charts over the other sheets' cells (so they follow an edit there):
    samples by platform, measures, Hájek estimates with their interval's bounds.  Each
    pair is (sheet, row count or last row) of the table the chart reads."""
    from openpyxl.chart import BarChart, Reference

    samples_ws, platform_rows = samples
    ms, m_last = measures
    est, e_last = estimates
    charts = wb.create_sheet(names["charts"])
    anchor = 1
    if platform_rows:
        chart = BarChart()
        chart.type, chart.title = "col", L["by_platform"]
        chart.y_axis.title = L["count"]
        # the first rows of the samples sheet are the platforms
        chart.add_data(Reference(samples_ws, min_col=3, max_col=5, min_row=1,
                                 max_row=1 + platform_rows), titles_from_data=True)
        chart.set_categories(Reference(samples_ws, min_col=2, min_row=2,
                                       max_row=1 + platform_rows))
        chart.height, chart.width = 8, 16
        charts.add_chart(chart, f"A{anchor}")
        anchor += 17
    if report.measures:
        chart = BarChart()
        chart.type, chart.title = "bar", L["measures"]
        chart.add_data(Reference(ms, min_col=2, max_col=3, min_row=1, max_row=m_last),
                       titles_from_data=True)
        chart.set_categories(Reference(ms, min_col=1, min_row=2, max_row=m_last))
        chart.height, chart.width = 8, 16
        charts.add_chart(chart, f"A{anchor}")
        anchor += 17
    if report.estimates:
        chart = BarChart()
        chart.type, chart.title = "col", L["estimates"]
        chart.y_axis.number_format = "0%"
        # Hájek estimate and its interval's bounds side by side, on one scale
        for col in (9, 10, 11):
            chart.add_data(Reference(est, min_col=col, min_row=1, max_row=e_last),
                           titles_from_data=True)
        chart.set_categories(Reference(est, min_col=2, min_row=2, max_row=e_last))
        chart.height, chart.width = 8, 16
        charts.add_chart(chart, f"A{anchor}")


def render_html(report: HalfYear, locale: str = "zh-CN") -> str:
    env = environment("scheduler", strict=False)
    L = headings(locale)

    def pairs(group: str, data: dict[str, Breakdown]) -> dict[str, tuple[int, int]]:
        return {report.label(group, k, locale): (b.ordered, b.failed) for k, b in data.items()}

    charts = {
        "platform": svg_bars(L["by_platform"], pairs("platform", report.by_platform),
                             (L["ordered"], L["failed"])),
        "sector": svg_bars(L["by_sector"], pairs("sector", report.by_sector),
                           (L["ordered"], L["failed"])),
        "class": svg_bars(L["by_class"], pairs("class", report.by_class),
                          (L["ordered"], L["failed"])),
        "estimates": svg_intervals(f"{L['estimates']} · {L['hajek']} ({L['ci']})", {
            f"#{e['plan']} v{e['version']}": (e["hajek_rate"], *e["hajek_rate_ci"])
            for e in report.estimates}),
        "measures": svg_bars(L["measures"], {code_label("measure", k, locale):
                                             (v["ordered"], v["done"])
                                             for k, v in report.measures.items()},
                             (L["count"], L["done"])),
    }
    from markupsafe import Markup

    return env.get_template("report_half_year.html").render(
        r=report, L=L, locale=locale, lbl=lambda group, k: report.label(group, k, locale),
        notes_of=lambda e: notes_in(e, locale),
        local_time=lambda t: clock.local(t, locale),
        charts={k: Markup(v) for k, v in charts.items()})


def html_to_pdf(html_paths: list[Path], settings: Settings) -> list[Path]:
    """Print HTML files to PDFs beside them, with one Chromium (fonts-noto-cjk renders the
    Chinese): the report in each language without a browser launch each."""
    return print_pdfs([PrintJob(html, html.with_suffix(".pdf"), margin_mm=(16, 16, 14, 14))
                       for html in html_paths], settings)


def half_year_report(session: Session, period: str, out_dir: Path | str,
                     formats: tuple[str, ...] | list[str] = ("xlsx", "pdf"), *,
                     settings: Settings | None = None, locales: tuple[str, ...] = LOCALES,
                     now: dt.datetime | None = None) -> dict[str, Any]:
    """Write the half year's report files; returns the statistics and the file paths."""
    from store.settings import get_settings

    settings = settings or get_settings()
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise InvalidInput("reports.unknown_report_format_xlsx_pdf", join_bad=', '.join(bad))
    for loc in locales:
        if loc not in LOCALES:
            raise InvalidInput("reports.unknown_locale_zh_cn_en", loc=loc)
    report = collect(session, period, now=now, tz=settings.zone)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    stem = f"half-year-{report.period}"
    htmls: list[Path] = []
    for loc in locales:
        if "xlsx" in formats:
            files.append(str(write_xlsx(report, out / f"{stem}.{loc}.xlsx", loc)))
        if "pdf" in formats:
            html = out / f"{stem}.{loc}.html"
            html.write_text(render_html(report, loc), encoding="utf-8")
            htmls.append(html)
            files += [str(html), str(html.with_suffix(".pdf"))]
    html_to_pdf(htmls, settings)
    if "json" in formats:
        path = out / f"{stem}.json"
        path.write_text(dumps(jsonable(report.as_dict())), encoding="utf-8")
        files.append(str(path))
    return {"statistics": report.as_dict(), "files": files}
