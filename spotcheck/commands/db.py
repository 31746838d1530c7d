"""``spotcheck db``: the database's schema, for operators."""

from __future__ import annotations

import typer

from spotcheck.context import current
from spotcheck.output import print_json, said, say
from store.db import current_revision, head_revision, make_engine, upgrade

app = typer.Typer(help="Database schema: status and upgrade.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
                ) -> None:
    """Bring the database schema up to date (every command also does this by itself)."""
    settings = current().settings
    settings.ensure_home()
    engine = make_engine(settings.database_url)
    before = current_revision(engine)
    upgrade(engine)
    after = current_revision(engine)
    engine.dispose()
    if json_out:
        print_json({"database": engine.url.render_as_string(hide_password=True),
                    "from": before, "to": after})
    else:
        say("cli_said.db_upgraded", url=engine.url.render_as_string(hide_password=True),
            before=before or said("cli_said.db_empty"), after=after)


@app.command("status")
def status_cmd(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
               ) -> None:
    """Show the schema revision of the database and the newest one this version knows."""
    settings = current().settings
    engine = make_engine(settings.database_url)
    rev, head = current_revision(engine), head_revision()
    engine.dispose()
    data = {"database": engine.url.render_as_string(hide_password=True), "revision": rev,
            "head": head, "up_to_date": rev == head}
    if json_out:
        print_json(data)
    else:
        say("cli_said.db_up_to_date" if rev == head else "cli_said.db_needs_upgrade",
            url=data["database"], revision=rev or "—")
