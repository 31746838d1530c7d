"""``spotcheck doctor``: what this installation sees (settings, database, browser, services)."""

from __future__ import annotations

import typer

from spotcheck.context import current
from spotcheck.output import console, print_json, table
from store.errors import SpotcheckError


def doctor(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
           ) -> None:
    """Check settings, database, browser and optional services; exit 6 if one is broken."""
    settings = current().settings
    checks: list[dict[str, object]] = []

    def check(name: str, fn: object) -> None:
        try:
            detail = fn() if callable(fn) else fn
            checks.append({"check": name, "ok": True, "detail": detail})
        except (SpotcheckError, OSError, Exception) as exc:
            checks.append({"check": name, "ok": False, "detail": str(exc)})

    check("data folder", lambda: str(settings.ensure_home().resolve()))
    check("database", lambda: f"{current().db.url} ({current().db.dialect})")
    check("browser", lambda: settings.chromium_path() or "Playwright's own Chromium")
    if settings.redis_url:
        def ping_redis() -> str:
            import redis

            redis.Redis.from_url(settings.redis_url, socket_timeout=2).ping()
            return settings.redis_url
        check("redis", ping_redis)
    ok = all(c["ok"] for c in checks)
    if json_out:
        print_json({"ok": ok, "checks": checks})
    else:
        console.print(table("spotcheck doctor", ["check", "ok", "detail"],
                            [(c["check"], "yes" if c["ok"] else "NO", c["detail"])
                             for c in checks]))
    if not ok:
        raise typer.Exit(6)
