"""Scrapy project: platform profiles, spiders, item pipelines that write listings to the store.

Imports only ``store``.  Public API (modules, imported by name; importing ``crawlers`` itself
loads nothing): :mod:`crawlers.run` (``crawl_platform``,
``run_crawl_in_process``), :mod:`crawlers.platforms` and :mod:`crawlers.profile` (platform
profiles), :mod:`crawlers.listings` (listing queries and filters), :mod:`crawlers.classify`
(sector and supervision class), :mod:`crawlers.extract` (reading a page into fields),
:mod:`crawlers.photos` (listing photos during a crawl), :mod:`crawlers.bounds` (a crawl's
page and time bounds), :mod:`crawlers.store_writer` (``note_availability``: a listing's
availability seen outside a crawl, as a crawl records it).
"""

__all__ = ["bounds", "classify", "extract", "listings", "photos", "platforms", "profile", "run",
           "store_writer"]
