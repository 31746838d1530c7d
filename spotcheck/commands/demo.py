"""``spotcheck demo``: the main job end to end on the embedded defaults.

It grows with the project: for now it creates (and migrates) the database and reports what it
holds; later steps start the sandbox, crawl, score, draw, buy, capture and report.
"""

from __future__ import annotations

import typer
from sqlalchemy import func, select

from spotcheck.context import current
from spotcheck.output import console, print_json, table
from store import models


def demo(json_out: bool = typer.Option(False, "--json", help="Machine-readable summary.")
         ) -> None:
    """Run the whole spot-check pipeline on the sandbox marketplace and summarise it."""
    ctx = current()
    db = ctx.db
    counts: dict[str, int] = {}
    with db.session() as s:
        for model in (models.Platform, models.Listing, models.Plan, models.Capture,
                      models.Case):
            counts[model.__tablename__] = s.scalar(select(func.count()).select_from(model)) or 0
    summary = {"database": db.url, "data_folder": str(ctx.settings.home.resolve()),
               "counts": counts}
    if json_out:
        print_json(summary)
        return
    console.print(f"[bold]spotcheck demo[/bold] — database {db.url} is ready")
    console.print(table("what the database holds", ["table", "rows"], counts.items()))
