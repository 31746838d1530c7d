"""How commands talk to people (Rich) and to scripts (``--json``)."""

from __future__ import annotations

import datetime as dt
import enum
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from store import clock, jsonio, labels

#: Human output goes to stdout; diagnostics to stderr so ``--json`` output stays clean.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def dumps(data: Any) -> str:
    return jsonio.dumps(data)


def print_json(data: Any) -> None:
    """Print *data* as JSON on stdout (nothing else is printed there in --json mode)."""
    sys.stdout.write(dumps(data) + "\n")
    sys.stdout.flush()


def heading(text: str) -> str:
    """A CLI heading (a table's title, a column, a field's name) in the reader's language,
    from the ``cli_heading`` labels; a text without a label stays as it is."""
    from store.labels import TEXT_LABELS, text_label

    if text in TEXT_LABELS["cli_heading"]:
        return text_label("cli_heading", text, reader_locale())
    return text


def check_name(name: str, lang: str | None = None) -> str:
    """A verification's check (``signature``, ``sample chain timestamp manifest.json.0.tsr``)
    in *lang* (the reader's language by default; the console passes the page's): its known
    words by their ``verify_check`` label, the file or capture it names as it is."""
    from store.labels import TEXT_LABELS, text_label

    checks = TEXT_LABELS["verify_check"]
    lang = lang or reader_locale()
    if name in checks:
        return text_label("verify_check", name, lang)
    for prefix in ("sample chain ", "timestamp "):
        if name.startswith(prefix) and prefix.strip() in checks:
            rest = name[len(prefix):]
            return f"{text_label('verify_check', prefix.strip(), lang)} {check_name(rest, lang)}"
    capture = re.match(r"capture (\d+)(?: (.+))?$", name)  # a capture's checks: "capture 3 …"
    if capture:
        head = f"{text_label('verify_check', 'capture', lang)} {capture.group(1)}"
        return f"{head} {check_name(capture.group(2), lang)}" if capture.group(2) else head
    return name


def check_code(name: str) -> Any:
    """A verification's check as a refusal's parameter: a ``verify_check`` code (read in the
    refusal's language) when it is one, else its name as it is (``capture 3``)."""
    from store.labels import TEXT_LABELS
    from store.messages import Code

    return Code("verify_check", name) if name in TEXT_LABELS["verify_check"] else name


def moment(value: Any) -> Any:
    """A time kept as ISO 8601 text (a purchase's history, a token's generation time) as a
    datetime, so a table shows it in the bureau's zone; anything else as it is."""
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", value):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def local_time(value: Any) -> str:
    """A time (a datetime or ISO 8601 text) as the reader reads it: the bureau's zone, to the
    second; anything else as its text."""
    when = moment(value)
    return clock.local(when, reader_locale()) if isinstance(when, dt.datetime) else str(value)


def yes_no(value: object) -> str:
    """A yes/no cell in the reader's language (是/否; :func:`store.labels.yes_no`)."""
    return labels.yes_no(value, reader_locale())


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
          codes: Mapping[str, type[enum.StrEnum] | str] | None = None,
          fields: bool = False, platforms: Mapping[str, str] | None = None) -> Table:
    """A Rich table for a person, in the reader's language; every cell is escaped, since
    crawled text may contain markup.

    The title and headers are read from the ``cli_heading`` labels (:func:`heading`); with
    *codes* (column → a label domain of :mod:`store.labels`: an enumeration or a
    plain-string domain, or ``"stratum"`` for a stratum's coded parts, its platform named
    from *platforms*: :func:`store.platformnames.platform_names`), the named columns'
    codes by their labels; a time in the bureau's
    zone to the second (store.clock); with *fields*, the first
    column's values are headings too (a ``field | value`` table).  ``--json`` output never
    goes through here: it keeps the codes."""
    from store.labels import label, stratum_label, text_label

    lang = reader_locale()
    codes = codes or {}

    def cell(col: str, value: Any) -> Any:
        if isinstance(value, dt.datetime):  # stored in UTC; read in the bureau's zone
            return clock.local(value, lang)
        domain = codes.get(col)
        if domain is None or value is None or value == "":
            return value
        if domain == "stratum":  # "mall/electrical/key": each coded part by its label
            return stratum_label(str(value), lang, platforms)
        if isinstance(domain, str):
            return text_label(domain, str(value), lang)
        return label(domain, str(value), lang)

    rows = [[heading(str(v)) if fields and i == 0 and isinstance(v, str) else cell(col, v)
             for i, (col, v) in enumerate(zip(columns, row, strict=False))] for row in rows]
    title = heading(title) if title else title
    tbl = Table(title=title, show_lines=False)
    for col in columns:
        tbl.add_column(heading(col))
    for row in rows:
        tbl.add_row(*(escape("" if c is None else str(c)) for c in row))
    return tbl


def said(code: str, /, **params: Any) -> str:
    """The message *code* of the catalogue (store/messages.toml) in the reader's language."""
    from store import messages

    return messages.render(code, params, reader_locale())


def say(code: str, /, **params: Any) -> None:
    """Tell the person at the terminal what a command did, in their language (the message
    *code* with *params*; markup in the values is printed as it is)."""
    console.print(escape(said(code, **params)))


def reader_locale() -> str:
    """The language the person at the terminal reads (the command's setting; zh-CN outside
    a command)."""
    try:
        from spotcheck.context import current

        return current().reader_locale()
    except Exception:  # no command context (a library caller): the CLI's default language
        return "zh-CN"


def bar_chart(title: str, values: dict[str, float], width: int = 40) -> Table:
    """A horizontal bar chart for the terminal (allocations, distributions); the title is a
    heading (:func:`heading`)."""
    tbl = Table(title=heading(title), show_header=False, box=None)
    tbl.add_column(justify="right")
    tbl.add_column()
    tbl.add_column(justify="right")
    top = max(values.values(), default=0) or 1
    for label, value in values.items():
        bar = "█" * max(0, round(width * value / top))
        tbl.add_row(escape(label), f"[cyan]{bar}[/cyan]", f"{value:g}")
    return tbl
