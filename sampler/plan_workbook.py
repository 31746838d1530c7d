"""A plan as spreadsheets people hand on: the plan workbook and the bureau's sampling form.

Both go through :func:`store.workbook.write_table` (typed cells, frozen header, filter,
widths, headers in the file's language).  The plan workbook has the plan's facts, the strata,
every item and a chart sheet of the allocation; the sampling form (抽样单) has one row per
item as the bureau's form asks: the sample (product, brand, model, seller, platform, link),
the standards it is tested against and the test items (``sampler/sampling_standards.toml``,
by the classification rule that made it key supervision, else by sector), the lab and the
seal number once the purchase has them.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.errors import NotFound
from store.labels import label, stratum_label, text_label, text_labels_of, yes_no
from store.messages import join_clauses
from store.models import Listing, Plan, PlanItem, Purchase, Sample, Sector, SupervisionClass
from store.workbook import FORMATS, Column, safe_sheet_title, write_table

STANDARDS_FILE = Path(__file__).with_name("sampling_standards.toml")


@cache
def standards_table() -> dict[str, dict[str, dict[str, list[str]]]]:
    with STANDARDS_FILE.open("rb") as fh:
        return tomllib.load(fh)


def standards_for(listing: Listing) -> tuple[list[str], list[str]]:
    """(standards, test items) of a listing: those of the first classification rule that has
    an entry, else its sector's."""
    table = standards_table()
    standards: list[str] = []
    items: list[str] = []
    for reason in listing.class_reasons or []:
        rule = reason.get("rule") if isinstance(reason, dict) else None
        entry = table.get("rule", {}).get(str(rule)) if rule else None
        if entry:
            standards += [s for s in entry["standards"] if s not in standards]
            items += [i for i in entry["items"] if i not in items]
    if not standards and not items:
        sector = listing.sector.value if isinstance(listing.sector, Sector) else str(
            listing.sector)
        entry = table.get("sector", {}).get(sector) or table["sector"]["other"]
        standards, items = list(entry["standards"]), list(entry["items"])
    return standards, items


