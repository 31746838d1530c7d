"""Times as a person at the bureau reads them, and as machines exchange them.

Everything is stored in UTC.  A person reads a time in the bureau's time zone (the
``timezone`` setting, default ``Asia/Shanghai``) to the second, with the zone named, because
an inspector compares a capture or a purchase with a clock on the wall and a minute hides
the order of events; machine outputs (JSON, CSV, manifests) stay ISO 8601 with an offset.

The bureau's zone is a setting, but this module imports neither :mod:`store.settings` nor
:mod:`store.errors`: :mod:`store.messages` shows time parameters through it, and both of those
import the catalogue (an import cycle).  :mod:`store.settings` hands its zone in instead
(:func:`use_bureau_zone`, ``Settings.zone``, which refuses a misspelt zone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULT_ZONE", "UnknownZone", "bureau_zone", "local", "local_and_utc", "local_date",
           "use_bureau_zone", "zone"]

#: The bureau's zone until the settings say otherwise (``Settings.timezone``'s default).
DEFAULT_ZONE = "Asia/Shanghai"

#: Names people read beside a local time, for the zones bureaus use most.
_ZONE_NAMES = {"Asia/Shanghai": ("北京时间", "Beijing time"),
               "Asia/Hong_Kong": ("香港时间", "Hong Kong time"),
               "UTC": ("UTC", "UTC")}


class UnknownZone(ValueError):
    """No IANA time zone has this name (``Settings.zone`` says it as a configuration error)."""


@lru_cache(maxsize=32)
def zone(name: str) -> ZoneInfo:
    """The IANA zone *name*."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownZone(name) from exc


#: Where the bureau's zone comes from (installed by store.settings).
_bureau_source: Callable[[], ZoneInfo] | None = None


def use_bureau_zone(source: Callable[[], ZoneInfo]) -> None:
    """Take the bureau's zone from *source* from now on (store.settings installs the
    process-wide settings' ``zone`` when it is imported)."""
    global _bureau_source
    _bureau_source = source


def bureau_zone() -> ZoneInfo:
    """The zone of the bureau this installation serves (``SPOTCHECK_TIMEZONE``)."""
    return _bureau_source() if _bureau_source is not None else zone(DEFAULT_ZONE)


def as_utc(value: dt.datetime) -> dt.datetime:
    """*value* as an aware UTC time: stored times are UTC, and SQLite hands them back
    without a zone."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def zone_label(tz: ZoneInfo, locale: str = "zh-CN") -> str:
    names = _ZONE_NAMES.get(tz.key)
    if names:
        return names[0] if locale.startswith("zh") else names[1]
    return tz.key


def local(value: dt.datetime | None, locale: str = "zh-CN", *, tz: ZoneInfo | None = None,
          with_zone: bool = True) -> str:
    """``2026-12-07 21:23:04 北京时间`` (or ``… Beijing time``); "—" for no time."""
    if value is None:
        return "—"
    tz = tz or bureau_zone()
    text = as_utc(value).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    return f"{text} {zone_label(tz, locale)}" if with_zone else text


def local_and_utc(value: dt.datetime | None, locale: str = "zh-CN", *,
                  tz: ZoneInfo | None = None) -> str:
    """The local time and the same instant in UTC, for evidence people compare across zones."""
    if value is None:
        return "—"
    utc = as_utc(value).astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{local(value, locale, tz=tz)} ({utc})"


def local_date(value: dt.datetime | dt.date | None, *, tz: ZoneInfo | None = None) -> str:
    """The calendar day at the bureau (a purchase at 01:00 Beijing is that day, not the
    UTC day before)."""
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return as_utc(value).astimezone(tz or bureau_zone()).strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%d")
