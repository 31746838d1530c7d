"""The README's main command, end to end, on PostgreSQL — twice, as a newcomer might."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.browser]


def _demo(home: Path, db: str, *extra: str) -> dict:  # type: ignore[type-arg]
    env = {**os.environ, "SPOTCHECK_CONFIG": str(home / "none.toml")}
    env.pop("SPOTCHECK_DB", None)
    # Run where a newcomer would: in a folder, with the default relative data folder.
    proc = subprocess.run(
        [sys.executable, "-m", "spotcheck", "--home", "spotcheck-data", "--db", db, "demo",
         "--json", "--listings", "120", "--sample-size", "18", *extra],
        capture_output=True, text=True, env=env, timeout=600, check=False, cwd=home)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_demo_twice_on_postgres(tmp_path: Path, pg_url: str, chromium_path: str | None,
                                ) -> None:
    first = _demo(tmp_path, pg_url, "--browser-purchases", "1")
    assert len(first["steps"]) >= 11 and all(s["outcome"] == "ok" for s in first["steps"])
    found = sum(first["listings_by_platform"].values())
    assert found >= 0.99 * first["sandbox_truth"]["active"]
    assert first["listings_by_class"].get("prohibited", 0) >= 1
    # A plan was drawn and approved; one item bought for real through Chromium.
    assert sum(first["plan"]["by_stratum"].values()) == 18
    bought = first["purchases_in_browser"]
    assert len(bought) == 1 and bought[0]["status"] == "ordered"
    assert bought[0]["order_number"].startswith("SBX-")
    assert bought[0]["order_capture_id"]
    # Estimates with intervals that do not collapse; the pack verified; a case opened.
    overall = first["estimate"]["overall"]
    low, high = overall["hajek_rate_ci"]
    assert 0 <= low <= overall["hajek_rate"] <= high <= 1 and high > 0
    assert first["case"] and (tmp_path / first["pack"]).is_file()
    assert any(f.endswith(".pdf") for f in first["reports"])
    # A failed product's copies (found by photos and identifiers, on other platforms too)
    # carry its failure, and the next plan takes them all with π = 1.
    carried = first["propagation"]["carried"]
    assert carried["failed_listings"] >= 1 and carried["copies"] >= 1
    assert carried["other_platform"] >= 1
    assert first["propagation"]["next_plan"]["take_all"]
    assert any("π = 1" in line for line in first["propagation"]["lines"])
    top = first["top_risks"][0]
    assert top["reasons"], "the riskiest listing must say why"

    second = _demo(tmp_path, pg_url, "--browser-purchases", "0")
    assert [s["outcome"] for s in second["steps"]] == ["ok"] * len(first["steps"])
    # The same listings are found again (updated in place, not duplicated).
    assert second["listings_by_platform"] == first["listings_by_platform"]
    assert second["plan"]["id"] != first["plan"]["id"]
