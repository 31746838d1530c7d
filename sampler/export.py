"""Exporting a plan for people outside the system: csv, xlsx, json, pdf.

The PDF is the reviewer's report: ``sampler/templates/plan_report.html`` (Jinja2, autoescaped —
titles are crawled text) rendered by Chromium through Playwright's ``page.pdf()``, in
zh-CN or en, with an allocation chart drawn as inline SVG (no JavaScript, no network).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy.orm import Session

from sampler.plans import item_dict, plan_dict, plan_summary
from store.errors import InvalidInput, NotFound
from store.jsonio import json_default
from store.labels import LOCALES, label, stratum_in_text, stratum_label, text_label, text_labels_of
from store.models import Plan, PlanStatus
from store.printing import PrintJob, print_pdfs
from store.settings import Settings, get_settings
from store.templating import environment

#: "form": the bureau's sampling form (抽样单) as XLSX (sampler.plan_workbook).
FORMATS = ("csv", "xlsx", "json", "pdf", "form")
ITEM_COLUMNS = ("seq", "listing_id", "platform", "external_id", "title", "url", "seller_id",
                "stratum", "inclusion_probability", "weight", "certainty", "size", "risk_score",
                "expected_price")

def registration_text(reg: dict[str, Any] | None, labels: dict[str, str], status: str,
                      locale: str = "zh-CN") -> str:
    """The pre-registration line of the report; the time-stamp as a person reads times (the
    bureau's zone, to the second) with the same instant in UTC, as on evidence."""
    if reg is None:
        return labels["not_registered"] if status == "approved" else \
            labels["registered_on_approval"]
    stamps = reg.get("timestamps") or []
    return labels["registered"].format(sha=reg.get("manifest_sha256", ""),
                                       key=str(reg.get("key_fingerprint", ""))[:16] + "…",
                                       time=_stamp_time(stamps[0]["gen_time"], locale) if stamps
                                       else labels["no_token"])


def _stamp_time(value: Any, locale: str) -> str:
    import datetime as dt

    from store.clock import local_and_utc

    try:
        when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return local_and_utc(when, locale)


def allocation_svg(rows: list[dict[str, Any]], labels: dict[str, str]) -> Markup:
    """Per stratum, on one scale of buys: n_h drawn (bar) beside what a proportional
    allocation would give, n·N_h/N (outlined bar); N_h is printed, not drawn (a bar for 162
    listings beside one for 5 buys on separate scales said nothing)."""
    width, bar_h, gap, left = 640, 11, 10, 190
    height = 30 + len(rows) * (2 * bar_h + gap)
    n = sum(r["n_h"] for r in rows)
    N = sum(r["N_h"] for r in rows) or 1
    prop = [n * r["N_h"] / N for r in rows]
    top = max([float(r["n_h"]) for r in rows] + prop + [1.0])
    span = width - left - 110
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(labels["chart"])}" font-size="11">',
             f'<rect x="{left}" y="4" width="10" height="10" fill="#c0392b"/>'
             f'<text x="{left + 14}" y="13">{escape(labels["sample_units"])} n_h</text>'
             f'<rect x="{left + 110}" y="4" width="10" height="10" fill="none" '
             f'stroke="#34495e"/><text x="{left + 124}" y="13">'
             f'{escape(labels["proportional"])}</text>']
    y = 24
    for r, p in zip(rows, prop, strict=True):
        w_n = span * r["n_h"] / top
        w_p = span * p / top
        parts.append(f'<text x="{left - 6}" y="{y + bar_h + 3}" text-anchor="end">'
                     f'{escape(str(r["stratum"])[:40])}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w_n:.1f}" height="{bar_h}" '
                     f'fill="#c0392b"/><text x="{left + w_n + 4:.1f}" y="{y + 9}">'
                     f'{r["n_h"]} / N_h {r["N_h"]}</text>')
        parts.append(f'<rect x="{left}" y="{y + bar_h}" width="{w_p:.1f}" height="{bar_h}" '
                     f'fill="none" stroke="#34495e"/><text x="{left + w_p + 4:.1f}" '
                     f'y="{y + bar_h + 9}">{p:.1f}</text>')
        y += 2 * bar_h + gap
    parts.append("</svg>")
    return Markup("".join(parts))


