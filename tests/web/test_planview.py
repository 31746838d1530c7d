"""The review page's column-level figures equal sampler.plans' own summary and diff."""

from __future__ import annotations

import math
from typing import Any

from sampler import plans as sp
from spotcheck.web import planview
from store.db import Database
from store.models import Plan
from store.settings import Settings
from tests.factory.console import world


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_summary_and_diff_match_the_sampler(any_db: Database, settings: Settings) -> None:
    data = world(any_db, settings, listings=80, with_users=False, captures=2)
    v1, v2 = data.plan_ids
    with any_db.session() as s:
        plan = s.get(Plan, v2)
        prev = s.get(Plan, v1)
        assert plan is not None and prev is not None
        items = planview.load_items(s, v2)
        ours = planview.summary(plan, items)
        theirs = sp.plan_summary(s, v2)
        for key in ("strata", "risk_distribution", "sellers", "totals"):
            assert _close(ours[key], theirs[key]), key
        assert len(ours["strata"]) >= 2 and sum(ours["risk_distribution"].values()) == len(items)
        d_ours = planview.diff(s, prev, plan, items)
        d_theirs = sp.plan_diff(s, v1, v2)
    for key in ("seed", "frame_changed", "frame_size", "design", "changed", "kept"):
        assert _close(d_ours[key], d_theirs[key]), key
    for key in ("added", "removed"):
        assert [(x["listing_id"], x["title"]) for x in d_ours[key]] == \
               [(x["listing_id"], x["title"]) for x in d_theirs[key]], key
    assert d_ours["added"] or d_ours["removed"] or d_ours["changed"]
