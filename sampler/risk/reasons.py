"""Risk reasons in words: a code, its parameters and the sentence in English and Chinese.

Each listing stores its top reasons as ``{"code", "points", "params", "en", "zh"}`` so that a
plan reviewer reads *why* without running anything, in either language, and software can still
filter on the code.  The sentences are the ``risk_reasons.<factor>`` entries of the one message
catalogue (``store/messages.toml``, rendered by :func:`store.messages.render`), where a test
keeps both languages in step; the codes inside them (sources, match states and methods,
failure routes, sectors) read through the one label table of :mod:`store.labels`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from store import messages
from store.labels import TEXT_LABELS
from store.vocabulary import Sector

#: The catalogue table of the reason sentences: ``risk_reasons.<factor name>``.
TABLE = "risk_reasons"
_SECTORS = frozenset(m.value for m in Sector)


@dataclass(frozen=True)
class Reason:
    """One factor's contribution to a listing's risk score, in words."""

    code: str
    points: float
    params: dict[str, Any] = field(default_factory=dict)
    en: str = ""
    zh: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reason:
        return cls(code=str(data.get("code", "")), points=float(data.get("points", 0.0)),
                   params=dict(data.get("params") or {}), en=str(data.get("en", "")),
                   zh=str(data.get("zh", "")))

    def text(self, locale: str = "en") -> str:
        return self.zh if locale.lower().startswith("zh") else self.en


def _values(params: dict[str, Any]) -> dict[str, Any]:
    """The stored parameters with what the sentences show beside them, named so that the one
    message function labels each code in the reader's language (a parameter named after a
    :data:`store.labels.TEXT_LABELS` domain, a :class:`~store.vocabulary.Sector`, a quoted
    ``{"code", "params"}`` part); a code nobody labelled reads as itself."""
    out = dict(params)

    def listed(domain: str, code: Any) -> str | None:
        return str(code) if code is not None and str(code) in TEXT_LABELS[domain] else None

    source = params.get("source")
    out["notice_source"] = listed("notice_source", source) or str(params.get("source", "notice"))
    state = listed("match_state", params.get("status"))
    out["match_part"] = {"code": f"{TABLE}.match_state_part",
                         "params": {"match_state": state}} if state else ""
    method = listed("match_method", params.get("method"))
    keys = [str(k) for k in params.get("keys") or [] if not str(k).startswith(("brand:", "name"))]
    # each key with its kind labelled ("型号 ME-E7800", not "model:ME-E7800")
    said_keys = [{"code": f"{TABLE}.match_key", "params": {
        "match_key": k.partition(":")[0], "value": k.partition(":")[2]}} for k in keys]
    if not method:
        out["keys_part"] = ""
    elif said_keys:
        out["keys_part"] = {"code": f"{TABLE}.match_keys_part",
                            "params": {"match_method": method, "keys": said_keys}}
    else:
        out["keys_part"] = {"code": f"{TABLE}.match_method_part",
                            "params": {"match_method": method}}
    via = listed("failure_via", params.get("via"))
    if via:
        out["failure_via"] = via
    if "rate" in params:
        out.setdefault("rate_pct", round(float(params["rate"]) * 100))
    if "sector" in params:
        sector = str(params["sector"])
        out["sector"] = Sector(sector) if sector in _SECTORS else sector
    if "score" in params:
        out["score"] = float(params["score"])
    return out


def render(code: str, points: float, params: dict[str, Any] | None = None) -> Reason:
    """The reason for *code* with its sentence in both languages, from the catalogue.  A code
    without a sentence reads as itself, and one whose parameters are missing as the code and
    its parameters: a listing is scored all the same."""
    params = dict(params or {})
    key = f"{TABLE}.{code}"
    texts = messages.catalogue().get(key)
    values = _values(params)
    if texts is None:
        en = zh = code
    elif {name for name, _spec, _conv in messages.placeholders(texts["en"])} - set(values):
        en = zh = f"{code} {params}"
    else:
        en, zh = messages.render(key, values, "en"), messages.render(key, values, "zh-CN")
    return Reason(code=code, points=round(float(points), 3), params=params, en=en, zh=zh)
