"""Times a person reads are the bureau's, to the second; a wrong zone name is a clear error."""

from __future__ import annotations

import datetime as dt

import pytest

from store import clock
from store.errors import ConfigError
from store.settings import Settings, configure


def test_bureau_time_to_the_second_with_its_name(settings: Settings) -> None:
    at = dt.datetime(2026, 12, 31, 17, 30, 5, tzinfo=dt.UTC)
    assert clock.local(at) == "2027-01-01 01:30:05 北京时间"
    assert clock.local(at, "en") == "2027-01-01 01:30:05 Beijing time"
    assert clock.local_and_utc(at, "en").endswith("(2026-12-31 17:30:05 UTC)")
    assert clock.local_date(at) == "2027-01-01"  # the bureau's calendar day, not UTC's
    naive = at.replace(tzinfo=None)  # SQLite returns stored UTC without a zone
    assert clock.local(naive) == clock.local(at)
    assert clock.local(None) == "—"


def test_zone_is_a_setting(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                           tmp_path: object) -> None:
    monkeypatch.setenv("SPOTCHECK_TIMEZONE", "Europe/Berlin")
    configure(home=settings.home)
    at = dt.datetime(2026, 7, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert clock.local(at, "en") == "2026-07-01 14:00:00 Europe/Berlin"
    monkeypatch.setenv("SPOTCHECK_TIMEZONE", "Mars/Olympus")
    configure(home=settings.home)
    with pytest.raises(ConfigError, match="timezone"):
        clock.local(at)
