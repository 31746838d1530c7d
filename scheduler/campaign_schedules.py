"""Campaigns over time: schedules (cron per job kind), period and status.

The sampler owns a campaign's scope and design; this module adds what the scheduler needs.
A running scheduler picks changes up at its next schedule sync.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from scheduler.runs import known_kinds, load_jobs
from scheduler.schedules import validate_schedules
from store.errors import InvalidInput
from store.models import AuditEvent, Campaign

STATUSES = ("active", "paused", "closed")


def set_schedules(session: Session, campaign: Campaign, changes: dict[str, str | None], *,
                  actor: str, period_start: dt.date | None = None,
                  period_end: dt.date | None = None, status: str | None = None
                  ) -> dict[str, Any]:
    """Set (or with ``None`` remove) cron expressions per job kind; validated first."""
    load_jobs()
    merged = dict(campaign.schedules or {})
    for kind, expr in changes.items():
        if expr is None or not str(expr).strip():
            merged.pop(kind, None)
        else:
            merged[kind] = str(expr).strip()
    merged = validate_schedules(merged, kinds=known_kinds())
    start = period_start or campaign.period_start
    end = period_end or campaign.period_end
    if start and end and end < start:
        raise InvalidInput("campaign_schedules.period_ends_before_starts")
    if status is not None and status not in STATUSES:
        raise InvalidInput("campaign_schedules.status_one", join_statuses=', '.join(STATUSES))
    campaign.schedules = merged
    campaign.period_start, campaign.period_end = start, end
    if status is not None:
        campaign.status = status
    session.add(AuditEvent(actor=actor, action="campaign.schedules", object_type="campaign",
                           object_id=str(campaign.id),
                           detail={"schedules": merged, "status": campaign.status}))
    return {"id": campaign.id, "name": campaign.name, "schedules": merged,
            "period_start": start, "period_end": end, "status": campaign.status}
