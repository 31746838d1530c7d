"""Job kinds and their bodies: the registry the pipeline fills and :mod:`scheduler.runs` reads.

Kept apart from :mod:`scheduler.runs` so that job bodies (:mod:`scheduler.pipeline`, tests'
probe jobs) register themselves without importing the run machinery that imports them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from store.db import Database
from store.settings import Settings

__all__ = ["REGISTRY", "JobContext", "JobFunc", "job"]


@dataclass
class JobContext:
    """What a job body gets: the database, settings, campaign and the (possibly simulated) time."""

    db: Database
    settings: Settings
    kind: str
    campaign_id: int | None
    scheduled_for: dt.datetime | None
    #: The clock the job should use: the fire time under an accelerated clock, else now.
    now: dt.datetime
    holder: str
    actor: str = "scheduler"
    options: dict[str, Any] = field(default_factory=dict)
    #: Queue a run of another job from this one: ``enqueue(session, kind, options)`` adds it
    #: to *session*'s transaction and returns its key, ``start(key)`` runs it in a thread once
    #: committed.  scheduler.runs fills both in (a job module cannot import the run machinery
    #: that imports it); None where a job body is called directly.
    enqueue: Callable[[Any, str, dict[str, Any]], str] | None = None
    start: Callable[[str], Any] | None = None


JobFunc = Callable[[JobContext], dict[str, Any]]
REGISTRY: dict[str, JobFunc] = {}


def job(kind: str) -> Callable[[JobFunc], JobFunc]:
    """Register a job body for *kind* (a campaign schedule names kinds)."""

    def register(fn: JobFunc) -> JobFunc:
        REGISTRY[kind] = fn
        return fn

    return register
