"""``spotcheck report``: half-year statistics as XLSX and PDF (zh-CN and en)."""

from __future__ import annotations

from pathlib import Path

import typer

from scheduler.reports import half_year_report
from spotcheck.context import current
from spotcheck.output import console, print_json, say, table

app = typer.Typer(help="Reports: half-year statistics.", no_args_is_help=True)


@app.command("half-year")
def half_year_cmd(
    period: str = typer.Argument(..., help="2026H1 or 2026H2."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                    help="Folder (default: the data folder's reports/)."),
    fmt: list[str] | None = typer.Option(None, "--format", "-f", help="xlsx | pdf | json "
                                                                      "(repeatable)"),
    locale: list[str] | None = typer.Option(None, "--locale", help="zh-CN | en (repeatable)"),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Samples by platform, sector and class; estimated failure rates; cases and measures."""
    current().read_as("reports.view")  # as the console's role matrix
    ctx = current()
    folder = out or ctx.settings.reports_dir / period.upper()
    with ctx.db.session() as s:
        result = half_year_report(s, period, folder, tuple(fmt or ("xlsx", "pdf")),
                                  settings=ctx.settings,
                                  locales=tuple(locale or ("zh-CN", "en")))
    if json_out:
        print_json(result)
        return
    t = result["statistics"]["totals"]
    say("cli_said.half_year", period=result["statistics"]["period"], ordered=t["ordered"],
        results=t["results"], failed=t["failed"])
    console.print(table("files", ["file"], [(f,) for f in result["files"]]))
