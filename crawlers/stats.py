"""Scrapy's stats collector without its per-attribute hook.

Scrapy 2.19's ``StatsCollector.__getattribute__`` runs on *every* attribute access of the
collector (``self._stats`` inside ``inc_value`` too): it formats a name and raises and
catches an ``AttributeError`` each time, to wrap the public methods in a warning about their
deprecated ``spider`` argument.  A crawl updates a handful of stats per request, response
and item, so that hook cost several percent of a static crawl.  This subclass keeps
``MemoryStatsCollector``'s behaviour and plain attribute access (no deprecation warnings
for a ``spider`` argument — nothing here passes one).
"""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector


class PlainStatsCollector(MemoryStatsCollector):
    """``MemoryStatsCollector`` with ordinary attribute lookup."""

    __getattribute__ = object.__getattribute__
