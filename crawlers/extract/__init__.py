"""Reading listings and sellers out of pages: field rules, JSON mappings, structured data.

Public API (modules, for the spiders): :mod:`~crawlers.extract.page` (a fetched page, parsed
once), :mod:`~crawlers.extract.generic` (a page's kind and fields without a profile),
:mod:`~crawlers.extract.listing` (a profile's field rules), :mod:`~crawlers.extract.jsonpath`
(API records), :mod:`~crawlers.extract.item` (fields into an item),
:mod:`~crawlers.extract.contacts` (a seller's facts).
"""

__all__ = ["contacts", "generic", "item", "jsonpath", "listing", "page"]