def _plan(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("plan_workbook.plan", plan_id=plan_id)
    return plan


def write_plan_workbook(session: Session, plan_id: int, path: Path, locale: str = "zh-CN"
                        ) -> Path:
    """The plan workbook: plan facts, strata, items, and a chart sheet of the allocation."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Alignment

    from sampler.plans import item_dict, plan_summary
    from store.platformnames import platform_names

    t = text_labels_of("plan_workbook", locale)
    plan = _plan(session, plan_id)
    summary = plan_summary(session, plan_id)
    names = platform_names(session)  # a stratum names its platform
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = safe_sheet_title(t["plan"])
    method = text_label("sampling_method", plan.method, locale)
    # (field, value, kind): counts and the cost are numbers a reader can sum; the seed and
    # the frame hash are identifiers, kept as text.
    facts: list[tuple[str, Any, str]] = [
        (t["campaign"], plan.campaign.name, "text"), (t["version"], plan.version, "int"),
        (t["status"], label(type(plan.status), plan.status, locale), "text"),
        (t["method"], method, "text"), (t["seed"], str(plan.seed), "text"),
        (t["frame"], plan.frame_size, "int"), (t["frame_hash"], plan.frame_sha256, "text"),
        (t["sample"], plan.sample_size, "int"),
        (t["expected_cost"],
         None if plan.expected_cost is None else float(plan.expected_cost), "money"),
        (t["drawn_by"], plan.created_by or "", "text"),
        (t["reviewed_by"], plan.reviewed_by or "", "text"),
        (t["comment"], plan.review_comment or "", "text")]
    write_table(ws, [Column(t["field"], "text", 22), Column(t["value"], "text", 70)],
                [(field, "" if kind != "text" else value) for field, value, kind in facts])
    for row, (_field, value, kind) in enumerate(facts, start=2):
        if kind != "text" and value is not None:
            cell = ws.cell(row=row, column=2, value=value)
            cell.number_format = FORMATS[kind]
            cell.alignment = Alignment(horizontal="left")
    st = wb.create_sheet(safe_sheet_title(t["strata"]))
    keys = ("stratum", "N_h", "n_h", "allocated", "sampling_rate", "pi_min", "pi_max",
            "certainty", "sample_cost", "risk_mean")
    kinds = ("text", "int", "int", "number", "percent", "ratio", "ratio", "int", "money",
             "ratio")
    heads = ("stratum", "N_h", "n_h", "allocated", "rate", "pi_min", "pi_max", "certainty",
             "sample_cost", "risk_mean")
    _, last = write_table(st, [Column(t[h], k) for h, k in zip(heads, kinds, strict=True)],
                          [[stratum_label(r["stratum"], locale, names) if k == "stratum" else
                            _num(r.get(k)) for k in keys] for r in summary["strata"]])
    items = wb.create_sheet(safe_sheet_title(t["items"]))
    cols = [Column(t["seq"], "int", 6), Column(t["listing_id"], "text"),
            Column(t["platform"], "text"), Column(t["external_id"], "text"),
            Column(t["title"], "text", 50), Column(t["url"], "text", 40),
            Column(t["seller_id"], "text"), Column(t["stratum"], "text"),
            Column(t["pi"], "ratio"), Column(t["weight"], "number"),
            Column(t["certain"], "text", 8), Column(t["risk"], "ratio"),
            Column(t["price"], "money")]
    write_table(items, cols, [
        [d["seq"], str(d["listing_id"]), d["platform"], d["external_id"], d["title"], d["url"],
         "" if d["seller_id"] is None else str(d["seller_id"]),
         stratum_label(d["stratum"], locale, names),
         d["inclusion_probability"], d["weight"], yes_no(d["certainty"], locale),
         d["risk_score"], _num(d["expected_price"])]
        for d in (item_dict(it) for it in plan.items)])
    charts = wb.create_sheet(safe_sheet_title(t["charts"]))
    if last > 1:
        chart = BarChart()
        chart.type, chart.title = "bar", t["chart"]
        chart.add_data(Reference(st, min_col=2, max_col=3, min_row=1, max_row=last),
                       titles_from_data=True)
        chart.set_categories(Reference(st, min_col=1, min_row=2, max_row=last))
        chart.height, chart.width = max(8, 0.6 * last), 18
        charts.add_chart(chart, "A1")
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def write_sampling_form(session: Session, plan_id: int, path: Path, locale: str = "zh-CN"
                        ) -> Path:
    """The bureau's sampling form (抽样单): one row per plan item, with the standards and
    test items, and the lab, seal number, order and price once the purchase has them."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    t = text_labels_of("plan_workbook", locale)
    plan = _plan(session, plan_id)
    bought = {item_id: (sample, purchase) for item_id, sample, purchase in session.execute(
        select(PlanItem.id, Sample, Purchase)
        .join(Purchase, Purchase.plan_item_id == PlanItem.id)
        .outerjoin(Sample, Sample.purchase_id == Purchase.id)
        .where(PlanItem.plan_id == plan.id))}
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = safe_sheet_title(t["form"])
    cols = [Column(t["seq"], "int", 6), Column(t["form_no"], "text", 22),
            Column(t["product"], "text", 40), Column(t["brand"], "text", 14),
            Column(t["model"], "text", 14), Column(t["seller"], "text", 24),
            Column(t["platform"], "text", 16), Column(t["url"], "text", 36),
            Column(t["class"], "text", 12), Column(t["standards"], "text", 48),
            Column(t["test_items"], "text", 40), Column(t["lab"], "text", 24),
            Column(t["seal"], "text", 18), Column(t["order"], "text", 18),
            Column(t["paid"], "money"), Column(t["pi"], "ratio")]
    rows = []
    for it in plan.items:
        listing = it.listing
        standards, tests = standards_for(listing)
        sample, purchase = bought.get(it.id, (None, None))
        rows.append([
            it.seq, f"{plan.campaign_id}-{plan.version}-{it.seq:04d}", listing.title[:300],
            listing.brand or "", listing.model or "",
            listing.seller.name if listing.seller else "", listing.platform.name, listing.url,
            label(SupervisionClass, listing.supervision_class, locale),
            "\n".join(standards), join_clauses(tests, locale), (sample.lab_name if sample and sample.lab_name else ""),
            sample.code if sample else "", purchase.order_number if purchase and
            purchase.order_number else "",
            _num(purchase.price_paid) if purchase else None, it.inclusion_probability])
    title = (f"{t['form_title']} · {plan.campaign.name} v{plan.version}")
    _, last = write_table(ws, cols, rows, title=title)
    for row in ws.iter_rows(min_row=3, max_row=last, min_col=10, max_col=11):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _num(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
