"""Text files as bureaus exchange them: UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's
"Unicode text"), or GB18030/GBK (what Excel on a Chinese Windows machine saves as CSV).

One decoder for every spreadsheet the project reads (risk imports, ``spotcheck sample``), so a
GBK frame is read, not answered with "internal error: UnicodeDecodeError".
"""

from __future__ import annotations

import codecs
from pathlib import Path

from store.errors import InvalidInput


def decode(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding) of *data*; InvalidInput naming the line when no encoding fits.

    Order: a BOM decides (UTF-8, UTF-16 LE/BE); else UTF-8; else GB18030 (a superset of GBK
    and GB2312).  Plain UTF-8 is tried first because GB18030 accepts almost any byte string.
    """
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as first:
        if encoding != "utf-8":
            line = data[: first.start].count(b"\n") + 1
            raise InvalidInput("textfile.line_valid_text", name=name, line=line, encoding=encoding) from None
        try:
            return data.decode("gb18030"), "gb18030"
        except UnicodeDecodeError:
            line = data[: first.start].count(b"\n") + 1
            raise InvalidInput("textfile.line_neither_utf_nor_gb18030", name=name, line=line) \
                from None


def read_text(path: Path, max_bytes: int = 200 * 1024 * 1024) -> str:
    """The decoded text of *path*, refusing missing and oversized files with a clear error."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInput("textfile.such_file", path=path) from None
    if size > max_bytes:
        raise InvalidInput("textfile.bytes_more_than_allowed", path_name=path.name, size=size,
                           max_bytes=max_bytes)
    return decode(path.read_bytes(), path.name)[0]
