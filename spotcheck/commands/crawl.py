"""``spotcheck crawl PLATFORM``: index a platform's listings (Scrapy, in this process)."""

from __future__ import annotations

import typer

from spotcheck.context import current
from spotcheck.output import console, heading, print_json, table, yes_no

app = typer.Typer(help="Crawl a platform: index its listings and sellers.")


@app.command()
def crawl(
    platform: str = typer.Argument(..., help="Platform code (spotcheck platform list)."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="The platform now lives here (stored on the platform)."),
    incremental: bool = typer.Option(
        False, "--incremental", help="Do not mark unseen listings as removed."),
    fresh: bool = typer.Option(
        False, "--fresh", help="Start afresh instead of resuming an interrupted crawl."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    max_pages: int | None = typer.Option(
        None, "--max-pages", help="Stop after N pages (a bounded crawl marks nothing removed)."),
    max_duration: str | None = typer.Option(
        None, "--max-duration", help="Stop after this time: 90s, 30m, 2h."),
    products_only: bool = typer.Option(
        False, "--products-only", help="Index listings only: no seller pages."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Crawl PLATFORM. An interrupted crawl of it is resumed; with SPOTCHECK_REDIS_URL set,
    several workers running this command share one crawl."""
    from crawlers.bounds import crawl_bounds
    from crawlers.run import run_crawl_in_process

    ctx = current()
    bounds = crawl_bounds(max_pages, max_duration, products_only)
    summary = run_crawl_in_process(platform, settings=ctx.settings, base_url=base_url,
                                   full=not incremental, progress=not quiet and not json_out,
                                   fresh=fresh, bounds=bounds)
    if json_out:
        print_json(summary.as_dict())
        return
    rows: list[tuple[str, object]] = [
        ("run", summary.run_id), ("status", summary.status), ("resumed", yes_no(summary.resumed)),
        ("pages", summary.pages), ("items scraped", summary.items), ("new", summary.new_listings),
        ("changed", summary.changed_listings), ("removed", summary.removed_listings),
        ("rejected", summary.rejected_items), ("seconds", f"{summary.seconds:.1f}")]
    if summary.bounds:
        shown = ", ".join(f"{k}={v}" for k, v in summary.bounds.items() if v)
        rows.append(("bounded", shown))
    console.print(table(f"{heading('crawl')} {platform}", ["", ""], rows, fields=True))
    if summary.errors:
        console.print(table("errors by kind", ["kind", "count"],
                            sorted(summary.errors.items(), key=lambda kv: -kv[1])))


#: Mounted as ``spotcheck crawl PLATFORM`` (a command, not a group: it takes an argument).
command = crawl
