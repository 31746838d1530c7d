"""An audit event's details as a person reads them, in the page's language.

The audit log keeps codes (``permission: evidence.view``, ``reason: four_eyes``, a refusal as
``{"code", "params"}``); the audit page shows ``所需权限: 查看取证记录`` and the refusal's
sentence in Chinese.  Every name and code comes from the one label table (store.labels) and
the message catalogue (store.messages); what has no label is shown as stored, so an event
recorded before a label existed still reads (its English text stays English).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from typing import Any

from store import messages, vocabulary
from store.labels import TEXT_LABELS, label, text_label, yes_no

__all__ = ["NAMED_BY_CODE", "detail_text", "stored_text"]

#: Where a detail's value is labelled from: its key → the label domains (TEXT_LABELS domains
#: or store.vocabulary enumerations) tried in order; the first that knows the value wins.
VALUE_DOMAINS: dict[str, tuple[str, ...]] = {
    "permission": ("permission",),
    "reason": ("plan_refusal",),
    "role": ("Role", "artifact_role"),
    "kind": ("case_kind", "capture_kind", "MeasureKind"),
    "status": ("campaign_status",),
    "previous": ("match_status",),
    "by": ("estimate_domain",),
    "source": ("notice_source",),
}


def _label(domain: str, value: str, locale: str) -> str | None:
    kind = getattr(vocabulary, domain, None)
    if isinstance(kind, type) and issubclass(kind, enum.StrEnum):
        known = value in {m.value for m in kind}
        return label(kind, value, locale) if known else None
    if value in TEXT_LABELS.get(domain, {}):
        return text_label(domain, value, locale)
    return None


#: Details that name a row of the database by its code: key → what the names are of (the
#: ``names`` :func:`detail_text` is given: a platform's code → its name).
NAMED_BY_CODE = {"platform": "platform"}


def _value(key: str, value: Any, locale: str,
           names: Mapping[str, Mapping[str, str]] | None = None) -> tuple[str, str]:
    """(the key's name, the value's text) as the reader of *locale* reads them."""
    name = text_label("audit_detail", key, locale)
    table = (names or {}).get(NAMED_BY_CODE.get(key, ""), {})
    if isinstance(value, str) and value in table:
        return name, table[value]  # a platform by its name (its code in the stored JSON)
    if isinstance(value, Mapping) and messages.known(value.get("code")):
        # a refusal kept as its code and parameters (SpotcheckError.stored)
        return name, messages.render(str(value["code"]), value.get("params") or {}, locale)
    if isinstance(value, bool):
        return name, yes_no(value, locale)
    domains = VALUE_DOMAINS.get(key, ())
    if isinstance(value, str):
        for domain in domains:
            found = _label(domain, value, locale)
            if found is not None:
                if key == "role" and domain == "artifact_role":
                    name = text_label("audit_detail", "artifact_role", locale)
                return name, found
        return name, value
    if isinstance(value, list) and domains and all(isinstance(v, str) for v in value):
        return name, messages.join_items((
            next((f for d in domains if (f := _label(d, v, locale)) is not None), v)
            for v in value), locale)
    return name, json.dumps(value, ensure_ascii=False, default=str)


def detail_text(detail: Any, locale: str = "zh-CN",
                names: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """An event's details as ``name: value`` pairs in *locale* (Chinese as Chinese: ``tojson``
    would write \\u escapes); empty for none.  *names* gives the names of rows a detail
    names by code (``{"platform": {"mall": "跨境商城"}}``, see :data:`NAMED_BY_CODE`)."""
    if not detail:
        return ""
    if not isinstance(detail, Mapping):
        return json.dumps(detail, ensure_ascii=False, default=str)
    colon = "：" if locale.startswith("zh") else ": "
    return messages.join_clauses((colon.join(_value(str(k), v, locale, names))
                                  for k, v in detail.items()), locale)


def stored_text(detail: Any) -> str:
    """An event's details as stored (codes, ISO times): the tooltip over their reading, and
    the CSV export's column."""
    return "" if not detail else json.dumps(detail, ensure_ascii=False, default=str)
