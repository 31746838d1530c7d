"""The console application: ``create_app(settings)`` builds it, ``spotcheck serve`` runs it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from spotcheck.web import i18n
from spotcheck.web.deps import Console, LoginRequired, render
from spotcheck.web.i18n import gettext as _
from spotcheck.web.labels import (
    class_name,
    measure_name,
    role_name,
    sector_name,
)
from spotcheck.web.security import SessionCodec, csrf_check, session_middleware, session_secret
from store.db import Database
from store.errors import Conflict, InvalidInput, NotFound, SpotcheckError, VerificationFailed
from store.settings import Settings, get_settings

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    """The console for *settings* (default: the process settings), on *db* (default: opened
    and migrated from the settings)."""
    from spotcheck.web.routes import (
        auth,
        boards,
        campaigns,
        case_actions,
        evidence,
        leads,
        listings,
        matches,
        personas,
        planning,
        products,
        purchasing,
    )

    settings = settings or get_settings()
    settings.ensure_home()
    db = db or Database.open(settings=settings)
    app = FastAPI(title="spotcheck console", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(csrf_check)])
    cons = Console(settings, db)
    cons.env.globals.update(role_name=role_name, sector_name=sector_name,
                            class_name=class_name, measure_name=measure_name)
    app.state.console = cons
    app.middleware("http")(session_middleware(SessionCodec(session_secret(settings)), settings))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (auth, campaigns, planning, listings, leads, evidence, personas, purchasing,
                   boards,
                   case_actions, matches, products):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def start() -> Response:
        return RedirectResponse("/campaigns", status_code=303)

    @app.exception_handler(LoginRequired)
    def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_url)}", status_code=303)

    @app.exception_handler(HTTPException)
    def _http(request: Request, exc: HTTPException) -> Response:
        headings = {403: _("Not allowed"), 404: _("Not found"), 405: _("Not allowed"),
                    429: _("Too many requests")}
        messages = {
            "csrf": _("The form has expired or did not come from this console. "
                      "Reload the page and try again."),
            "role": _("Your role does not allow this page or action."),
        }
        message = messages.get(str(exc.detail), str(exc.detail) if exc.status_code != 404
                               else _("There is nothing at this address."))
        return render(request, "console/error.html", status_code=exc.status_code,
                      status=exc.status_code, heading=headings.get(exc.status_code, ""),
                      message=message)

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> Response:
        from spotcheck.usage import validation_text
        from spotcheck.web.deps import language

        first = exc.errors()[0] if exc.errors() else {}
        return render(request, "console/error.html", status_code=400, status=400,
                      heading=_("Invalid input"),
                      message=validation_text(first, language(request)))

    @app.exception_handler(SpotcheckError)
    def _domain(request: Request, exc: SpotcheckError) -> Response:
        status = {InvalidInput: 400, NotFound: 404, Conflict: 409,
                  VerificationFailed: 422}.get(type(exc), 400)
        for cls, code in ((Conflict, 409), (NotFound, 404), (InvalidInput, 400)):
            if isinstance(exc, cls):
                status = code
        return render(request, "console/error.html", status_code=status, status=status,
                      heading=_("The action was refused"), message=i18n.refusal(exc))

    i18n.translations.cache_clear()
    return app
