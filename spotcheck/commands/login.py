"""``spotcheck login``: prove who you are once, for the privileged commands of a work day.

``--user`` is a label anybody can type; approving plans, revealing buyer personas, rotating
keys and managing users need the password.  The token is kept in the OS user's session file
(mode 0600; ``SPOTCHECK_SESSION_FILE`` overrides where) and only its hash in the database.
"""

from __future__ import annotations

import sys

import typer

from spotcheck import identity
from spotcheck.context import current
from spotcheck.output import print_json, say
from store import clock
from store.labels import label
from store.vocabulary import Role


def command(
    name: str = typer.Argument(..., help="Login name."),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="Read the password from standard input "
                                             "(for scripts) instead of a hidden prompt."),
    hours: float = typer.Option(identity.CLI_SESSION_TTL.total_seconds() / 3600, "--hours",
                                min=0.1, max=24.0, help="How long the login lasts."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Log in on this database: privileged commands then act as this user."""
    import datetime as dt

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = str(typer.prompt("Password", hide_input=True))
    who = identity.login(current().db, name, password, ttl=dt.timedelta(hours=hours))
    if json_out:
        print_json({"user": who.name, "role": who.role, "expires_at": who.expires_at})
    else:
        lang = current().reader_locale()
        say("cli_said.logged_in", name=who.name, role=label(Role, who.role, lang),
            until=clock.local(who.expires_at, lang))
