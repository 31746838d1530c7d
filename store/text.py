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


def formatted_strings(value: object, *, limit: int = 20, size: int = 500,
                      path: str = "") -> dict[str, str]:
    """The strings inside *value* (a page's structured data: dicts and lists) that hold
    format characters, by their path (``fields.title``, ``product.name``), at most *limit*
    of them, each cut to *size* characters.  What the page really said where the stored,
    cleaned text differs from it, to keep beside the cleaned text (a listing snapshot)."""
    found: dict[str, str] = {}

    def walk(item: object, where: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(item, str):
            if has_format(item):
                found[where or "."] = item[:size]
        elif isinstance(item, dict):
            for key, sub in item.items():
                walk(sub, f"{where}.{key}" if where else str(key))
        elif isinstance(item, list):
            for i, sub in enumerate(item):
                walk(sub, f"{where}[{i}]")

    walk(value, path)
    return found

