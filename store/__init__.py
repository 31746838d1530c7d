"""The shared kernel: settings, the data model, the database and its migrations.

The bottom layer: it imports no sibling package, and every rule about data that several
packages share lives here (docs/architecture.md).  Its public API is its modules, imported by
name (``from store.db import Database``); importing ``store`` itself loads nothing.
"""

__all__ = [
    "artifacts",  # content-addressed files: ArtifactStore (one layout for every package)
    "chartlabels",  # row labels of the SVG bar charts, sized to fit beside the bars
    "chromium",  # the one Chromium launcher (Debian's or Playwright's; options, arguments)
    "clock",  # times as a person at the bureau reads them (stored in UTC)
    "db",  # Database.open (migrates to head), sessions, the store's rules registered on them
    "errors",  # SpotcheckError and its kinds (NotFound, Conflict, InvalidInput, ...)
    "filings",  # filing and licence numbers from platforms' submissions, applied to sellers
    "gtin",  # GTINs (EAN/UPC): check digit, the one 14-digit normal form
    "guards",  # rules enforced on every session (approved plans are immutable)
    "hashindex",  # multi-index hashing: exact Hamming search over millions of codes
    "images",  # storing product photos: files once, hashes once, links to listings/notices
    "jsonio",  # the one JSON serialiser (dates, money, enumerations, sets, paths)
    "labels",  # the one table of zh-CN/en labels of vocabulary codes
    "leases",  # one holder at a time (the scheduler, a crawl run), renewed by heartbeat
    "messages",  # what a message says in zh-CN and en (store/messages.toml), by code
    "models",  # SQLAlchemy 2.0 models
    "netrules",  # allow rules for the addresses a capture may reach
    "photoindex",  # near-identical stored photos (PDQ variants in the multi-index)
    "photopairs",  # every pair of copies among stored photos: one bulk pass, incremental
    "photos",  # product photos: bounded decoding, PDQ and pHash (one rule for all)
    "platformnames",  # a platform's name where a person reads one (codes stay in data)
    "printing",  # HTML → PDF through Chromium
    "prn",  # a listing's permanent random number (the one formula)
    "search",  # listing text search
    "settings",  # get_settings, Settings
    "templating",  # the one Jinja2 environment factory
    "text",  # cleaning of text a person will read
    "vocabulary",  # the enumerations of the domain's vocabulary
    "workbook",  # every XLSX: typed columns, frozen headers, filters, widths, charts
]
