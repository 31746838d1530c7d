"""Refusals in the reader's language: the catalogue of coded domain messages (zh-CN, en).

The domain raises ``Conflict("plans.four_eyes_drew_submitted_plan", actor=..., plan_id=...)``
(a code and its parameters) instead of an English sentence, so the console and the CLI can say
it in the language of whoever reads it.  The texts live in ``store/messages.toml`` beside this
module, one entry per code; parameters that are vocabulary codes (``PlanStatus.APPROVED``) are
shown by their label from :mod:`store.labels`, so a Chinese sentence does not carry an English
status, and times in the bureau's zone to the second (:mod:`store.clock`).
``tests/store/test_messages.py`` walks the refusal sites and fails on a code that has no text
in both languages, or whose two texts do not take the same parameters.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CATALOGUE", "Code", "Lines", "Said", "catalogue", "join_clauses", "join_items", "known",
           "phrase", "placeholders", "plain", "render"]

#: The catalogue file: ``[module.name]`` tables with ``zh-CN`` and ``en`` texts.
CATALOGUE = Path(__file__).with_name("messages.toml")


@functools.cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every code with its texts, ``{"plans.plan": {"zh-CN": ..., "en": ...}}``."""
    with CATALOGUE.open("rb") as f:
        tables = tomllib.load(f)
    return {f"{module}.{name}": texts for module, entries in tables.items()
            for name, texts in entries.items()}


def known(code: object) -> bool:
    """Whether *code* is a message code (a string that names an entry of the catalogue)."""
    return isinstance(code, str) and code in catalogue()


def placeholders(template: str) -> set[tuple[str, str | None, str | None]]:
    """The ``{name!conv:spec}`` fields of *template* (what both languages must agree on)."""
    return {(name, spec, conv) for _text, name, spec, conv in string.Formatter().parse(template)
            if name is not None}


@dataclass(frozen=True)
class Code:
    """A plain-string code among a message's parameters, labelled from a
    :data:`store.labels.TEXT_LABELS` domain (``Code("chain_step", "seal_photo")``); its own
    text is the English label, so ``str(exc)`` reads as a sentence too."""

    domain: str
    value: str

    def __str__(self) -> str:
        from store.labels import text_label

        return text_label(self.domain, self.value, "en")

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


@dataclass(frozen=True)
class Lines:
    """Line-numbered problems of a file among a message's parameters: each item is
    ``(line, code, params)`` (a message code of the catalogue, or plain text when not coded);
    "line 4: …; line 9: …" in English, "第 4 行：…；第 9 行：…" in Chinese, each problem in the
    same language, so the line numbers an inspector looks up read in the message's language."""

    items: tuple[tuple[int, str, Mapping[str, Any]], ...]

    def text(self, locale: str = "en") -> str:
        def said(code: str, params: Mapping[str, Any]) -> str:
            return render(code, params, locale) if known(code) else code

        if locale.lower().startswith("zh"):
            return "；".join(f"第 {line} 行：{said(c, p)}" for line, c, p in self.items)
        return "; ".join(f"line {line}: {said(c, p)}" for line, c, p in self.items)

    def __str__(self) -> str:
        return self.text("en")

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


@dataclass(frozen=True)
class Said:
    """A coded sentence among a message's parameters (a verification's detail quoted by the
    refusal that reports it): read in the message's language, English as its own text."""

    code: str
    params: Mapping[str, Any]

    def text(self, locale: str = "en") -> str:
        return render(self.code, self.params, locale)

    def __str__(self) -> str:
        return self.text("en")

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def phrase(code: str, /, **params: Any) -> dict[str, Any]:
    """A coded sentence as JSON keeps it, ``{"code", "params"}`` (a verification's problem,
    one of several in a check's detail): read in the reader's language wherever it is
    quoted as a parameter; *params* plain values."""
    return {"code": code, "params": params}


def _coded(value: Any) -> bool:
    """A quoted coded sentence as JSON keeps it: ``{"code", "params"}``."""
    return isinstance(value, Mapping) and known(value.get("code"))


