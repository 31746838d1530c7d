"""How commands talk to people (Rich) and to scripts (``--json``)."""

from __future__ import annotations

import enum
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from store import jsonio

#: Human output goes to stdout; diagnostics to stderr so ``--json`` output stays clean.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def dumps(data: Any) -> str:
    return jsonio.dumps(data)


def print_json(data: Any) -> None:
    """Print *data* as JSON on stdout (nothing else is printed there in --json mode)."""
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
          codes: Mapping[str, type[enum.StrEnum] | str] | None = None) -> Table:
    """A Rich table; every cell is escaped, since crawled text may contain markup.

    With *codes* (column → a label domain of :mod:`store.labels`: an enumeration or a
    plain-string domain), the table is for a person in the reader's language: its title and
    headers from the ``cli_heading`` labels, the named columns' codes by their labels."""
    if codes is not None:
        from store.labels import TEXT_LABELS, label, text_label

        lang = _reader_locale()
        heads = TEXT_LABELS["cli_heading"]

        def said(text: str) -> str:
            return text_label("cli_heading", text, lang) if text in heads else text

        def cell(col: str, value: Any) -> Any:
            domain = codes.get(col)
            if domain is None or value is None or value == "":
                return value
            if isinstance(domain, str):
                return text_label(domain, str(value), lang)
            return label(domain, str(value), lang)

        rows = [[cell(col, v) for col, v in zip(columns, row, strict=False)] for row in rows]
        title = said(title) if title else title
        columns = [said(c) for c in columns]
    tbl = Table(title=title, show_lines=False)
    for col in columns:
        tbl.add_column(col)
    for row in rows:
        tbl.add_row(*(escape("" if c is None else str(c)) for c in row))
    return tbl


def _reader_locale() -> str:
    try:
        from spotcheck.context import current

        return current().reader_locale()
    except Exception:  # no command context (a library caller): the CLI's default language
        return "zh-CN"


def bar_chart(title: str, values: dict[str, float], width: int = 40) -> Table:
    """A horizontal bar chart for the terminal (allocations, distributions)."""
    tbl = Table(title=title, show_header=False, box=None)
    tbl.add_column(justify="right")
    tbl.add_column()
    tbl.add_column(justify="right")
    top = max(values.values(), default=0) or 1
    for label, value in values.items():
        bar = "█" * max(0, round(width * value / top))
        tbl.add_row(escape(label), f"[cyan]{bar}[/cyan]", f"{value:g}")
    return tbl
