"""Text a person reads is the text that is stored: invisible format characters removed.

Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C) make a stored
``gnp.exe`` display as ``exe.png`` and a brand written backwards read right to a person while
matching sees it reversed; zero-width spaces and word joiners (U+200B, U+2060–U+2064, U+FEFF)
split words invisibly.  They are removed wherever text is cleaned (crawled fields, imported
notices, matching keys), so display and matching see the same characters.  Zero-width
(non-)joiners (U+200C/U+200D) stay: scripts and emoji need them.  The crawler keeps the page's
original structured data in the snapshot, so what the page really said is not lost.
"""

from __future__ import annotations

import re

#: Bidi embedding/override/isolate controls and marks, zero-width spaces and joiners.
FORMAT_CHARACTERS = re.compile(
    "[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def strip_format(text: str) -> str:
    """*text* without the invisible characters that change how it reads."""
    return FORMAT_CHARACTERS.sub("", text)


def has_format(text: str) -> bool:
    """Whether *text* holds any of them (to flag a value that was cleaned)."""
    return FORMAT_CHARACTERS.search(text) is not None
