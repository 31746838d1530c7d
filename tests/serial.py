"""Which test modules run alone, after the parallel part of ``./dev test``.

A module of its own (nothing but the list) so ``./dev test`` can read it without importing
pytest's fixtures, and name those modules to the serial run instead of collecting the whole
suite a second time.
"""

#: Test modules whose processes race each other or the clock (kills at chosen moments, lease
#: expiry, two crawl workers sharing a queue, a latency comparison): they
#: carry the ``serial`` mark, and ``./dev test`` runs them alone after the parallel part, so a
#: neighbour's load never decides their outcome.  One list, here, rather than a mark in each.
#: The scheduler's random-moment kills and queued runs (test_kill_random, test_queued_runs)
#: run in the parallel part: they mostly wait on their schedulers, and nothing they check
#: hangs on load (no overlap, each run done once; five runs in a row at load 6.7-12 on this
#: 2-core machine, and two beside a second worker's crawls at load 6-16, passed, 2026-12-08).
#: The kill-and-restart test stays here: it checks the gaps between fire times.
SERIAL_MODULES = frozenset({
    "tests/crawlers/test_kill_counts.py",
    "tests/crawlers/test_redis.py",
    "tests/crawlers/test_resume.py",
    "tests/sandbox/test_styles_http.py",
    "tests/scheduler/test_kill_restart.py",
})
