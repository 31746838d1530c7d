"""How a plan's codes read in its reports (PDF, XLSX, sampling form): methods, allocations,
exclusions, sectors and classes in the reader's language, and stratum labels part by part.

Its own module so that every report writer (sampler.export, sampler.plan_workbook) reads the
same words without importing one another.
"""

from __future__ import annotations

from typing import Any

#: Codes a person reads in the zh report, translated (the en report prints them as they are).
CODES_ZH = {"systematic": "系统 πps 抽样", "pivotal": "枢轴抽样（Deville–Tillé）",
            "sampford": "Sampford 抽样", "brewer": "Brewer 抽样", "pareto": "Pareto πps 抽样",
            "srs": "简单随机抽样", "proportional": "按比例分配", "neyman": "Neyman 最优分配",
            "risk": "按风险分配", "prohibited_class": "禁止入境类（执法线索，不购买）",
            "bought_recently": "近期已购买", "none": "无", "light_industry": "轻工",
            "textiles": "纺织", "electrical": "电子电器", "key": "重点监管类",
            "general": "一般监管类", "prohibited": "禁止入境类"}


def code_text(code: Any, locale: str) -> str:
    """A code (method, allocation, exclusion) as the report's reader reads it."""
    text = str(code)
    return CODES_ZH.get(text, text) if locale == "zh-CN" else text.replace("_", " ")


def stratum_text(label: Any, locale: str) -> str:
    """A stratum label ("mall/light_industry") with each coded part translated."""
    return "/".join(code_text(part, locale) if part in CODES_ZH else part
                    for part in str(label).split("/"))
