"""``spotcheck doctor``: what this installation sees (settings, database, browser, services).

Besides the database and the browser it checks what silently spoils evidence: without a CJK
font every Chinese character is an empty box in screenshots and PDFs; a time-stamping
authority that does not answer leaves manifests unstamped; a trust anchor that does not load
makes every pack from that authority fail verification.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from spotcheck.context import current
from spotcheck.output import console, print_json, table
from store.errors import SpotcheckError


def doctor(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
           ) -> None:
    """Check settings, database, browser and optional services; exit 6 if one is broken."""
    settings = current().settings
    checks: list[dict[str, object]] = []

    lang = current().reader_locale()

    def check(name: str, fn: object, what: str = "") -> None:
        """One check; *name* is its code in the label table (doctor_check), *what* the
        service or file it names (a TSA's URL, a CA's path)."""
        shown = name + (f" {what}" if what else "")
        try:
            detail = fn() if callable(fn) else fn
            checks.append({"check": shown, "ok": True, "detail": detail, "_name": name,
                           "_what": what})
        except SpotcheckError as exc:
            checks.append({"check": shown, "ok": False, "detail": str(exc), "_name": name,
                           "_what": what, "_said": exc.message(lang)})
        except Exception as exc:  # OSError and what a library raises: said as it is
            checks.append({"check": shown, "ok": False, "detail": str(exc), "_name": name,
                           "_what": what})

    check("data folder", lambda: str(settings.ensure_home().resolve()))
    check("database", lambda: f"{current().db.url} ({current().db.dialect})")
    check("browser", lambda: settings.chromium_path() or "Playwright's own Chromium")
    check("CJK fonts", _cjk_fonts)
    check("signing key", lambda: _signing_key(settings))
    for url in settings.tsa_urls:
        check("TSA", lambda url=url: _tsa(url), url)
    for path in _tsa_anchors(settings):
        check("trusted TSA CA", lambda path=path: _certificate(path), str(path))
    if settings.redis_url:
        def ping_redis() -> str:
            import redis

            redis.Redis.from_url(settings.redis_url, socket_timeout=2).ping()
            return settings.redis_url
        check("redis", ping_redis)
    ok = all(c["ok"] for c in checks)
    if json_out:
        print_json({"ok": ok, "checks": [{k: v for k, v in c.items() if not k.startswith("_")}
                                         for c in checks]})
    else:
        from store.labels import text_label

        def col(code: str) -> str:
            return text_label("doctor_column", code, lang)

        console.print(table(col("title"), [col("check"), col("ok"), col("detail")], [
            (text_label("doctor_check", str(c["_name"]), lang)
             + (f" {c['_what']}" if c["_what"] else ""),
             col("yes") if c["ok"] else col("no"), c.get("_said") or c["detail"])
            for c in checks]))
    if not ok:
        raise typer.Exit(6)


def _cjk_fonts() -> str:
    """A font with Chinese glyphs, as fontconfig (which Chromium uses) sees it."""
    import shutil
    import subprocess

    if shutil.which("fc-list") is None:
        raise OSError("fontconfig (fc-list) is missing: install fonts-noto-cjk")
    found = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True,
                           timeout=20, check=False).stdout.strip().splitlines()
    if not found:
        raise OSError("no font with Chinese glyphs: Chinese renders as empty boxes in "
                      "screenshots and PDFs (apt-get install fonts-noto-cjk)")
    return f"{len(found)} fonts, e.g. {sorted(found)[0].split(',')[0]}"


def _signing_key(settings: object) -> str:
    """The installation's evidence signing key and the fingerprint to publish."""
    from evidence.keys import load_or_create

    key = load_or_create(settings.keys_dir)  # type: ignore[attr-defined]
    return f"Ed25519 {key.fingerprint}"


def _tsa(url: str) -> str:
    """A real time-stamp request for a throw-away digest, answered and checked."""
    from evidence.tsa import timestamp

    token = timestamp(b"spotcheck doctor", url, timeout=10.0)
    return f"answered: token serial {token.serial}, {token.gen_time:%Y-%m-%d %H:%M:%S} UTC"


def _tsa_anchors(settings: Any) -> list[Path]:
    """Every TSA root verification trusts: the setting's files and those in the keys
    folder's ``trusted-tsa/`` (where ``./dev demo`` puts its local TSA's root), as
    :meth:`evidence.trust.TrustAnchors.for_installation` reads them."""
    from evidence.trust import TRUSTED_TSA_DIR

    paths = [Path(str(p)) for p in getattr(settings, "trusted_tsa_cas", None) or []]
    folder = Path(settings.keys_dir) / TRUSTED_TSA_DIR
    if folder.is_dir():
        paths += sorted(folder.glob("*.pem")) + sorted(folder.glob("*.crt"))
    return paths


def _certificate(path: object) -> str:
    """A trust anchor file that loads as an X.509 certificate (PEM or DER)."""
    from cryptography import x509

    data = Path(str(path)).read_bytes()
    cert = (x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data
            else x509.load_der_x509_certificate(data))
    return f"{cert.subject.rfc4514_string()}, valid until {cert.not_valid_after_utc:%Y-%m-%d}"
