"""Logging in and out, and the language preference."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from spotcheck import identity, users
from spotcheck.web import i18n
from spotcheck.web.deps import audit, console, optional_user, render
from spotcheck.web.i18n import gettext as _
from spotcheck.web.security import client_ip, new_session, password_fingerprint

router = APIRouter()


def safe_next(target: str | None) -> str:
    """Only local paths: a login link must not bounce the user to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target[:500]


@router.get("/healthz", response_class=PlainTextResponse)
def healthz() -> str:
    """Liveness (and the benchmark's baseline): no database, no template."""
    return "ok"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", lang: str | None = None) -> Response:
    if lang and i18n.normalise(lang):
        request.state.session["lang"] = i18n.normalise(lang)
        request.state.session_dirty = True
    if optional_user(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "console/login.html", next_url=safe_next(next), error=None, name="")


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, name: str = Form(..., max_length=100),
          password: str = Form(..., max_length=1024), next: str = Form("/")) -> Response:
    cons = console(request)
    ip = client_ip(request)
    name = name.strip()
    info = identity.check_password(cons.db, name, password, ip, ip=ip[:64])
    if info == "throttled":
        return render(request, "console/login.html", status_code=429, next_url=safe_next(next),
                      name=name, error=_("Too many failed attempts. Wait a quarter of an hour "
                                         "and try again, or ask an administrator."))
    if info == "wrong":
        return render(request, "console/login.html", status_code=401, next_url=safe_next(next),
                      name=name, error=_("Wrong user name or password."))
    with cons.db.session() as s:
        from store.models import User

        row = s.get(User, info.id)
        fingerprint = password_fingerprint(row.password_hash if row else None)
    # A new session (and CSRF token) at login: a token planted before login is useless after.
    request.state.session = new_session(
        uid=info.id, pwf=fingerprint,
        lang=i18n.normalise(info.locale) or request.state.session.get("lang"))
    request.state.session_dirty = True
    request.state.user = False  # re-read on next access
    audit(request, info.name, "login", "user", info.name)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    user = optional_user(request)
    if user is not None:
        audit(request, user.name, "logout", "user", user.name)
    request.state.session = new_session(lang=request.state.session.get("lang"))
    request.state.session_dirty = True
    return RedirectResponse("/login", status_code=303)


@router.post("/prefs/lang")
def set_language(request: Request, lang: str = Form(...), next: str = Form("/")) -> Response:
    """Switch the console's language; stored with the user so it follows them."""
    chosen = i18n.normalise(lang)
    if chosen:
        request.state.session["lang"] = chosen
        request.state.session_dirty = True
        user = optional_user(request)
        if user is not None:
            users.set_locale(console(request).db, user.name, chosen, actor=user.name)
            request.state.user = False
    return RedirectResponse(safe_next(next), status_code=303)
