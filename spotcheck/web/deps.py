"""What every route shares: the console's state, the logged-in user, role checks, rendering
and the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import pass_context
from sqlalchemy import select

from spotcheck import permissions
from spotcheck.web import i18n
from spotcheck.web.security import client_ip, password_fingerprint
from store import clock
from store.db import Database
from store.models import AuditEvent, Role, User
from store.settings import Settings
from store.templating import environment

#: Which roles may do what: the one matrix, shared with the CLI.
PERMISSIONS = permissions.PERMISSIONS


@dataclass(frozen=True)
class CurrentUser:
    id: int
    name: str
    role: Role
    locale: str | None

    def can(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


class LoginRequired(Exception):
    """Raised by route dependencies; the app turns it into a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class Console:
    """The console's long-lived state: settings, database, templates."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.env = environment("spotcheck.web", extensions=["jinja2.ext.i18n"])
        self.env.install_gettext_callables(  # type: ignore[attr-defined]
            i18n.gettext, i18n.ngettext, newstyle=True)
        from spotcheck.web.labels import code_label

        self.env.filters.update(money=money, when=when, day=day, pct=pct, short=short,
                                code=code_label, details=details, platform=platform_name)
        self.env.globals.update(can=lambda user, perm: user is not None and user.can(perm),
                                check_name=check_name, stratum_label=stratum_text)


def check_name(name: str) -> str:
    """A verification's check as the page's reader reads it
    (:func:`spotcheck.output.check_name`)."""
    from spotcheck.output import check_name as named

    return named(name, i18n.active())


def details(value: Any, names: Any = None) -> str:
    """A record's details (an audit event's JSON) as a person reads them, in the page's
    language (:func:`spotcheck.web.auditview.detail_text`); *names* the names of rows
    they name by code (platforms)."""
    from spotcheck.web.auditview import detail_text

    return detail_text(value, i18n.active(), names)


def platform_names(request: Request) -> dict[str, str]:
    """Every platform's code → its name, read once per request: a page shows a platform by
    its name (the code, which people type and the data keeps, in a tooltip)."""
    from store.platformnames import platform_names as read

    names: dict[str, str] | None = getattr(request.state, "platform_names", None)
    if names is None:
        with console(request).db.session() as s:
            names = read(s)
        request.state.platform_names = names
    return names


@pass_context
def stratum_text(context: Any, value: str) -> str:
    """``{{ stratum_label(r.stratum) }}``: a stratum ("mall/electrical/key") with each coded
    part labelled and its platform by name, in the page's language."""
    from spotcheck.web.labels import stratum_label

    return stratum_label(value, platform_names(context["request"]))


@pass_context
def platform_name(context: Any, code: str | None) -> str:
    """``{{ code|platform }}``: the platform's name (its code when no platform has it)."""
    if not code:
        return "—"
    return platform_names(context["request"]).get(code, code)


def money(value: Decimal | float | None, currency: str | None = None) -> str:
    if value is None:
        return "—"
    text = f"{float(value):,.2f}"
    return f"{text} {currency}" if currency else text


def when(value: dt.datetime | str | None) -> str:
    """A time in the bureau's zone, to the second, with the zone named (store.clock); a time
    kept as ISO 8601 text (a registration's time-stamp) too."""
    if isinstance(value, str):
        try:
            return clock.local(dt.datetime.fromisoformat(value.replace("Z", "+00:00")),
                               i18n.active())
        except ValueError:
            return value
    return clock.local(value, i18n.active())


def day(value: dt.date | dt.datetime | None) -> str:
    """The bureau's calendar day."""
    return clock.local_date(value)


def pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def short(value: Any, length: int = 120) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= length else text[: length - 1] + "…"


def console(request: Request) -> Console:
    result: Console = request.app.state.console
    return result


def optional_user(request: Request) -> CurrentUser | None:
    """The logged-in, active user whose password has not changed since login, or None."""
    cached: CurrentUser | bool | None = getattr(request.state, "user", False)
    if cached is None or isinstance(cached, CurrentUser):
        return cached
    session = request.state.session
    user: CurrentUser | None = None
    uid = session.get("uid")
    if isinstance(uid, int):
        with console(request).db.session() as s:
            row = s.get(User, uid)
            if (row is not None and row.active
                    and session.get("pwf") == password_fingerprint(row.password_hash)):
                user = CurrentUser(row.id, row.name, row.role, row.locale)
    request.state.user = user
    return user


def require(permission: str) -> Callable[[Request], CurrentUser]:
    """A dependency: the logged-in user, who must hold *permission* (403 otherwise)."""
    allowed = PERMISSIONS[permission]

    def dependency(request: Request) -> CurrentUser:
        user = optional_user(request)
        if user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(target)
        if user.role not in allowed:
            audit(request, user.name, "access.denied", "route", request.url.path,
                  permission=permission)
            raise HTTPException(status_code=403, detail="role")
        return user

    dependency.__name__ = f"require_{permission.replace('.', '_')}"
    return dependency


def Permission(permission: str) -> Any:
    return Depends(require(permission))


def language(request: Request) -> str:
    """The session's choice (the user's preference, copied at login, or picked on the page),
    then Accept-Language, then the ``locale`` setting."""
    return i18n.choose(request.state.session.get("lang"),
                       request.headers.get("accept-language"),
                       console(request).settings.locale)


def render(request: Request, template: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """Render a console page in the request's language."""
    lang = language(request)
    i18n.activate(lang)
    user = optional_user(request)
    if "flash" not in context:
        # The message an action left for the page after its redirect, shown once.
        context["flash"] = request.state.session.pop("flash", None)
        if context["flash"]:
            request.state.session_dirty = True
    html = console(request).env.get_template(template).render(
        request=request, user=user, lang=lang, csrf=request.state.session.get("csrf", ""),
        path=request.url.path, login_next=quote(request.url.path), **context)
    return HTMLResponse(html, status_code=status_code)


def flash(request: Request, kind: str, text: str, **extra: str) -> None:
    """A message ("ok" or "error") for the next page the user sees (after a redirect)."""
    request.state.session["flash"] = {"kind": kind, "text": text, **extra}
    request.state.session_dirty = True


def audit(request: Request, actor: str, action: str, object_type: str | None = None,
          object_id: Any = None, **detail: Any) -> None:
    """Record one action of the console in the audit log (its own transaction)."""
    with console(request).db.session() as s:
        s.add(AuditEvent(actor=actor[:100], action=action, object_type=object_type,
                         object_id=None if object_id is None else str(object_id)[:100],
                         detail=detail, ip=client_ip(request)[:64]))


def find_user(db: Database, name: str) -> User | None:
    with db.session() as s:
        return s.scalar(select(User).where(User.name == name))
