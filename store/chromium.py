"""The one way spotcheck launches Chromium (crawls, captures, purchases, printing, tests).

Every user needs the same three things: the executable the settings name (Debian's
Chromium here: ``playwright install`` cannot download), headless mode, and a few flags.
Callers add their own flags (a capture pins its recording proxy's certificate key, a crawl
blocks resource types) through *args*; nothing else differs, so it lives in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from store.settings import Settings


def spki_args(pins: Iterable[str]) -> list[str]:
    """Chromium's flag that accepts certificates whose key is one of *pins* (base64 SHA-256
    of a SubjectPublicKeyInfo) although no trusted CA issued them; nothing when empty."""
    pins = [p for p in pins if p]
    return ["--ignore-certificate-errors-spki-list=" + ",".join(pins)] if pins else []


def launch_options(settings: Settings, args: Sequence[str] = (), **extra: Any) -> dict[str, Any]:
    """Keyword arguments for ``playwright.chromium.launch`` (sync or async); raises the
    settings' ``BrowserNotFound`` (a configuration error) when there is no Chromium."""
    executable = settings.chromium_path()
    options: dict[str, Any] = {"executable_path": executable, "headless": True,
                               "args": list(args)}
    options.update(extra)
    return options


async def launch(pw: Any, settings: Settings, args: Sequence[str] = (), **extra: Any) -> Any:
    """An async Playwright Chromium ``Browser`` (*pw*: ``async_playwright()``'s object)."""
    return await pw.chromium.launch(**launch_options(settings, args, **extra))


def launch_sync(pw: Any, settings: Settings, args: Sequence[str] = (), **extra: Any) -> Any:
    """A sync Playwright Chromium ``Browser`` (*pw*: ``sync_playwright()``'s object)."""
    return pw.chromium.launch(**launch_options(settings, args, **extra))
