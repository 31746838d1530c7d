"""Evidence capture (Playwright), web archives, custody log, signing, timestamps and packs.

Imports only ``store``.  Public API (modules, imported by name; importing ``evidence`` loads
nothing): :mod:`evidence.capture` (capturing a page), :mod:`evidence.custody` (the custody
log), :mod:`evidence.packs` (self-verifying evidence packs), :mod:`evidence.verify`,
:mod:`evidence.diff` (what changed between two captures), :mod:`evidence.keys` (signing keys).
Artifacts are stored by :mod:`store.artifacts`.
"""

__all__ = ["capture", "custody", "diff", "keys", "packs", "verify"]