def render_html(session: Session, plan_id: int, locale: str = "zh-CN") -> str:
    """The plan report as a self-contained HTML page."""
    if locale not in LOCALES:
        raise InvalidInput("export.unknown_locale_use_zh_cn", locale=locale)
    summary = plan_summary(session, plan_id)
    plan = session.get(Plan, plan_id)
    assert plan is not None
    labels = text_labels_of("plan_report", locale)
    env = environment("sampler", strict=False)
    template = env.get_template("plan_report.html")
    from store.models import utcnow

    status = summary["plan"]["status"]
    from sampler.registration import registration_of
    from store.platformnames import platform_names

    names = platform_names(session)  # a stratum names its platform (the CSV keeps codes)
    return template.render(
        t=labels, locale=locale, summary=summary, plan=summary["plan"],
        code=lambda domain, c: text_label(domain, c, locale),
        stratum=lambda h: stratum_label(h, locale, names),
        quoted=lambda text, h: stratum_in_text(text, h, locale, names),
        registration=registration_text(registration_of(session, plan_id), labels, status,
                                       locale),
        status_text=label(PlanStatus, status, locale),
        items=[item_dict(it) for it in plan.items],
        chart=allocation_svg([{**r, "stratum": stratum_label(r["stratum"], locale, names)}
                              for r in summary["strata"]], labels),
        lang="zh" if locale == "zh-CN" else "en", generated=utcnow().strftime("%Y-%m-%d %H:%M UTC"))


def _pdf(html: str, path: Path, settings: Settings) -> None:
    print_pdfs([PrintJob(html, path, landscape=True)], settings)


def export_plan(session: Session, plan_id: int, fmt: str, path: Path, *,
                locale: str = "zh-CN", settings: Settings | None = None) -> Path:
    """Write plan *plan_id* as *fmt* to *path* (its folder is created) and return the path."""
    if fmt not in FORMATS:
        raise InvalidInput("export.unknown_format_choose_one", fmt=fmt,
                           join_formats=', '.join(FORMATS))
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound("export.plan", plan_id=plan_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = settings or get_settings()
    items = [item_dict(it) for it in plan.items]
    if fmt == "json":
        data = {**plan_dict(plan, items=False), "summary": plan_summary(session, plan_id),
                "items": items}
        path.write_text(json.dumps(data, default=json_default, ensure_ascii=False, indent=2),
                        encoding="utf-8")
    elif fmt == "csv":
        with path.open("w", newline="", encoding="utf-8-sig") as fh:
            writer = csv.writer(fh)
            writer.writerow([*ITEM_COLUMNS, "reasons"])
            for it in items:
                writer.writerow([_cell(it[c]) for c in ITEM_COLUMNS]
                                + [_cell(_reasons_text(it["reasons"], locale))])
    elif fmt == "xlsx":
        from sampler.plan_workbook import write_plan_workbook

        write_plan_workbook(session, plan_id, path, locale)
    elif fmt == "form":
        from sampler.plan_workbook import write_sampling_form

        write_sampling_form(session, plan_id, path, locale)
    else:
        _pdf(render_html(session, plan_id, locale), path, settings)
    return path


def _reasons_text(reasons: list[Any], locale: str) -> str:
    key = "zh" if locale == "zh-CN" else "en"
    return "; ".join(str(r.get(key) or r.get("en") or r.get("code", ""))
                     for r in reasons if isinstance(r, dict))


def _cell(value: Any) -> Any:
    if isinstance(value, bool | int | float) or value is None:
        return value
    text = str(value)
    # Spreadsheet formula injection: crawled titles must never run as formulas.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
