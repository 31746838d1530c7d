"""Sessions, CSRF, security headers and login throttling for the console.

- The session is a cookie signed with itsdangerous (HttpOnly, SameSite=Strict, Secure over
  HTTPS or when ``secure_cookies`` is set), valid for :data:`SESSION_MAX_AGE`.  It holds the
  user id and a fingerprint of the password hash, so changing a password ends old sessions,
  and every request re-reads the user, so disabling a user ends them too.
- CSRF: every session has a random token; every unsafe request must carry it (form field
  ``csrf`` or header ``X-CSRF-Token``), and cross-site requests (Sec-Fetch-Site / Origin) are
  refused before that.
- Headers: a strict Content-Security-Policy (scripts and styles only from our origin, no
  inline code, no framing), nosniff, no referrer, no caching of pages.
- Throttling (``spotcheck.identity``, shared with the CLI): attempts are counted atomically
  per name and per address before the password is checked; failed logins are also audit
  events; too many for one name or one address in a
  window refuse further attempts without checking the password.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

from spotcheck.web import i18n
from store.settings import Settings

COOKIE = "spotcheck_session"
SESSION_MAX_AGE = 12 * 3600
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")
#: For files we serve back (screenshots, downloads): nothing in them may run.
ARTIFACT_CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def download_headers(filename: str) -> dict[str, str]:
    """Headers for a file the console hands out: an attachment under a plain ASCII name
    (crawled names are hostile), and nothing in it may run if a browser opens it anyway."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename)[:150] or "download"
    return {"Content-Disposition": f'attachment; filename="{safe}"',
            "Content-Security-Policy": ARTIFACT_CSP, "X-Content-Type-Options": "nosniff"}


def session_secret(settings: Settings) -> str:
    """The signing key: the setting, else a random key kept in the data folder's keys."""
    if settings.session_secret:
        return settings.session_secret
    path: Path = settings.keys_dir / "console-session.key"
    if not path.exists():
        settings.keys_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def password_fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


class SessionCodec:
    """Signs and reads the session cookie."""

    def __init__(self, secret: str) -> None:
        self._ser = URLSafeTimedSerializer(secret, salt="spotcheck-console-session")

    def dumps(self, data: dict[str, Any]) -> str:
        return self._ser.dumps(data)

    def loads(self, raw: str | None) -> dict[str, Any]:
        if not raw or len(raw) > 4096:
            return {}
        try:
            data = self._ser.loads(raw, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}


def new_session(**values: Any) -> dict[str, Any]:
    return {"csrf": secrets.token_urlsafe(32), **values}


def session_middleware(codec: SessionCodec, settings: Settings
                       ) -> Callable[[Request, Callable[[Request], Awaitable[Response]]],
                                     Awaitable[Response]]:
    """HTTP middleware: load the session, refuse cross-site writes, add security headers,
    and write the session back when it changed."""

    async def middleware(request: Request,
                         call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        session = codec.loads(request.cookies.get(COOKIE))
        fresh = "csrf" not in session
        if fresh:
            session = new_session()
        request.state.session = session
        request.state.session_dirty = fresh
        # Set here, in the context the endpoint's thread copies, so that messages made in
        # route code (not only in templates) speak the request's language.
        i18n.activate(i18n.choose(session.get("lang"), request.headers.get("accept-language"),
                                  settings.locale))
        if request.method not in SAFE_METHODS and not same_origin(request):
            response: Response = Response("cross-site request refused", status_code=403,
                                          media_type="text/plain")
        else:
            response = await call_next(request)
        if request.state.session_dirty:
            secure = settings.secure_cookies or request.url.scheme == "https"
            response.set_cookie(COOKIE, codec.dumps(request.state.session),
                                max_age=SESSION_MAX_AGE, httponly=True, samesite="strict",
                                secure=secure, path="/")
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if not request.url.path.startswith("/static/"):
            headers.setdefault("Cache-Control", "no-store")
        return response

    return middleware


def same_origin(request: Request) -> bool:
    """Whether an unsafe request comes from our own pages (Fetch Metadata, then Origin)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        return origin.split("://", 1)[-1] == host
    return True


async def csrf_check(request: Request) -> None:
    """App-wide dependency: unsafe requests carry the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    expected = request.state.session.get("csrf", "")
    given = request.headers.get("x-csrf-token")
    if given is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf")
            given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise HTTPException(status_code=403, detail="csrf")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


