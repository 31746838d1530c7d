"""``spotcheck whoami``: who privileged commands would act as, and who the label says."""

from __future__ import annotations

import typer

from spotcheck.context import current
from spotcheck.output import console, print_json


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
        console.print(f"logged in as {who.name} ({who.role}) until "
                      f"{who.expires_at:%Y-%m-%d %H:%M} UTC", markup=False)
    else:
        console.print(f"not logged in; actions are recorded as {data['actor']}", markup=False)
