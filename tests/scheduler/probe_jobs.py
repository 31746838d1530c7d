"""A job kind for scheduler tests: ``probe`` logs start/done lines and sleeps a while.

Imported by the tests and by scheduler subprocesses (``python -c "import
tests.scheduler.probe_jobs; ..."``).  Its effect — a ``done`` line per run key — shows
whether a run completed once, twice or never.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from scheduler.jobs import JobContext, job
from scheduler.runs import run_key


@job("probe")
def probe(ctx: JobContext) -> dict[str, Any]:
    log = Path(os.environ.get("PROBE_LOG", "probe.log"))
    key = run_key(ctx.kind, ctx.campaign_id, ctx.scheduled_for)
    with log.open("a") as fh:
        fh.write(f"start {key} {os.getpid()}\n")
    time.sleep(float(os.environ.get("PROBE_SECONDS", "0")))
    with log.open("a") as fh:
        fh.write(f"done {key} {os.getpid()}\n")
    return {"pid": os.getpid()}


@job("boom")
def boom(ctx: JobContext) -> dict[str, Any]:
    raise RuntimeError("probe failure")


@job("overlap")
def overlap(ctx: JobContext) -> dict[str, Any]:
    """Like ``probe``, with wall-clock times: shows whether two runs of one job overlapped."""
    log = Path(os.environ.get("PROBE_LOG", "probe.log"))
    key = run_key(ctx.kind, ctx.campaign_id, ctx.scheduled_for)
    with log.open("a") as fh:
        fh.write(f"start {key} {os.getpid()} {time.time():.3f}\n")
    time.sleep(float(os.environ.get("PROBE_SECONDS", "0")))
    with log.open("a") as fh:
        fh.write(f"done {key} {os.getpid()} {time.time():.3f}\n")
    return {"pid": os.getpid()}
