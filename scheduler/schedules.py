"""Campaign schedules: cron expressions per job kind, parsed into APScheduler cron triggers.

``Campaign.schedules`` maps a job kind to a cron expression, e.g.
``{"crawl": "0 2 * * *", "score": "30 4 * * *", "draw": "0 6 * * mon", "buy": "*/15 9-21 * * *",
"recapture": "0 3 * * *", "stats": "0 7 1 1,7 *"}``.  Five fields are standard crontab
(minute hour day month weekday; weekday 0 or 7 is Sunday, as in crontab — APScheduler 3's own
``from_crontab`` counts 0 as Monday, so numbers are translated to names here); six fields put
seconds first (tests use them).  Times are in the campaign's time zone (default: the bureau's,
the ``timezone`` setting, :func:`store.clock.bureau_zone`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from store import clock
from store.errors import InvalidInput

#: Job kinds in pipeline order (a run of several due at once follows this order).
JOB_KINDS = ("crawl", "signals", "score", "draw", "offers", "purchase", "buy", "recapture",
             "leads", "stats")
_DOW = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _weekday_names(field: str) -> str:
    """Crontab weekday numbers (0/7 = Sunday) as names, which APScheduler reads unambiguously."""
    if field in ("0-6", "0-7", "1-7"):
        return "*"
    return re.sub(r"\d+", lambda m: _DOW[int(m.group())] if int(m.group()) <= 7 else m.group(),
                  field)


def parse_cron(expr: str, timezone: str | None = None) -> CronTrigger:
    """A trigger from a 5-field crontab (or 6-field, seconds first) expression."""
    fields = str(expr).split()
    tz = ZoneInfo(timezone) if timezone else clock.bureau_zone()
    try:
        if len(fields) == 5:
            minute, hour, day, month, dow = fields
            return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                               day_of_week=_weekday_names(dow), timezone=tz)
        if len(fields) == 6:
            second, minute, hour, day, month, dow = fields
            return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                               day_of_week=_weekday_names(dow), timezone=tz)
    except ValueError as exc:
        raise InvalidInput("schedules.cron_expression", expr=expr, exc=exc) from exc
    raise InvalidInput("schedules.cron_expression_needs_fields_seconds", expr=expr)


def validate_schedules(schedules: dict[str, Any], timezone: str | None = None,
                       kinds: tuple[str, ...] | list[str] = JOB_KINDS) -> dict[str, str]:
    """Check a campaign's schedules: known kinds, valid expressions, a real time zone."""
    out: dict[str, str] = {}
    for kind, expr in (schedules or {}).items():
        if kind == "timezone":
            try:
                ZoneInfo(str(expr))
            except (ValueError, KeyError) as exc:
                raise InvalidInput("schedules.unknown_time_zone", expr=expr) from exc
            out[kind] = str(expr)
            continue
        if kind not in kinds:
            raise InvalidInput("schedules.unknown_job_kind_schedules_known", kind=kind,
                               join_kinds=', '.join(kinds))
        parse_cron(str(expr), timezone or schedules.get("timezone"))
        out[kind] = str(expr)
    return out


def fire_times(trigger: CronTrigger, after: dt.datetime, until: dt.datetime,
               limit: int = 10_000) -> list[dt.datetime]:
    """Fire times in (after, until], oldest first, in UTC."""
    out: list[dt.datetime] = []
    prev: dt.datetime | None = None
    t = trigger.get_next_fire_time(None, after + dt.timedelta(microseconds=1))
    while t is not None and t <= until and len(out) < limit:
        if prev is None or t > prev:
            out.append(t.astimezone(dt.UTC))
        prev = t
        t = trigger.get_next_fire_time(t, t + dt.timedelta(microseconds=1))
    return out
