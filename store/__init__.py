"""The shared kernel: settings, the data model, the database and its migrations.

The bottom layer: it imports no sibling package, and every rule about data that several
packages share lives here (docs/architecture.md).  Its public API is its modules, imported by
name (``from store.db import Database``); importing ``store`` itself loads nothing.
"""

__all__ = [
    "artifacts",  # content-addressed files: ArtifactStore (one layout for every package)
    "db",  # Database.open (migrates to head), sessions, the store's rules registered on them
    "errors",  # SpotcheckError and its kinds (NotFound, Conflict, InvalidInput, ...)
    "gtin",  # GTINs (EAN/UPC): check digit, the one 14-digit normal form
    "guards",  # rules enforced on every session (approved plans are immutable)
    "hashindex",  # multi-index hashing: exact Hamming search over millions of codes
    "images",  # storing product photos: files once, hashes once, links to listings/notices
    "labels",  # the one table of zh-CN/en labels of vocabulary codes
    "models",  # SQLAlchemy 2.0 models
    "photoindex",  # near-identical stored photos (PDQ variants in the multi-index)
    "photopairs",  # every pair of copies among stored photos: one bulk pass, incremental
    "photos",  # product photos: bounded decoding, PDQ and pHash (one rule for all)
    "printing",  # HTML → PDF through Chromium
    "prn",  # a listing's permanent random number (the one formula)
    "search",  # listing text search
    "settings",  # get_settings, Settings
    "templating",  # the one Jinja2 environment factory
    "text",  # cleaning of text a person will read
    "vocabulary",  # the enumerations of the domain's vocabulary
]
