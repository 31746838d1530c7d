"""``spotcheck demo``: the whole mission as one command, on the sandbox marketplace."""

from __future__ import annotations

import time
from typing import Any

import typer
from rich.markup import escape
from rich.panel import Panel

from spotcheck.context import current
from spotcheck.output import (
    bar_chart,
    console,
    err_console,
    heading,
    print_json,
    reader_locale,
    table,
)
from store.labels import label, stratum_label
from store.vocabulary import PurchaseStatus, SupervisionClass


def demo(json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
         listings: int = typer.Option(1500, "--listings", min=60, max=200_000,
                                      help="Listings in the sandbox marketplace."),
         sample_size: int = typer.Option(30, "--sample-size", min=6,
                                         help="Purchases in the plan."),
         browser_purchases: int = typer.Option(3, "--browser-purchases", min=0,
                                               help="Plan items bought through Chromium."),
         ) -> None:
    """Run the whole spot-check pipeline on the sandbox marketplace and summarise it.

    Starts the sandbox, creates users, personas and a campaign, crawls every platform style,
    imports foreign notices, scores, draws and approves a plan, buys plan items through
    Chromium, captures evidence, enters lab results, estimates non-compliance, opens a case,
    exports and verifies an evidence pack, and writes the reports.  Use --db for
    PostgreSQL.
    """
    from spotcheck.demo_steps import Demo, DemoOptions, build_summary, jsonable

    ctx = current()
    started = time.perf_counter()
    options = DemoOptions(listings=listings, sample_size=sample_size,
                          browser_purchases=browser_purchases)
    runner = Demo(ctx.settings, ctx.db, err_console if json_out else console, options)
    state = runner.run()
    summary = jsonable(build_summary(state))
    summary["seconds"] = round(time.perf_counter() - started, 1)
    if json_out:
        print_json(summary)
        return
    _print(summary)


def _print(summary: dict[str, Any]) -> None:
    """The summary for a person, in their language (the JSON keeps codes and English)."""
    locale = reader_locale()
    names: dict[str, str] = summary.get("platform_names") or {}  # a platform by its name
    console.rule(f"[bold]spotcheck demo — {escape(heading('summary'))}[/bold]")
    console.print(bar_chart(heading("listings by supervision class"),
                            {label(SupervisionClass, k, locale): v
                             for k, v in summary["listings_by_class"].items()}))
    console.print(bar_chart(heading("listings by platform"),
                            {names.get(k, k): v
                             for k, v in summary["listings_by_platform"].items()}))
    reasons_key = "reasons" if locale == "en" else "reasons_zh"
    console.print(table("top risks", ["listing", "platform", "score", "title", "reasons"],
                        [(r["listing"], names.get(r["platform"], r["platform"]), r["score"],
                          r["title"],
                          "; ".join(x or "" for x in r.get(reasons_key) or r["reasons"]))
                         for r in summary["top_risks"]]))
    plan = summary["plan"]
    console.print(bar_chart(f"{heading('plan')} #{plan['id']}: {heading('items by stratum')}",
                            {stratum_label(k, locale, names): v
                             for k, v in plan["by_stratum"].items()}))
    est = summary.get("estimate") or {}
    overall = est.get("overall") or {}
    if overall:
        console.print(table("estimated non-compliance (95% Korn–Graubard intervals)",
                            ["scope", "n", "failures", "HT rate", "HT interval", "Hájek rate",
                             "Hájek interval", "interval method", "estimated count",
                             "Kish deff"],
                            [_est_row(heading("overall"), overall)]
                            + [_est_row(stratum_label(str(e.get("stratum")), locale, names), e)
                               for e in est.get("by_stratum") or []],
                            codes={"interval method": "interval_method"}))
    bought = summary.get("purchases_in_browser") or []
    console.print(table("covert purchases through Chromium",
                        ["purchase", "status", "order", "price", "order capture"],
                        [(b.get("purchase_id"), b.get("status"), b.get("order_number"),
                          f"{b.get('price_paid')} {b.get('currency') or ''}",
                          b.get("order_capture_id")) for b in bought],
                        codes={"status": PurchaseStatus}))
    for line in (summary.get("propagation") or {}).get("lines") or []:
        console.print(line, markup=False)
    where = [("case", summary.get("case")),
             ("evidence pack (verified)", summary.get("pack")),
             ("reports", ", ".join(summary.get("reports") or [])),
             ("console", summary["console"]),
             ("database", summary["database"]),
             ("finished in", f"{summary['seconds']} s")]
    console.print(Panel.fit("\n".join(escape(f"{heading(k)}: {v}") for k, v in where),
                            title=escape(heading("where things are"))))


def _pct(v: Any) -> str:
    return "" if v is None else f"{100 * float(v):.1f}%"


def _est_row(name: str, e: dict[str, Any]) -> tuple[Any, ...]:
    ht_ci = e.get("ht_rate_ci") or [None, None]
    hj_ci = e.get("hajek_rate_ci") or [None, None]
    return (name, e.get("n"), e.get("failures"), _pct(e.get("ht_rate")),
            f"[{_pct(ht_ci[0])}, {_pct(ht_ci[1])}]", _pct(e.get("hajek_rate")),
            f"[{_pct(hj_ci[0])}, {_pct(hj_ci[1])}]", e.get("interval_method", ""),
            f"{e.get('ht_count', 0):.0f}",
            f"{e.get('deff_kish', 0):.2f}")
