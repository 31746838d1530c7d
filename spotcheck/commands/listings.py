"""``spotcheck listings``: list, search and export crawled listings."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.markup import escape

from crawlers.listings import ListingFilter, export_file, iter_rows, listing_history
from spotcheck.context import current
from spotcheck.output import console, err_console, heading, print_json, said, table
from store.vocabulary import Availability, ListingStatus, Sector, SupervisionClass

app = typer.Typer(help="Crawled listings: search, export and history.",
                  invoke_without_command=True)

_PLATFORM = typer.Option(None, "--platform", help="Platform code.")
_SECTOR = typer.Option(None, "--sector", help="light_industry | textiles | electrical | other")
_CLASS = typer.Option(None, "--class", help="Supervision class: prohibited | key | general")
_SELLER = typer.Option(None, "--seller", help="Seller id, or part of its name.")
_TEXT = typer.Option(None, "--text", help="Text in title, brand, model, id or seller name.")
_STATUS = typer.Option(None, "--status", help="active | possibly_removed | removed")


def _filter(platform: str | None, sector: str | None, klass: str | None, seller: str | None,
            text: str | None, status: str | None) -> ListingFilter:
    f = ListingFilter(platform, sector, klass, seller, text, status)
    f.validate()
    return f


def _search(platform: str | None, sector: str | None, klass: str | None, seller: str | None,
            text: str | None, status: str | None, limit: int, json_out: bool) -> None:
    f = _filter(platform, sector, klass, seller, text, status)
    with current().db.session() as s:
        rows = list(iter_rows(s, f, limit=limit))
    if json_out:
        print_json(rows)
        return
    console.print(table(f"{heading('listings')} ({len(rows)})",
                        ["platform", "id", "title", "brand", "price", "seller", "sector",
                         "class", "status", "risk"],
                        [(r["platform"], r["external_id"], (r["title"] or "")[:60], r["brand"],
                          f"{r['price'] or ''} {r['currency'] or ''}", r["seller_name"],
                          r["sector"], r["supervision_class"], r["status"],
                          "" if r["risk_score"] is None else f"{r['risk_score']:.2f}")
                         for r in rows],
                        codes={"sector": Sector, "class": SupervisionClass,
                               "status": ListingStatus}))


@app.callback()
def listings(
    ctx: typer.Context,
    platform: str | None = _PLATFORM, sector: str | None = _SECTOR,
    klass: str | None = _CLASS, seller: str | None = _SELLER, text: str | None = _TEXT,
    status: str | None = _STATUS,
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List listings matching the filters (same as 'spotcheck listings search')."""
    if ctx.invoked_subcommand is None:
        _search(platform, sector, klass, seller, text, status, limit, json_out)


@app.command("search")
def search(
    platform: str | None = _PLATFORM, sector: str | None = _SECTOR,
    klass: str | None = _CLASS, seller: str | None = _SELLER, text: str | None = _TEXT,
    status: str | None = _STATUS,
    limit: int = typer.Option(50, "--limit", min=1, help="At most this many."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Search listings by platform, sector, class, seller and text."""
    _search(platform, sector, klass, seller, text, status, limit, json_out)


@app.command("export")
def export(
    platform: str | None = _PLATFORM, sector: str | None = _SECTOR,
    klass: str | None = _CLASS, seller: str | None = _SELLER, text: str | None = _TEXT,
    status: str | None = _STATUS,
    fmt: str = typer.Option("csv", "--format", help="csv | jsonl"),
    output: Path = typer.Option(..., "--output", "-o", help="File to write."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Export listings (with risk score and reasons) to CSV or JSON Lines."""
    f = _filter(platform, sector, klass, seller, text, status)
    with current().db.session() as s:
        n = export_file(s, f, fmt, output)
    if json_out:
        print_json({"file": str(output), "format": fmt, "listings": n})
    else:
        err_console.print(escape(said("cli_said.exported_listings", count=n, path=output)))


@app.command("history")
def history(
    listing: int = typer.Argument(..., help="The listing's id."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """A listing's history: every snapshot, oldest first, with what changed (price,
    availability, status …), whether a crawl or a re-capture saw it."""
    from store.labels import text_label

    with current().db.session() as s:
        data = listing_history(s, listing)
    if json_out:
        print_json(data)
        return
    lang = current().reader_locale()
    sep = "、" if lang.lower().startswith("zh") else ", "
    console.print(table(f"{heading('listing history')} {data['listing']}",
                        ["version", "seen", "changes", "availability", "price", "title"],
                        [(sn["version"], dt.datetime.fromisoformat(sn["seen_at"]),
                          sep.join(text_label("listing_field", c, lang) for c in sn["changes"]),
                          sn["availability"], f"{sn['price'] or ''} {sn['currency'] or ''}",
                          (sn["title"] or "")[:60]) for sn in data["snapshots"]],
                        codes={"availability": Availability}))
