"""Platforms as rows: registering profiles, loading them for a crawl, the sandbox's three.

The ``Platform`` row is the single place a platform's live base URL is kept; its ``profile``
column holds the profile as data.  Start URLs in a profile are relative, so a platform that
moves (a new host, or the sandbox's random ports) is re-pointed by changing the base URL only
(``spotcheck platform add`` or ``spotcheck crawl --base-url``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawlers.profile import Profile, parse_profile, shipped_profile
from store.errors import InvalidInput, NotFound
from store.models import Platform

#: The three sandbox styles and the shipped profiles that crawl them.
SANDBOX_STYLES = ("mall", "spa", "shop")


def split_start_url(url: str) -> tuple[str, str]:
    """``http://h:1/c/x?p=1`` → (``http://h:1/``, ``/c/x?p=1``)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise InvalidInput("platforms.start_url_absolute_http_s", url=url)
    base = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
    rest = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    return base, rest


def upsert_platform(session: Session, profile: Profile) -> Platform:
    """Create or update the platform row of *profile* (matched by code)."""
    row = session.scalar(select(Platform).where(Platform.code == profile.code))
    if row is None:
        row = Platform(code=profile.code)
        session.add(row)
    row.name = profile.name
    row.base_url = profile.base_url
    row.company_name = profile.company_name
    row.jurisdiction_bureau = profile.jurisdiction_bureau
    row.filing_number = profile.filing_number
    row.profile = profile.to_row()
    session.flush()
    return row


def add_platform(session: Session, code: str, *, start_url: str, profile: str | Profile,
                 name: str | None = None, bureau: str | None = None,
                 company: str | None = None) -> Platform:
    """Register a platform from a start URL and a profile (a shipped name or a Profile)."""
    base, path = split_start_url(start_url)
    prof = shipped_profile(profile) if isinstance(profile, str) else profile
    data: dict[str, Any] = prof.model_dump()
    # The operator's start URL wins, unless it is the bare site root of a profile that
    # knows better entry points (a sitemap, an "all products" page).
    data.update(code=code, base_url=base,
                start_urls=prof.start_urls if path == "/" else [path])
    if name:
        data["name"] = name
    elif data["name"] == prof.name and not isinstance(profile, Profile):
        data["name"] = code
    if bureau is not None:
        data["jurisdiction_bureau"] = bureau
    if company is not None:
        data["company_name"] = company
    return upsert_platform(session, parse_profile(data, f"platform {code}"))


def load_profile(session: Session, code: str, base_url: str | None = None) -> Profile:
    """The profile of platform *code*, pointed at its (or the given) base URL.

    A given *base_url* is stored on the platform: the platform has moved.
    """
    row = session.scalar(select(Platform).where(Platform.code == code))
    if row is None:
        raise NotFound("platforms.platform_register_spotcheck_platform_add", code=code)
    data = dict(row.profile or {})
    if not data:
        raise InvalidInput("platforms.platform_has_crawl_profile", code=code)
    data["code"] = row.code
    if base_url:
        base, _ = split_start_url(base_url)
        row.base_url = base
        data["base_url"] = base
        row.profile = {**data}
    else:
        data["base_url"] = row.base_url or data.get("base_url", "")
    return parse_profile(data, f"platform {code}")


def register_sandbox_platforms(session: Session, urls: dict[str, str]) -> list[Platform]:
    """Create or update the sandbox platforms (``mall``, ``spa``, ``shop``) from the shipped
    profiles, pointed at the running sandbox's base URLs (``Sandbox.urls``)."""
    rows = []
    for style in SANDBOX_STYLES:
        if style not in urls:
            continue
        base, _ = split_start_url(urls[style])
        rows.append(upsert_platform(session, shipped_profile(style).with_base_url(base)))
    return rows


def platform_info(row: Platform) -> dict[str, Any]:
    """A platform as the CLI and the API show it."""
    prof = row.profile or {}
    return {"code": row.code, "name": row.name, "base_url": row.base_url,
            "company_name": row.company_name, "jurisdiction_bureau": row.jurisdiction_bureau,
            "filing_number": row.filing_number, "extract": prof.get("extract", {}).get("kind"),
            "browser": bool(prof.get("browser", {}).get("enabled")),
            "start_urls": prof.get("start_urls", [])}
