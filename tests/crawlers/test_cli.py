"""The CLI: platform add/list/show, crawl --json, listings search and export (with the risk
columns), and the meaning of exit codes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawlers.listings import EXPORT_COLUMNS
from store.db import Database
from store.models import Listing
from store.settings import Settings
from tests.clirun import Ran
from tests.clirun import spotcheck as run_in_process

pytestmark = pytest.mark.slow


def spotcheck(settings: Settings, *args: str) -> Ran | subprocess.CompletedProcess[str]:
    """``spotcheck ARGS`` in this process, except ``crawl``: it runs Scrapy in the calling
    process, whose Twisted reactor is installed once per process (another test's reactor
    would be the wrong one), so it runs as a real subprocess, as an operator runs it."""
    if args and args[0] == "crawl":
        env = dict(os.environ, SPOTCHECK_HOME=str(settings.home))
        env.pop("SPOTCHECK_DB", None)
        env.pop("SPOTCHECK_REDIS_URL", None)
        return subprocess.run([sys.executable, "-m", "spotcheck", *args], env=env,
                              capture_output=True, text=True, timeout=300, check=False)
    return run_in_process(*args, env={"SPOTCHECK_HOME": str(settings.home)},
                          unset=("SPOTCHECK_DB", "SPOTCHECK_REDIS_URL"))



def test_cli_end_to_end(small_sandbox: Any, sqlite_db: Database, settings: Settings,
                        tmp_path: Path) -> None:
    sandbox = small_sandbox
    sandbox.set_day(0)
    r = spotcheck(settings, "platform", "add", "boutique", "--start-url", sandbox.urls["shop"],
                  "--profile", "structured-data", "--bureau", "杭州海关", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["jurisdiction_bureau"] == "杭州海关"
    assert info["base_url"] == sandbox.urls["shop"] + "/"
    r = spotcheck(settings, "crawl", "boutique", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    truth = [t for t in sandbox.truth(platform="shop")["listings"] if t["status"] == "active"]
    # A shop it has never seen, from its start URL alone: ids are canonical URL paths.
    assert summary["status"] == "finished"
    assert summary["new_listings"] >= 0.99 * len(truth)
    r = spotcheck(settings, "platform", "list", "--json")
    assert [p["listings"] for p in json.loads(r.stdout) if p["code"] == "boutique"] == [
        summary["new_listings"]]
    r = spotcheck(settings, "listings", "--class", "prohibited", "--json", "--limit", "1000")
    assert r.returncode == 0, r.stderr
    prohibited = json.loads(r.stdout)
    assert prohibited and all(p["supervision_class"] == "prohibited" for p in prohibited)
    assert all(p["class_reasons"] for p in prohibited)
    # Risk columns go out with the export (filled here as the risk engine would).
    with sqlite_db.session() as s:
        for listing in s.scalars(select(Listing)):
            listing.risk_score = 0.5
            listing.risk_reasons = [{"signal": "x"}]
    out = tmp_path / "l.csv"
    r = spotcheck(settings, "listings", "export", "--platform", "boutique", "--format", "csv",
                  "-o", str(out), "--json")
    assert r.returncode == 0, r.stderr
    with out.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert len(rows) == summary["new_listings"]
    assert rows[0]["risk_score"] == "0.5" and json.loads(rows[0]["risk_reasons"]) == [
        {"signal": "x"}]
    assert not any(v.startswith(("=", "+", "@")) for row in rows for v in row.values())
    out = tmp_path / "l.jsonl"
    r = spotcheck(settings, "listings", "export", "--platform", "boutique", "--format",
                  "jsonl", "-o", str(out))
    assert r.returncode == 0 and len(out.read_text("utf-8").splitlines()) == len(rows)
    # Exit codes: not found 3, bad input 2.
    assert spotcheck(settings, "crawl", "nope").returncode == 3
    assert spotcheck(settings, "platform", "show", "nope").returncode == 3
    assert spotcheck(settings, "listings", "--class", "bogus").returncode == 2
    assert spotcheck(settings, "listings", "export", "--format", "xml", "-o",
                     str(tmp_path / "x")).returncode == 2
    assert spotcheck(settings, "platform", "add", "x", "--start-url", "ftp://h/",
                     "--profile", "structured-data").returncode == 2
