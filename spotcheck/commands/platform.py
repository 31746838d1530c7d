"""``spotcheck platform``: register platforms (profiles as data) and list them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from sqlalchemy import func, select

from spotcheck.context import current
from spotcheck.output import console, heading, print_json, say, table, yes_no

app = typer.Typer(help="Platforms to crawl: register, list, show.", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Platform code (letters, digits, - and _)."),
    start_url: str = typer.Option(..., "--start-url", help="Where crawls start (absolute)."),
    profile: str = typer.Option(
        "structured-data", "--profile",
        help="A shipped profile (structured-data, mall, spa, shop) or a TOML profile file."),
    bureau: str | None = typer.Option(None, "--bureau", help="Jurisdiction bureau (属地)."),
    title: str | None = typer.Option(None, "--name", help="Display name."),
    company: str | None = typer.Option(None, "--company", help="Platform company name."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Register (or update) a platform from a start URL and a profile."""
    from crawlers.platforms import add_platform, platform_info
    from crawlers.profile import Profile, load_profile_file, shipped_profile_names

    prof: str | Profile = profile
    if profile not in shipped_profile_names():
        prof = load_profile_file(Path(profile))
    with current().db.session() as s:
        row = add_platform(s, name, start_url=start_url, profile=prof,
                           name=title, bureau=bureau, company=company)
        info = platform_info(row)
    if json_out:
        print_json(info)
    else:
        say("cli_said.platform_registered_browser" if info["browser"]
            else "cli_said.platform_registered", code=info["code"], url=info["base_url"],
            extract=info["extract"])


def _rows() -> list[dict[str, object]]:
    from crawlers.platforms import platform_info
    from store.models import Listing, Platform

    with current().db.session() as s:
        counts = dict(s.execute(select(Listing.platform_id, func.count())
                                .group_by(Listing.platform_id)).all())
        out = []
        for row in s.scalars(select(Platform).order_by(Platform.code)):
            info = platform_info(row)
            info["listings"] = counts.get(row.id, 0)
            out.append(info)
    return out


@app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
             ) -> None:
    """List registered platforms."""
    rows = _rows()
    if json_out:
        print_json(rows)
        return
    console.print(table("platforms", ["code", "name", "base URL", "extract", "bureau 属地",
                                          "listings"],
                        [(r["code"], r["name"], r["base_url"], r["extract"],
                          r["jurisdiction_bureau"], r["listings"]) for r in rows]))


@app.command("show")
def show(code: str = typer.Argument(...),
         json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
         ) -> None:
    """Show a platform, its profile and its last crawl runs."""
    from crawlers.platforms import platform_info
    from store.errors import NotFound
    from store.models import CrawlRun, Platform

    with current().db.session() as s:
        row = s.scalar(select(Platform).where(Platform.code == code))
        if row is None:
            raise NotFound("platform.platform_spotcheck_platform_list", code=code)
        info = platform_info(row)
        info["profile"] = row.profile
        runs = s.scalars(select(CrawlRun).where(CrawlRun.platform_id == row.id)
                         .order_by(CrawlRun.id.desc()).limit(10)).all()
        info["crawl_runs"] = [{"id": r.id, "status": r.status, "started_at": r.started_at,
                               "finished_at": r.finished_at, "pages": r.pages,
                               "items": r.items, "new": r.new_listings,
                               "changed": r.changed_listings, "removed": r.removed_listings,
                               "rejected": r.rejected_items, "errors": r.errors}
                              for r in runs]
    if json_out:
        print_json(info)
        return
    def shown(value: Any) -> Any:
        if isinstance(value, bool):
            return yes_no(value)
        return ", ".join(map(str, value)) if isinstance(value, list) else value

    console.print(table(f"{heading('platform')} {code}", ["", ""], fields=True, rows=
                        [(k, shown(info[k])) for k in ("code", "name", "base_url", "company_name",
                                                        "jurisdiction_bureau", "extract",
                                                        "browser", "start_urls")]))
    console.print(table("crawl runs", ["id", "status", "started", "pages", "items scraped",
                                              "new", "changed", "removed", "rejected"],
                        [(r["id"], r["status"], r["started_at"], r["pages"], r["items"],
                          r["new"], r["changed"], r["removed"], r["rejected"])
                         for r in info["crawl_runs"]], codes={"status": "crawl_status"}))
