"""``spotcheck scheduler``: run campaigns over time (long-running service, accelerated clock).

``run`` stays in the foreground, logs to stderr and stops gracefully on SIGTERM (running jobs
finish first; a second signal stops at once — the next start resumes what was cut short).
``tick --now`` runs what is due at a given time, for tests and demos that cannot wait weeks.
"""

from __future__ import annotations

import datetime as dt
import logging

import typer
from rich.markup import escape
from sqlalchemy import select

from spotcheck.context import current
from spotcheck.output import console, err_console, print_json, said, say, table, yes_no
from store.errors import InvalidInput
from store.models import JobRun, SchedulerLease

app = typer.Typer(help="Scheduled campaign jobs: run the scheduler, tick a simulated clock.",
                  no_args_is_help=True)


def _load_jobs() -> None:
    """Register the pipeline's job bodies (crawl, score, draw, purchase, buy, ...)."""
    from scheduler.runs import load_jobs

    load_jobs()


def _parse_now(value: str | None) -> dt.datetime:
    if not value:
        return dt.datetime.now(dt.UTC)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput("scheduler.now_iso_date_time", value=value) from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@app.command("run")
def run_cmd(
    lease_seconds: float | None = typer.Option(None, help="Lease duration (default: settings)."),
    sync_seconds: float | None = typer.Option(None, help="Re-read schedules every N seconds."),
    workers: int = typer.Option(2, min=1, max=16, help="Jobs run in parallel."),
) -> None:
    """Run the scheduler in the foreground until SIGTERM or Ctrl-C."""
    from scheduler.service import SchedulerService

    ctx = current()
    updates: dict[str, float] = {}
    if lease_seconds is not None:
        updates["scheduler_lease_seconds"] = lease_seconds
    if sync_seconds is not None:
        updates["scheduler_sync_seconds"] = sync_seconds
    settings = ctx.settings.model_copy(update=updates)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("spotcheck.scheduler", "apscheduler"):
        lg = logging.getLogger(name)
        lg.setLevel(logging.INFO)
        lg.addHandler(handler)
        lg.propagate = False
    _load_jobs()
    service = SchedulerService(ctx.db, settings, max_workers=workers)
    service.start()
    err_console.print(escape(said("cli_said.scheduler_running", holder=service.holder,
                                  url=ctx.db.url)))
    service.run_forever()


@app.command("tick")
def tick_cmd(
    now: str | None = typer.Option(None, "--now", help="Simulated time (ISO 8601; UTC if no "
                                                       "offset). Default: the real time."),
    campaign: list[int] | None = typer.Option(None, "--campaign", "-c", help="Only these."),
    kind: list[str] | None = typer.Option(None, "--kind", "-k", help="Only these job kinds."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Run every job due at --now once (the accelerated clock), then exit."""
    from scheduler.service import run_due

    ctx = current()
    _load_jobs()
    done = run_due(ctx.db, ctx.settings, _parse_now(now), campaign_ids=campaign or None,
                   kinds=kind or None)
    rows = [r.as_dict() for r in done]
    if json_out:
        print_json(rows)
        return
    if not rows:
        say("cli_said.nothing_due")
        return
    console.print(table("runs", ["key", "outcome", "attempt", "ran now", "error"],
                        [(r["key"], r["outcome"], r["attempts"], yes_no(r["started"]),
                          (r["error"] or "").splitlines()[0] if r["error"] else "")
                         for r in rows]))


@app.command("run-job")
def run_job_cmd(
    kind: str = typer.Argument(..., help="crawl | score | draw | purchase | buy | recapture | "
                                         "stats"),
    campaign: int = typer.Option(..., "--campaign", "-c", help="Campaign id."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Run one job now, outside its schedule (recorded like any other run)."""
    from scheduler import runs
    from scheduler.lease import Lease

    ctx = current()
    _load_jobs()
    if kind not in runs.REGISTRY:
        raise InvalidInput("scheduler.unknown_job_kind_known", kind=kind,
                           join_runs_registry=', '.join(runs.REGISTRY))
    lease = Lease(ctx.db, ttl=ctx.settings.scheduler_lease_seconds)
    lease.acquire()
    lease.start_heartbeat(lambda: None)
    try:
        info = runs.execute(ctx.db, ctx.settings, kind, campaign, None, holder=lease.holder,
                            fence=lease.held)
    finally:
        lease.release()
    if json_out:
        print_json(info.as_dict())
    else:
        say("cli_said.job_ran", key=info.key, outcome=info.outcome)
        if info.error:
            err_console.print(info.error.splitlines()[0])
    if info.outcome == "error":
        raise typer.Exit(1)


@app.command("jobs")
def jobs_cmd(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
             ) -> None:
    """Jobs in the job store with their next fire time."""
    from scheduler.service import stored_jobs

    rows = stored_jobs(current().db)
    if json_out:
        print_json(rows)
        return
    console.print(table("scheduled jobs", ["id", "name", "next run"],
                        [(r["id"], r["name"], r["next_run_time"]) for r in rows]))


@app.command("runs")
def runs_cmd(
    campaign: int | None = typer.Option(None, "--campaign", "-c", help="Campaign id."),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="Show at most this many runs."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Recorded job runs, newest first: key, outcome, times, error."""
    with current().db.session() as s:
        q = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
        if campaign is not None:
            q = q.where(JobRun.campaign_id == campaign)
        rows = [{"key": r.key, "job": r.job, "campaign_id": r.campaign_id,
                 "scheduled_for": r.scheduled_for, "started_at": r.started_at,
                 "finished_at": r.finished_at, "outcome": r.outcome, "attempts": r.attempts,
                 "error": r.error, "result": r.result} for r in s.scalars(q)]
    if json_out:
        print_json(rows)
        return
    console.print(table("job runs", ["key", "job", "outcome", "attempts", "started",
                                     "finished"],
                        [(r["key"], r["job"], r["outcome"], r["attempts"], r["started_at"],
                          r["finished_at"] or "") for r in rows],
                        codes={"job": "job_kind", "outcome": "run_outcome"}))


@app.command("status")
def status_cmd(json_out: bool = typer.Option(False, "--json", help="Machine-readable output.")
               ) -> None:
    """Who holds the scheduler lease, and until when."""
    with current().db.session() as s:
        lease = s.get(SchedulerLease, "scheduler")
        info = None if lease is None else {
            "holder": lease.holder, "acquired_at": lease.acquired_at,
            "heartbeat_at": lease.heartbeat_at, "expires_at": lease.expires_at}
    if json_out:
        print_json({"lease": info})
        return
    if info is None:
        say("cli_said.no_scheduler")
    else:
        say("cli_said.lease", holder=info["holder"], heartbeat=info["heartbeat_at"],
            expires=info["expires_at"])
