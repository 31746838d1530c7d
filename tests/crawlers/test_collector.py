"""The crawl's garbage-collector settings: tuned while crawls run, restored after the last."""

from __future__ import annotations

import gc
from typing import Any


def test_collector_settings_come_back_after_the_last_crawl() -> None:
    from crawlers.collector import YOUNG_THRESHOLD, CollectorTuning

    before = gc.get_threshold()

    class FakeCrawler:  # the two things the extension uses
        class settings:
            @staticmethod
            def getint(name: str, default: int) -> int:
                return default

        class signals:
            @staticmethod
            def connect(*args: Any) -> None:
                pass

    crawler: Any = FakeCrawler()
    first, second = CollectorTuning(crawler), CollectorTuning(crawler)
    first.opened()
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD and gc.get_freeze_count() > 0
    second.opened()
    first.closed()  # another crawl is still running: still tuned
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    second.closed()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
