"""Risk reasons in words: a code, its parameters and the sentence in English and Chinese.

Each listing stores its top reasons as ``{"code", "points", "params", "en", "zh"}`` so that a
plan reviewer reads *why* without running anything, in either language, and software can still
filter on the code.  The sentences live here, in one table, so both languages stay in step;
the codes inside them (sources, match methods, sectors) read through the one label table of
:mod:`store.labels`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from store.labels import TEXT_LABELS, label, text_label
from store.vocabulary import Sector

#: code -> (English template, Chinese template).  Parameters are filled with str.format.
TEMPLATES: dict[str, tuple[str, str]] = {
    "base": ("base weight (every eligible listing)", "基础权重（所有可抽样商品）"),
    "notice_match": ("matches {source_en} {reference} ({score:.2f}{status_en}{keys_en})",
                     "与{source_zh} {reference} 匹配（{score:.2f}{status_zh}{keys_zh}）"),
    "price_low": ("price {pct}% below the brand's median in this category",
                  "价格比该品牌同类商品中位数低{pct}%"),
    "new_seller": ("seller first seen {days} days ago", "新卖家：{days}天前首次发现"),
    "unfiled_seller": ("seller has no filing number", "卖家未备案"),
    "filing_unknown": ("seller's filing number is not on record", "卖家备案号不在备案记录中"),
    "no_licence": ("seller shows no business licence number", "卖家未公示营业执照号"),
    "key_class": ("key supervision class", "重点监管类商品"),
    "key_without_ccc": ("key-supervision product without a CCC mark", "重点监管商品无CCC标志"),
    "sector_rate": ("sector base rate {rate_pct}% ({sector_en})",
                    "行业基础不合格率{rate_pct}%（{sector_zh}）"),
    "churn": ("price/title edited {edits} times in {days} days",
              "{days}天内价格/标题修改{edits}次"),
    "seller_failed": ("seller or its network failed {n} lab test(s)",
                      "卖家或其关联网络有{n}次抽检不合格"),
    "seller_cases": ("seller or its network has {n} enforcement case(s)",
                     "卖家或其关联网络有{n}起执法案件"),
    "brand_failed": ("brand failed {n} lab test(s)", "该品牌有{n}次抽检不合格"),
    "network": ("seller is one of {size} linked storefronts on {platforms} platform(s)",
                "卖家属于{platforms}个平台上{size}家关联店铺的网络"),
    "complaints": ("{n} consumer complaint(s)", "{n}起消费者投诉"),
    "product_failed": ("the same product failed elsewhere: {via_en} {ref} (product {cluster}, "
                       "link strength {strength:.2f})",
                       "同一商品在别处不合格：{via_zh} {ref}（商品簇 {cluster}，关联强度 {strength:.2f}）"),
    "counterfeit_words": ("title uses counterfeit slang", "标题含假货暗语（如“原单”“高仿”）"),
    "prohibited": ("prohibited class: an enforcement lead, never a purchase",
                   "禁止入境类：执法线索，不得购买"),
}



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


def _fill(params: dict[str, Any]) -> dict[str, Any]:
    """Derived display values (source names, percentages) next to the stored parameters;
    every code is read through the one label table (:mod:`store.labels`)."""
    out = dict(params)

    def both(domain: str, code: Any, default: str = "") -> tuple[str, str]:
        if code is None or str(code) not in TEXT_LABELS[domain]:
            return default, default
        return text_label(domain, str(code), "en"), text_label(domain, str(code), "zh-CN")

    src = both("notice_source", params.get("source"), str(params.get("source", "notice")))
    out.setdefault("source_en", src[0])
    out.setdefault("source_zh", src[1])
    st = both("match_state", params.get("status"))
    out.setdefault("status_en", f", {st[0]}" if st[0] else "")
    out.setdefault("status_zh", f"，{st[1]}" if st[1] else "")
    method = both("match_method", params.get("method"))
    keys = [str(k) for k in params.get("keys") or [] if not str(k).startswith(("brand:", "name"))]
    if method[0]:
        shown = f" {', '.join(keys)}" if keys else ""
        out.setdefault("keys_en", f"; {method[0]}{shown}")
        out.setdefault("keys_zh", f"；{method[1]}{shown}")
    out.setdefault("keys_en", "")
    out.setdefault("keys_zh", "")
    via = both("failure_via", params.get("via"))
    if via[0]:
        out.setdefault("via_en", via[0])
        out.setdefault("via_zh", via[1])
    if "rate" in params:
        out.setdefault("rate_pct", round(float(params["rate"]) * 100))
    if "sector" in params:
        out.setdefault("sector_en", label(Sector, str(params["sector"]), "en"))
        out.setdefault("sector_zh", label(Sector, str(params["sector"]), "zh-CN"))
    if "score" in params:
        out["score"] = float(params["score"])
    return out


def render(code: str, points: float, params: dict[str, Any] | None = None) -> Reason:
    """The reason for *code* with its sentence in both languages."""
    params = dict(params or {})
    en_t, zh_t = TEMPLATES.get(code, (code, code))
    values = _fill(params)
    try:
        en, zh = en_t.format(**values), zh_t.format(**values)
    except (KeyError, ValueError, IndexError):
        en, zh = f"{code} {params}", f"{code} {params}"
    return Reason(code=code, points=round(float(points), 3), params=params, en=en, zh=zh)
