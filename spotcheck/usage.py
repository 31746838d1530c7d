"""Mistakes in what a person typed, in the reader's language: Click's usage errors and
pydantic's validation errors, translated at this one place (the CLI's entry point and the
console's invalid-input page both call it).

Typer ships its own copy of Click, whose messages are English f-strings (no gettext to hook
a catalogue into), and Typer reads values through pydantic ("Input should be a valid
integer").  So the CLI's entry point hands a usage error here: its English message is
matched against the shapes Click and pydantic write, and said again from the message
catalogue (``cli_usage.*`` in store/messages.toml) in the reader's language, with the usage
line and the help hint; a shape not listed stays in English rather than being lost.
pydantic's errors (a console form, a setting) are structured: :func:`validation_text` says
them by their type (``validation.*``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from store import messages

__all__ = ["error_text", "show", "validation_text"]

#: Click's messages (format_message()) → the catalogue's code; named groups are parameters.
_MESSAGES: list[tuple[re.Pattern[str], str]] = [(re.compile(p), code) for p, code in (
    (r"^No such option: (?P<option>\S+)(?: \(Possible options: (?P<options>.+)\))?"
     r"(?: Did you mean (?P<suggestion>\S+)\?)?$", "cli_usage.no_such_option"),
    (r"^No such command '(?P<name>.+?)'\.(?: Did you mean '(?P<suggestion>.+?)'\?)?$",
     "cli_usage.no_such_command"),
    (r"^Missing command\.$", "cli_usage.missing_command"),
    (r"^Missing argument (?P<name>.+?)\.$", "cli_usage.missing_argument"),
    (r"^Missing option (?P<name>.+?)\.$", "cli_usage.missing_option"),
    (r"^Missing parameter(?: (?P<name>.+?))?\.$", "cli_usage.missing_parameter"),
    (r"^Got unexpected extra arguments? ?(?:\(s\))? \((?P<args>.+)\)$",
     "cli_usage.extra_arguments"),
    (r"^Option (?P<option>.+?) does not take a value\.$", "cli_usage.takes_no_value"),
    (r"^Option (?P<option>.+?) requires an argument\.$", "cli_usage.needs_a_value"),
    (r"^Option (?P<option>.+?) requires (?P<count>\d+) arguments\.$", "cli_usage.needs_values"),
    (r"^Invalid value for (?P<name>.+?): (?P<reason>.*)$", "cli_usage.invalid_value_for"),
    (r"^Invalid value: (?P<reason>.*)$", "cli_usage.invalid_value"),
)]

#: Why a value is invalid (Click's types and pydantic's messages) → the catalogue's code.
_REASONS: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.S), code) for p, code in (
    (r"^Input should be a valid integer\b.*$", "cli_usage.not_an_integer"),
    (r"^'?.*?'? is not a valid integer\b.*$", "cli_usage.not_an_integer"),
    (r"^Input should be a valid number\b.*$", "cli_usage.not_a_number"),
    (r"^'?.*?'? is not a valid float\b.*$", "cli_usage.not_a_number"),
    (r"^Input should be a valid boolean\b.*$", "cli_usage.not_a_boolean"),
    (r"^'?.*?'? is not a valid boolean\b.*$", "cli_usage.not_a_boolean"),
    (r"^Input should be a valid datetime\b.*$", "cli_usage.not_a_datetime"),
    (r"^Input should be a valid date\b.*$", "cli_usage.not_a_date"),
    (r"^(?P<value>.+?) is not one of (?P<choices>.+)\.$", "cli_usage.not_one_of"),
    (r"^(?:File|Directory|Path) (?P<path>.+?) does not exist\.$", "cli_usage.path_missing"),
    (r"^(?:File|Directory|Path) (?P<path>.+?) is a file\.$", "cli_usage.is_a_file"),
    (r"^(?:File|Directory|Path) (?P<path>.+?) is a directory\.$", "cli_usage.is_a_directory"),
    (r"^(?:File|Directory|Path) (?P<path>.+?) is not readable\.$", "cli_usage.not_readable"),
    (r"^(?:File|Directory|Path) (?P<path>.+?) is not writable\.$", "cli_usage.not_writable"),
)]


def _said(code: str, params: dict[str, Any], locale: str) -> str:
    return messages.render(code, params, locale, labelled=False)


def _reason(text: str, locale: str) -> str:
    for pattern, code in _REASONS:
        found = pattern.match(text.strip())
        if found:
            return _said(code, found.groupdict(), locale)
    return text


def error_text(message: str, locale: str = "zh-CN") -> str:
    """Click's English *message* (a usage error's ``format_message()``) in *locale*; a
    message of a shape not listed is returned as it is."""
    for pattern, code in _MESSAGES:
        found = pattern.match(message.strip())
        if found is None:
            continue
        params = {k: v for k, v in found.groupdict().items()}
        extra = []
        if params.get("reason") is not None:
            params["reason"] = _reason(params["reason"], locale)
        if params.pop("options", None):
            extra.append(_said("cli_usage.possible_options",
                               {"options": found.group("options")}, locale))
        if params.get("suggestion"):
            extra.append(_said("cli_usage.did_you_mean",
                               {"suggestion": params["suggestion"].strip("'")}, locale))
        params.pop("suggestion", None)
        if code == "cli_usage.missing_parameter":
            params = {}
        text = _said(code, params, locale)
        return ("" if locale.startswith("zh") else " ").join([text, *extra])
    return message


def show(exc: Any, locale: str) -> None:
    """Print Click's usage error *exc* (or any ClickException) as Click would, in *locale*:
    the usage line, the help hint and the error."""
    from rich.markup import escape

    from spotcheck.output import err_console

    if type(exc).__name__ == "NoArgsIsHelpError":  # the help itself, already in the tree
        exc.show()
        return
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        usage = str(ctx.get_usage())
        if usage.startswith("Usage:"):
            usage = _said("cli_usage.usage", {}, locale) + usage[len("Usage:"):].lstrip()
        err_console.print(escape(usage), soft_wrap=True)
        if ctx.command.get_help_option(ctx) is not None:
            command = f"{ctx.command_path} {ctx.help_option_names[0]}"
            err_console.print(escape(_said("cli_usage.try_help", {"command": command}, locale)),
                              soft_wrap=True)
        err_console.print("")
    prefix = _said("cli_usage.error", {}, locale)
    err_console.print(f"[red]{escape(prefix)}[/red]"
                      f"{escape(error_text(str(exc.format_message()), locale))}",
                      soft_wrap=True)


#: pydantic's error types (``error["type"]``) → the catalogue's code (``validation.*``).
_VALIDATION = {
    "missing": "missing",
    "int_parsing": "int_parsing", "int_type": "int_parsing", "int_from_float": "int_parsing",
    "float_parsing": "float_parsing", "float_type": "float_parsing",
    "bool_parsing": "bool_parsing", "bool_type": "bool_parsing",
    "date_parsing": "date_parsing", "date_from_datetime_parsing": "date_parsing",
    "date_type": "date_parsing",
    "datetime_parsing": "datetime_parsing", "datetime_from_date_parsing": "datetime_parsing",
    "datetime_type": "datetime_parsing",
    "greater_than_equal": "greater_than_equal", "greater_than": "greater_than",
    "less_than_equal": "less_than_equal", "less_than": "less_than",
    "string_too_long": "string_too_long", "string_too_short": "string_too_short",
    "string_pattern_mismatch": "string_pattern_mismatch",
    "enum": "one_of", "literal_error": "one_of",
}

#: Where a console request's value came from (the first part of an error's ``loc``).
_SOURCES = {"query", "body", "path", "header", "cookie"}


def validation_text(error: Mapping[str, Any], locale: str = "zh-CN") -> str:
    """One pydantic error (``exc.errors()[0]``) as the reader of *locale* reads it: the field
    it is about and why, ``page：应大于或等于 1``; an error type not listed keeps pydantic's
    English message."""
    loc = [str(p) for p in error.get("loc", ())]
    if loc and loc[0] in _SOURCES:
        loc = loc[1:]
    code = _VALIDATION.get(str(error.get("type", "")))
    if code is None:
        reason = str(error.get("msg", ""))
    else:
        ctx = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
        reason = _said(f"validation.{code}", ctx, locale)
    if not loc:
        return reason
    return _said("validation.field", {"field": ".".join(loc), "reason": reason}, locale)
