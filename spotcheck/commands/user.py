"""``spotcheck user``: console users and their roles (sampler, supervisor, investigator, admin).

Managing users is privileged: it needs an administrator who logged in (``spotcheck login``)
or gives the password, except while the database has no active administrator yet (the first
one is added from the server's shell).  Every change is written to the audit log with the
authenticated administrator as the actor.
"""

from __future__ import annotations

import sys

import typer

from spotcheck import identity, users
from spotcheck.context import current
from spotcheck.output import console, print_json, say, table, yes_no
from store import clock
from store.errors import InvalidInput
from store.vocabulary import Role

app = typer.Typer(help="Console users: add, list, change passwords, disable.",
                  no_args_is_help=True)


def _admin() -> str:
    """The authenticated administrator acting, or the shell's operator while none exists."""
    ctx = current()
    if not users.has_active_admin(ctx.db):
        return ctx.actor()
    name, _role = ctx.require_user("admin", authenticated=True)
    return name


#: ``--password``: kept for scripts that already pass it, but a command line is readable by
#: every user of the machine (``ps``, /proc/PID/cmdline) and lands in shell history, so the
#: help says so and points at the prompt and ``--password-stdin``.
PASSWORD_HELP = ("Password on the command line: visible to other users of this machine "
                 "(ps) and kept in shell history; prefer the hidden prompt (the default) "
                 "or --password-stdin.")
STDIN_HELP = ("Read the password from the first line of standard input (for scripts) "
              "instead of a hidden prompt.")


def _password(given: str | None, from_stdin: bool = False) -> str:
    """The password: typed twice at a hidden prompt (the default), the first line of
    standard input (``--password-stdin``), or as given on the command line."""
    if given is not None and from_stdin:
        raise InvalidInput("users.password_given_twice")
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if given is not None:
        return given
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("add")
def add_cmd(
    name: str = typer.Argument(..., help="Login name."),
    role: str = typer.Option(..., "--role", "-r",
                             help="sampler | supervisor | investigator | admin"),
    password: str | None = typer.Option(None, "--password", "-p", help=PASSWORD_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=STDIN_HELP),
    locale: str | None = typer.Option(None, "--locale", help="Console language: zh-CN or en."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Add a user with one role."""
    ctx = current()
    users.parse_role(role)  # fail before prompting
    actor = _admin()
    info = users.add_user(ctx.db, name, role, _password(password, password_stdin),
                          actor=actor, locale=locale)
    if json_out:
        print_json(info.as_dict())
    else:
        say("cli_said.user_added", name=info.name, role=info.role)


@app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
             ) -> None:
    """List users, their roles and whether they are active."""
    rows = users.list_users(current().db)
    if json_out:
        print_json([u.as_dict() for u in rows])
        return
    console.print(table("users", ["name", "role", "active", "locale", "created"],
                        [(u.name, u.role.value, yes_no(u.active), u.locale or "",
                          clock.local_date(u.created_at)) for u in rows],
                        codes={"role": Role}))


@app.command("passwd")
def passwd_cmd(
    name: str = typer.Argument(..., help="Login name."),
    password: str | None = typer.Option(None, "--password", "-p", help=PASSWORD_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help=STDIN_HELP),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Set a new password (ends the user's console sessions)."""
    ctx = current()
    users.get_user(ctx.db, name)
    actor = _admin()
    users.set_password(ctx.db, name, _password(password, password_stdin), actor=actor)
    identity.revoke_all(ctx.db, name, actor=actor)
    if json_out:
        print_json({"name": name, "password_changed": True})
    else:
        say("cli_said.password_changed", name=name)


@app.command("disable")
def disable_cmd(
    name: str = typer.Argument(..., help="Login name."),
    enable: bool = typer.Option(False, "--enable", help="Enable the user again instead."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Disable a user: they can no longer log in, and their open sessions stop working."""
    ctx = current()
    actor = _admin()
    info = users.set_active(ctx.db, name, enable, actor=actor)
    if not info.active:
        identity.revoke_all(ctx.db, name, actor=actor)
    if json_out:
        print_json(info.as_dict())
    else:
        say("cli_said.user_enabled" if info.active else "cli_said.user_disabled", name=name)
