"""Running crawls: in this process (the CLI), or in a child process (callers that crawl
again and again, like the scheduler — Scrapy's reactor cannot be restarted in one process).

Public API::

    crawl_platform(code, *, settings, base_url=None, full=True, progress=True) -> CrawlRunSummary
    run_crawl_in_process(code, *, settings, ...) -> CrawlRunSummary   # once per process
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from crawlers.session import CrawlRunSummary, CrawlSession
from store.db import Database
from store.errors import ServiceUnavailable, SpotcheckError
from store.settings import Settings


def _shared_job(settings: Settings, platform: str, fresh: bool) -> tuple[str, Any, bool]:
    """(job key, worker registry, seeds) for a crawl shared through Redis."""
    from crawlers.distributed import WorkerRegistry, join_or_start

    try:
        gen, seeds = join_or_start(settings.redis_url, platform, fresh=fresh)
    except Exception as exc:
        raise ServiceUnavailable("run.cannot_reach_redis", settings_redis_url=settings.redis_url,
                                 exc=exc) from exc
    prefix = f"spotcheck:crawl:{platform}:{gen}"
    return f"redis:{platform}:{gen}", WorkerRegistry(settings.redis_url, prefix), seeds


def run_crawl_in_process(platform: str, *, settings: Settings, base_url: str | None = None,
                         full: bool = True, progress: bool = True, fresh: bool = False,
                         extra_settings: dict[str, Any] | None = None,
                         bounds: dict[str, Any] | None = None) -> CrawlRunSummary:
    """Crawl *platform* with Scrapy in this process (``CrawlerProcess`` runs once per process).

    A previous run of the same platform that was killed is resumed (its listings are not
    fetched again) unless *fresh*.  *bounds* (``max_pages``, ``max_duration`` in seconds,
    ``products_only``) bound this crawl (see :mod:`crawlers.bounds`).
    """
    from scrapy.crawler import CrawlerProcess

    from crawlers.settings import project_settings
    from crawlers.spiders.platform import PlatformSpider

    db = Database.open(settings=settings)
    registry = None
    seeds = True
    job_key = f"local:{platform}"
    if settings.redis_url:
        job_key, registry, seeds = _shared_job(settings, platform, fresh)
    if fresh:
        _abandon(db, job_key)
    session = CrawlSession.open(platform, settings=settings, db=db, base_url=base_url,
                                full=full, job_key=job_key, bounds=bounds)
    scrapy_settings = project_settings()
    scrapy_settings["SPOTCHECK_PROGRESS"] = progress
    scrapy_settings["EXTENSIONS"] = {**scrapy_settings.get("EXTENSIONS", {}),
                                     "crawlers.progress.ProgressExtension": 500}
    scrapy_settings.update(extra_settings or {})
    verbose = logging.getLogger().isEnabledFor(logging.DEBUG)
    quiet_logs(verbose)
    process = CrawlerProcess(settings=scrapy_settings)
    quiet_logs(verbose)
    crawler = process.create_crawler(PlatformSpider)
    process.crawl(crawler, session=session, registry=registry, seeds=seeds)
    process.start()
    summary = session.result or session.summary()
    db.dispose()
    return summary


def quiet_logs(verbose: bool = False) -> None:
    """Scrapy logs every page at DEBUG to the root logger; operators want warnings only."""
    level = logging.DEBUG if verbose else logging.WARNING
    for name in ("scrapy", "twisted", "scrapy_playwright", "scrapy_redis", "asyncio",
                 "py.warnings", "filelock"):
        logging.getLogger(name).setLevel(level)
    for handler in logging.root.handlers:
        handler.setLevel(level)


def _abandon(db: Database, job_key: str) -> None:
    """Close a left-over running run with this key, so the new crawl starts afresh."""
    from sqlalchemy import select

    from store.models import CrawlRun, utcnow

    with db.session() as s:
        row = s.scalar(select(CrawlRun).where(CrawlRun.job_key == job_key))
        if row is not None and row.status == "running":
            row.status = "abandoned"
            row.finished_at = utcnow()
            row.job_key = f"{job_key}@{row.id}"


def settings_env(settings: Settings) -> dict[str, str]:
    """Environment for a child process that must see the same settings."""
    env = dict(os.environ)
    env["SPOTCHECK_HOME"] = str(Path(settings.home).resolve())
    if settings.db:
        env["SPOTCHECK_DB"] = settings.db
    else:
        env.pop("SPOTCHECK_DB", None)
    if settings.redis_url:
        env["SPOTCHECK_REDIS_URL"] = settings.redis_url
    else:
        env.pop("SPOTCHECK_REDIS_URL", None)
    if settings.browser:
        env["SPOTCHECK_BROWSER"] = settings.browser
    if settings.crawl_photos:
        env["SPOTCHECK_CRAWL_PHOTOS"] = "1"
    else:
        env.pop("SPOTCHECK_CRAWL_PHOTOS", None)
    return env


def crawl_platform(platform_code: str, *, settings: Settings, base_url: str | None = None,
                   full: bool = True, progress: bool = True, fresh: bool = False,
                   timeout: float | None = None,
                   bounds: dict[str, Any] | None = None) -> CrawlRunSummary:
    """Crawl a platform in a child process and return its crawl run summary.

    Safe to call repeatedly from one process (the scheduler does).  Raises the
    :class:`SpotcheckError` the child reported (e.g. NotFound for an unknown platform).
    """
    with tempfile.TemporaryDirectory(prefix="spotcheck-crawl-") as tmp:
        out = Path(tmp) / "summary.json"
        cmd = [sys.executable, "-m", "crawlers", "crawl", platform_code, "--summary", str(out),
               "--exit-with", str(os.getpid())]
        if base_url:
            cmd += ["--base-url", base_url]
        if not full:
            cmd.append("--incremental")
        if not progress:
            cmd.append("--quiet")
        if fresh:
            cmd.append("--fresh")
        bounds = bounds or {}
        if bounds.get("max_pages") is not None:
            cmd += ["--max-pages", str(bounds["max_pages"])]
        if bounds.get("max_duration") is not None:
            cmd += ["--max-duration", str(bounds["max_duration"])]
        if bounds.get("products_only"):
            cmd.append("--products-only")
        proc = subprocess.run(cmd, env=settings_env(settings), timeout=timeout, check=False,
                              stdout=subprocess.DEVNULL,
                              stderr=None if progress else subprocess.PIPE, text=True)
        if not out.exists():
            detail = (proc.stderr or "").strip().splitlines()[-1:] if proc.stderr else []
            raise SpotcheckError("run.crawl_failed", platform=platform_code,
                                 code=proc.returncode, detail=detail[0] if detail else "—")
        data = json.loads(out.read_text("utf-8"))
    if "error" in data:
        error = data["error"]
        raise _error_class(error["kind"])(error.get("code") or error["message"],
                                          **(error.get("params") or {}) if error.get("code")
                                          else {})
    return summary_from_dict(data)


def summary_from_dict(data: dict[str, Any]) -> CrawlRunSummary:
    import datetime as dt

    fields = {k: v for k, v in data.items() if k in CrawlRunSummary.__dataclass_fields__}
    for key in ("started_at", "finished_at"):
        if fields.get(key):
            fields[key] = dt.datetime.fromisoformat(fields[key])
    return CrawlRunSummary(**fields)


def _error_class(name: str) -> type[SpotcheckError]:
    from store import errors

    found = getattr(errors, name, SpotcheckError)
    return found if isinstance(found, type) and issubclass(found, SpotcheckError) \
        else SpotcheckError
