"""``spotcheck logout``: end this OS user's login on this database (the token is revoked)."""

from __future__ import annotations

import typer

from spotcheck import identity
from spotcheck.context import current
from spotcheck.output import print_json, say


def command(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
            ) -> None:
    """Log out: the stored token is revoked in the database and removed from the file."""
    name = identity.logout(current().db)
    if json_out:
        print_json({"logged_out": name})
    else:
        if name:
            say("cli_said.logged_out", name=name)
        else:
            say("cli_said.not_logged_in")
