"""``spotcheck persona``: covert buyer identities per platform (secrets encrypted, masked).

Secrets are shown masked everywhere; ``show --reveal`` prints them in clear only for an
admin or a sampler (``--user``), and the reveal is written to the audit log.  Passwords and
payment references may be typed at a hidden prompt instead of the command line, so they do
not end up in the shell history.
"""

from __future__ import annotations

import typer
from sqlalchemy import select

from scheduler import personas
from scheduler.vault import new_key
from spotcheck.context import current
from spotcheck.output import console, heading, print_json, say, table, yes_no
from store.errors import NotFound
from store.models import Platform

app = typer.Typer(help="Buyer personas: add, list, show (masked), disable.",
                  no_args_is_help=True)


def _platform_id(code: str) -> int:
    with current().db.session() as s:
        pid = s.scalar(select(Platform.id).where(Platform.code == code))
    if pid is None:
        raise NotFound("persona.platform_spotcheck_platform_list", code=code)
    return int(pid)


@app.command("add")
def add_cmd(
    platform: str = typer.Option(..., "--platform", "-p", help="Platform code."),
    alias: str = typer.Argument(..., help="Alias (the only field stored in clear)."),
    account: str = typer.Option(..., "--account", help="Login account on the platform."),
    password: str | None = typer.Option(None, "--password",
                                        help="Password (prompted, hidden, when not given)."),
    recipient: str = typer.Option(..., "--recipient", help="Drop address: recipient name."),
    phone: str = typer.Option(..., "--phone", help="Drop address: phone."),
    address: str = typer.Option(..., "--address", help="Drop address: address line."),
    payment_ref: str | None = typer.Option(None, "--payment-ref",
                                           help="Payment reference (prompted when not given)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output (masked)."),
) -> None:
    """Add a buyer persona on a platform; secrets are encrypted before they are stored."""
    ctx = current()
    if password is None:
        password = str(typer.prompt("Password", hide_input=True, default="",
                                    show_default=False)) or None
    if payment_ref is None:
        payment_ref = str(typer.prompt("Payment reference", hide_input=True))
    pid = _platform_id(platform)
    with ctx.db.session() as s:
        view = personas.create_persona(
            s, pid, alias, account, password,
            {"name": recipient, "phone": phone, "address": address}, payment_ref,
            ctx.settings, actor=ctx.actor())
    if json_out:
        print_json(view.as_dict())
    else:
        say("cli_said.persona_added", alias=view.alias, id=view.id, platform=view.platform)


@app.command("list")
def list_cmd(
    platform: str | None = typer.Option(None, "--platform", "-p", help="Only personas of this platform."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output (masked)."),
) -> None:
    """List personas, masked."""
    current().read_as("personas.view")  # as the console's role matrix
    ctx = current()
    pid = _platform_id(platform) if platform else None
    with ctx.db.session() as s:
        rows = personas.list_personas(s, ctx.settings, platform_id=pid)
    if json_out:
        print_json([r.as_dict() for r in rows])
        return
    console.print(table("buyer personas", ["id", "platform", "alias", "account", "address",
                                           "payment", "active"],
                        [(r.id, r.platform, r.alias, r.account, r.address, r.payment_ref,
                          yes_no(r.active)) for r in rows]))


@app.command("show")
def show_cmd(
    persona: str = typer.Argument(..., help="Id or alias."),
    reveal: bool = typer.Option(False, "--reveal",
                                help="Show secrets in clear (admin or sampler; audited)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Show one persona (masked unless --reveal by a role that may)."""
    current().read_as("personas.view")  # as the console's role matrix
    ctx = current()
    role = None
    if reveal:
        _, role = ctx.require_user("admin", "sampler", authenticated=True)
    with ctx.db.session() as s:
        view = personas.show_persona(s, persona, ctx.settings, reveal=reveal, role=role,
                                     actor=ctx.actor())
    if json_out:
        print_json(view.as_dict())
        return
    shown = {**view.as_dict(), "active": yes_no(view.active), "revealed": yes_no(view.revealed)}
    console.print(table(f"{heading('persona')} {view.alias}", ["field", "value"],
                        list(shown.items()), fields=True))


@app.command("disable")
def disable_cmd(
    persona: str = typer.Argument(..., help="Id or alias."),
    enable: bool = typer.Option(False, "--enable", help="Enable it again instead."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Retire a persona (e.g. the platform flagged the account); it gets no new purchases."""
    ctx = current()
    with ctx.db.session() as s:
        row = personas.set_active(s, persona, enable, actor=ctx.actor())
        out = {"id": row.id, "alias": row.alias, "active": row.active}
    if json_out:
        print_json(out)
    else:
        say("cli_said.persona_enabled" if enable else "cli_said.persona_disabled",
            alias=out["alias"])


@app.command("new-key")
def new_key_cmd() -> None:
    """Print a fresh Fernet key for SPOTCHECK_SECRET_KEY (keep it out of the database)."""
    typer.echo(new_key())


@app.command("rotate-key")
def rotate_key_cmd(
    new: str | None = typer.Option(None, "--new-key", envvar="SPOTCHECK_NEW_SECRET_KEY",
                                   help="The new key, when the current one comes from "
                                        "SPOTCHECK_SECRET_KEY (set the variable to it after)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Re-encrypt every persona's secrets with a new key, in one transaction (admin only)."""
    from scheduler.vault import finish_rotation, rotate_key
    from store.models import AuditEvent

    ctx = current()
    actor, _role = ctx.require_user("admin", authenticated=True)
    with ctx.db.session() as s:
        changed = rotate_key(s, ctx.settings, new)
        s.add(AuditEvent(actor=actor, action="persona.rotate_key", object_type="persona",
                         detail={"personas": changed}))
    if new is None:
        finish_rotation(ctx.settings)
    if json_out:
        print_json({"personas": changed, "key_file": new is None})
    else:
        say("cli_said.personas_reencrypted" if new is None
            else "cli_said.personas_reencrypted_set_key", count=changed)
