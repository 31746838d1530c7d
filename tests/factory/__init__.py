"""The one test-data factory: every test package builds its rows here.

One shared world rather than a builder per package (Datasette's single fixture world is the
model): a model's new column or a store rule is met once, and a test reads what it builds.

- :mod:`tests.factory.rows`: one row each, with defaults (``platform``, ``seller``,
  ``listing``, ``campaign``, ``plan``, ``capture``, ``case``, ``lab_result``, ``notice``,
  ``users``), re-exported here;
- :mod:`tests.factory.market`: the sampler's market template (``market``) and a plan over
  it approved through the sampler's API (``approved_plan``);
- :mod:`tests.factory.shop`: a small shop with an approved plan over its listings
  (``small_world``), and the same over a running sandbox's real listings (``sandbox_plan``);
- :mod:`tests.factory.cases`: a failed sample's case recorded through the scheduler's API
  (``failed_sample_case``), with no capture of any kind;
- :mod:`tests.factory.truth`: the sandbox's planted truth as crawled rows (``load_truth``);
- :mod:`tests.factory.console`: the console's multi-role world (``world``).

The last four are imported on their own: they load the sandbox, the scheduler or the
console, which a store or sampler test has no need to import.
"""

from __future__ import annotations

from tests.factory.market import approved_plan, market
from tests.factory.rows import (
    ROLES,
    campaign,
    capture,
    case,
    failed_lab,
    lab_result,
    lab_results,
    listing,
    notice,
    plan,
    platform,
    seller,
    users,
)

__all__ = ["ROLES", "approved_plan", "campaign", "capture", "case", "failed_lab", "lab_result", "lab_results", "listing", "market",
           "notice", "plan", "platform", "seller", "users"]
