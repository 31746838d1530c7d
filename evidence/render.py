"""Jinja2 rendering of evidence pages for people (provenance summary, pack report).

Everything crawled is escaped (autoescape on), and labels come in zh-CN and en.
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import Environment, pass_context

from store.labels import text_labels_of
from store.templating import environment as _environment


@functools.cache
def labels(locale: str) -> dict[str, str]:
    """The evidence pages' headings and notes in *locale* (the table: store.labels,
    domain ``evidence_report``)."""
    return text_labels_of("evidence_report", locale)


@functools.cache
def environment() -> Environment:
    """The evidence package's environment, made once: a fresh one compiled the template again
    on every render (the provenance page is rendered twice per capture)."""
    env = _environment("evidence")
    env.filters["size"] = human_size
    env.filters["localtime"] = localtime
    env.filters["textlabel"] = _text_label
    env.filters["availability"] = availability_label
    return env


@pass_context
def availability_label(ctx: Any, value: Any) -> str:
    """A recorded availability as the reader reads it (``out_of_stock`` is 缺货; an older
    capture's schema.org ``OutOfStock`` too); an unknown value as recorded."""
    from store.labels import label
    from store.vocabulary import Availability, availability_code

    code = availability_code(value)
    if code is None:
        return str(value)
    return label(Availability, code, str(ctx.get("locale") or "zh-CN"))


@pass_context
def localtime(ctx: Any, value: Any) -> str:
    """An ISO time (or datetime) as the bureau reads it, to the second, and in UTC: a report
    is compared with clocks on the wall and with other zones' records."""
    import datetime as dt

    from store.clock import local_and_utc

    if value in (None, "", "None"):
        return "—"
    try:
        when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return local_and_utc(when, str(ctx.get("locale") or "zh-CN"))


def _text_label(code: Any, domain: str, locale: str) -> str:
    """``{{ code|textlabel("chain_step", locale) }}``: a plain-string code's label."""
    from store.labels import text_label

    return text_label(domain, None if code is None else str(code), locale)


def human_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def chain_rows(document: dict[str, Any] | None, locale: str) -> list[dict[str, Any]]:
    """The sample chain's steps as the report shows them: each step's label (store.labels),
    when and by whom, and its facts with labels; codes read as words, never raw."""
    from store.labels import label, text_label
    from store.vocabulary import LabOutcome

    if not document:
        return []
    t = labels(locale)
    rows = []
    for step in document.get("steps") or []:
        facts: list[tuple[str, str]] = []
        for key, value in (step.get("detail") or {}).items():
            if value in (None, "", []):
                continue
            if key == "bought_by":
                value = t["covert"] if "persona" in str(value) else t["by_hand"]
            elif key == "outcome":
                value = label(LabOutcome, str(value), locale)
            elif isinstance(value, bool):
                value = t["yes"] if value else t["no"]
            elif isinstance(value, dict) and "file" in value:
                value = f"{value['file']} · SHA-256 {value['sha256']}"
            elif isinstance(value, list):
                value = "; ".join(str(v.get("text") or v.get("code") or v)
                                  if isinstance(v, dict) else str(v) for v in value)
            facts.append((t.get(f"d_{key}", key), str(value)))
        rows.append({"label": text_label("chain_step", step.get("step"), locale),
                     "at": step.get("at"), "by": step.get("by"), "facts": facts})
    return rows


def render(template: str, locale: str, **context: Any) -> str:
    context.setdefault("chain", None)
    return environment().get_template(template).render(
        t=labels(locale), locale=locale, chain_rows=chain_rows(context["chain"], locale), **context)
