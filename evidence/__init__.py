"""Evidence capture (Playwright), web archives, custody log, signing, timestamps and packs.

Imports only ``store``.  Public API (modules, imported by name; importing ``evidence`` loads
nothing): :mod:`evidence.capture` (capturing a page), :mod:`evidence.custody` (the custody
log), :mod:`evidence.packs` (self-verifying evidence packs), :mod:`evidence.verify`,
:mod:`evidence.diff` (what changed between two captures), :mod:`evidence.keys` (signing keys),
:mod:`evidence.trust` (trusted keys and time-stamping roots), :mod:`evidence.tsa` and
:mod:`evidence.localtsa` (time stamps), :mod:`evidence.hashing` (canonical bytes),
:mod:`evidence.seal` (signing and time-stamping a document), :mod:`evidence.waczsign`
(WACZ signatures), :mod:`evidence.redact` (redacted copies), :mod:`evidence.covert` (which
captures are covert), :mod:`evidence.netguard` (what a capture may reach),
:mod:`evidence.steps` (a capture's named steps, one loop), :mod:`evidence.steplog` (a
purchase's signed sample-chain steps).  Artifacts are stored by :mod:`store.artifacts`.
"""

__all__ = ["capture", "covert", "custody", "diff", "hashing", "keys", "localtsa", "netguard",
           "packs", "redact", "seal", "steplog", "steps", "trust", "tsa", "verify", "waczsign"]
