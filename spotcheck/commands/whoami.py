"""``spotcheck whoami``: who privileged commands would act as, and who the label says."""

from __future__ import annotations

import typer

from spotcheck.context import current
from spotcheck.output import print_json, say
from store import clock
from store.labels import label
from store.vocabulary import Role


def command(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
            ) -> None:
    """Show the logged-in user (if any) and the --user label (if any)."""
    ctx = current()
    who = ctx.authenticated()
    data = {"authenticated": who.name if who else None, "role": who.role if who else None,
            "expires_at": who.expires_at if who else None, "label": ctx.user,
            "actor": ctx.actor()}
    if json_out:
        print_json(data)
    elif who:
        lang = ctx.reader_locale()
        say("cli_said.logged_in", name=who.name, role=label(Role, who.role, lang),
            until=clock.local(who.expires_at, lang))
    else:
        say("cli_said.not_logged_in_actor", actor=data["actor"])
