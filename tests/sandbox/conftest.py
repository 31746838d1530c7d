"""Fixtures for the sandbox tests: a running sandbox without random obstacles, and its truth."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox import Sandbox

SEED = 7
LISTINGS = 1500


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    """A sandbox with obstacles off (exact answers); tests must not move its clock."""
    with Sandbox(seed=SEED, listings=LISTINGS, obstacles=False) as s:
        yield s


@pytest.fixture(scope="module")
def truth(sb: Sandbox) -> dict[str, Any]:
    return sb.truth()


@pytest.fixture()
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10, cookies={"sbx_consent": "all"}) as c:
        yield c


Pick = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def pick(truth: dict[str, Any]) -> Pick:
    """First truth listing matching all the given field values (flags via `flag_<name>`)."""

    def _pick(**want: Any) -> dict[str, Any]:
        for row in truth["listings"]:
            ok = True
            for k, v in want.items():
                got = row["flags"][k[5:]] if k.startswith("flag_") else row[k]
                if got != v:
                    ok = False
                    break
            if ok:
                return row
        raise LookupError(f"no listing with {want}")

    return _pick
