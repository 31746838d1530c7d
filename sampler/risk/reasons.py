"""Risk reasons in words: a code, its parameters and the sentence in English and Chinese.

Each listing stores its top reasons as ``{"code", "points", "params", "en", "zh"}`` so that a
plan reviewer reads *why* without running anything, in either language, and software can still
filter on the code.  Templates live here, in one table, so both languages stay in step.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SOURCE_NAMES: dict[str, tuple[str, str]] = {
    "cpsc": ("CPSC recall", "美国CPSC召回"),
    "safety-gate": ("EU Safety Gate alert", "欧盟Safety Gate通报"),
    "health-canada": ("Health Canada recall", "加拿大卫生部召回"),
    "report": ("enterprise self-report", "企业自主报告"),
    "csv": ("notice", "风险通报"),
}

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
    "sector_rate": ("sector base rate {rate_pct}% ({sector})", "行业基础不合格率{rate_pct}%（{sector_zh}）"),
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

#: How a product's failure reached a copy (sampler.products.Carried.source).
VIA_TEXT = {"lab_fail": ("failed lab test of listing", "商品抽检不合格，商品"),
            "notice": ("confirmed notice", "已确认的通报")}
SECTOR_ZH = {"light_industry": "轻工", "textiles": "纺织", "electrical": "电子电器",
             "other": "其他"}
STATUS_TEXT = {"confirmed": (", confirmed", "，已确认"),
               "proposed": (", proposed, not yet confirmed", "，疑似匹配，尚未人工确认")}
#: How a match was found, for the reason sentence.
METHOD_TEXT = {"exact-key": ("exact key", "精确标识"), "brand+model": ("brand + model", "品牌+型号"),
               "model": ("model", "型号"), "text": ("text similarity", "文本相似")}


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
    """Derived display values (source names, percentages) next to the stored parameters."""
    out = dict(params)
    src = SOURCE_NAMES.get(str(params.get("source", "")), (str(params.get("source", "notice")),) * 2)
    out.setdefault("source_en", src[0])
    out.setdefault("source_zh", src[1])
    st = STATUS_TEXT.get(str(params.get("status", "")), ("", ""))
    out.setdefault("status_en", st[0])
    out.setdefault("status_zh", st[1])
    method = METHOD_TEXT.get(str(params.get("method", "")))
    keys = [str(k) for k in params.get("keys") or [] if not str(k).startswith(("brand:", "name"))]
    if method is not None:
        shown = f" {', '.join(keys)}" if keys else ""
        out.setdefault("keys_en", f"; {method[0]}{shown}")
        out.setdefault("keys_zh", f"；{method[1]}{shown}")
    out.setdefault("keys_en", "")
    out.setdefault("keys_zh", "")
    via = VIA_TEXT.get(str(params.get("via", "")))
    if via is not None:
        out.setdefault("via_en", via[0])
        out.setdefault("via_zh", via[1])
    if "rate" in params:
        out.setdefault("rate_pct", round(float(params["rate"]) * 100))
    if "sector" in params:
        out.setdefault("sector_zh", SECTOR_ZH.get(str(params["sector"]), str(params["sector"])))
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