def plain(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as JSON keeps them (a capture's reasons, an audit event's refusal): a
    quoted coded refusal as ``{"code", "params"}`` (which :func:`render` reads in either
    language), any other object as its text.  (Duck-typed: store.errors imports this module.)"""
    def one(v: Any) -> Any:
        if v is None or isinstance(v, bool | int | float | str):
            return v
        if isinstance(v, list | tuple):
            return [one(x) for x in v]
        code = getattr(v, "code", None)
        if isinstance(v, Exception) and known(code):
            return {"code": code, "params": plain(getattr(v, "params", {}))}
        return str(v)

    return {k: one(v) for k, v in params.items()}


#: Parameters that carry a time as JSON keeps it (ISO 8601: a verification's ``stamped``,
#: a token's ``at``): a person reads it in the bureau's zone, to the second.
TIME_PARAMS = frozenset({"at", "stamped", "when", "since", "until", "r_started_at",
                         "heartbeat", "expires"})
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


#: How a language joins the items of a list (收货、封样) and a run of clauses (…；…).
_ITEMS = {"zh-CN": "、", "en": ", "}
_CLAUSES = {"zh-CN": "；", "en": "; "}


def _lang(locale: str) -> str:
    return "zh-CN" if locale.lower().startswith("zh") else "en"


def join_items(items: Iterable[str], locale: str) -> str:
    """Items of a list as *locale* writes them: ``收货、封样``, ``received, sealed``."""
    return _ITEMS[_lang(locale)].join(items)


def join_clauses(clauses: Iterable[str], locale: str) -> str:
    """Clauses (problems, details) as *locale* runs them together: ``…；…``, ``…; …``."""
    return _CLAUSES[_lang(locale)].join(clauses)


#: Domains whose lists are lists of items, not the parts of one thing joined by " + ".
_LIST_JOINS = frozenset({"chain_step"})


def _time(name: str, value: Any, locale: str) -> str | None:
    """*value* as a person reads a time (``2026-12-08 10:03:04 北京时间``), or None when it
    is not a time: a datetime, or an ISO 8601 time among :data:`TIME_PARAMS`."""
    from store import clock

    if isinstance(value, dt.datetime):
        return clock.local(value, locale)
    if name in TIME_PARAMS and isinstance(value, str) and _ISO_TIME.match(value):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return clock.local(when, locale)
    return None


def _shown(name: str, value: Any, locale: str) -> Any:
    """A parameter as the reader sees it: vocabulary codes by their label, and so is a
    parameter named after a domain of :data:`store.labels.TEXT_LABELS` (``variance_method``,
    ``estimate_domain``), one code or a list of them (results kept as JSON stay plain).  A
    message that quotes two parameters of one domain names the second ``<domain>__<role>``
    (``chain_step__missing``): the part before ``__`` says how it is labelled.  A
    ``stratum`` ("mall/textiles/key") reads with each coded part labelled."""
    from store.labels import TEXT_LABELS, stratum_label, text_label, yes_no

    name = name.split("__", 1)[0]
    if name == "stratum" and isinstance(value, str):
        return stratum_label(value, locale)
    shown_time = _time(name, value, locale)
    if shown_time is not None:
        return shown_time
    if isinstance(value, bool):  # 是 / 否, not Python's True / False
        return yes_no(value, locale)
    if name in TEXT_LABELS:
        if isinstance(value, str):
            return text_label(name, value, locale)
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            # parts of one thing ("platform + sector") or items of a list (steps: 收货、封样)
            shown = (text_label(name, v, locale) for v in value)
            return join_items(shown, locale) if name in _LIST_JOINS else " + ".join(shown)
    if isinstance(value, list | tuple) and value and all(isinstance(v, enum.StrEnum)
                                                         for v in value):
        return join_items((str(_shown("", v, locale)) for v in value), locale)
    if isinstance(value, Lines | Said):
        return value.text(locale)
    if isinstance(value, list | tuple) and value and all(_coded(v) for v in value):
        # several coded problems (a verification's): each in the reader's language, joined
        # by the language's separator
        return join_clauses((render(str(v["code"]), v.get("params") or {}, locale)
                             for v in value), locale)
    message = getattr(value, "message", None)
    if isinstance(value, Exception) and hasattr(value, "code") and callable(message):
        # a store.errors refusal quoted by another reads in the reader's language too
        # (duck-typed: store.errors imports this module)
        return message(locale)
    if _coded(value):
        # a quoted refusal as stored in JSON ({"code", "params"}: a failed capture's reason)
        return render(str(value["code"]), value.get("params") or {}, locale)
    if isinstance(value, Code):
        from store.labels import text_label

        return text_label(value.domain, value.value, locale)
    if isinstance(value, enum.StrEnum):
        from store.labels import LABELS, label

        if type(value) in LABELS:
            return label(type(value), value, locale)
    return value


def render(code: str, params: Mapping[str, Any], locale: str = "en", *,
           labelled: bool = True) -> str:
    """The message *code* with *params* in *locale* (``zh-CN`` or ``en``; anything not Chinese
    reads English).  Without *labelled*, codes stay codes (the English text of ``str(exc)``,
    which logs and tests read).  A text that cannot be filled shows its code and parameters
    rather than failing: a refusal must never turn into a crash."""
    texts = catalogue().get(code)
    lang = "zh-CN" if locale.lower().startswith("zh") else "en"
    if texts is None:
        return f"{code} {dict(params)!r}" if params else code
    template = texts.get(lang) or texts["en"]
    values = {k: _shown(k, v, lang) if labelled else v for k, v in params.items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError, TypeError):
        return f"{template} [{code} {dict(params)!r}]"
