"""Obstacles: 429 with Retry-After, first-hit 5xx that a retry clears, slow URLs, determinism."""

from __future__ import annotations

import time

import httpx

from sandbox import Sandbox
from sandbox.obstacles import url_fails_first, url_is_slow
from sandbox.state import ObstacleRates


def test_rate_limit_answers_429_with_retry_after() -> None:
    rates = ObstacleRates(error_rate=0.0, slow_rate=0.0, rate_per_s=2.0, burst=10)
    with Sandbox(seed=7, listings=300, obstacles=True, rates=rates) as sb, httpx.Client() as http:
        codes = [http.get(f"{sb.urls['mall']}/c/toys").status_code for _ in range(30)]
        assert codes[:10] == [200] * 10 and 429 in codes
        r = next(r for r in (http.get(f"{sb.urls['mall']}/") for _ in range(5)) if r.status_code == 429)
        wait = int(r.headers["retry-after"])
        assert wait >= 1
        time.sleep(wait)
        assert http.get(f"{sb.urls['mall']}/").status_code == 200
        # the purchase flow and admin endpoints are never throttled
        assert all(http.get(f"{sb.urls['mall']}/admin/health").status_code == 200 for _ in range(30))


def test_some_urls_fail_once_then_succeed_and_the_choice_is_seeded() -> None:
    rates = ObstacleRates(error_rate=0.2, slow_rate=0.0, rate_per_s=1e6, burst=10**6)
    paths = [f"/c/toys?page={n}" for n in range(1, 5)] + [f"/item/{10_000_000 + j}.html" for j in range(40)]
    expected = {p for p in paths if url_fails_first(7, "mall", p, 0.2)}
    assert expected and len(expected) < len(paths)
    with Sandbox(seed=7, listings=300, obstacles=True, rates=rates) as sb, httpx.Client() as http:
        first = {p: http.get(sb.urls["mall"] + p).status_code for p in paths}
        failed = {p for p, c in first.items() if c >= 500}
        assert failed == expected
        assert all(first[p] in (500, 503) for p in failed)
        assert all(http.get(sb.urls["mall"] + p).status_code == 200 for p in failed)  # a retry works
    assert {p for p in paths if url_fails_first(8, "mall", p, 0.2)} != expected


def test_slow_urls_are_slow() -> None:
    rates = ObstacleRates(error_rate=0.0, slow_rate=0.3, slow_seconds=1.0, rate_per_s=1e6, burst=10**6)
    paths = [f"/item/{10_000_000 + j}.html" for j in range(30)]
    slow = next(p for p in paths if url_is_slow(7, "mall", p, 0.3))
    fast = next(p for p in paths if not url_is_slow(7, "mall", p, 0.3))
    with Sandbox(seed=7, listings=300, obstacles=True, rates=rates) as sb, httpx.Client() as http:
        t0 = time.perf_counter()
        http.get(sb.urls["mall"] + slow)
        t1 = time.perf_counter()
        http.get(sb.urls["mall"] + fast)
        t2 = time.perf_counter()
    assert t1 - t0 >= 1.0 and t2 - t1 < (t1 - t0) - 0.5


def test_obstacles_off_means_exact_answers() -> None:
    rates = ObstacleRates(error_rate=1.0, slow_rate=0.0, rate_per_s=1.0, burst=1)
    with Sandbox(seed=7, listings=300, obstacles=False, rates=rates) as sb, httpx.Client() as http:
        assert all(http.get(f"{sb.urls['shop']}/collections/all?page={n}").status_code == 200 for n in range(1, 6))
        sb.set_obstacles(True)
        assert http.get(f"{sb.urls['shop']}/collections/all?page=7").status_code in (429, 500, 503)
