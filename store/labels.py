"""The one table of what people read for each code of the vocabulary, in zh-CN and en.

A code (``key``, ``sent_to_lab``, ``takedown``) is stored and exchanged; a person reads its
label.  The console, the reports (plan report, half-year report) and the CLI all take labels
from here, so a supervision class reads the same on a page, in a PDF and in a terminal.  The
table lives in the bottom layer beside :mod:`store.vocabulary` (whose enumerations it labels);
``tests/store/test_labels.py`` fails when a code of those enumerations has no label.
"""

from __future__ import annotations

import enum

from store import vocabulary as v

__all__ = ["LABELS", "LOCALES", "label", "labels_of"]

LOCALES = ("zh-CN", "en")

#: Enumeration → code → (zh-CN, en).
LABELS: dict[type[enum.StrEnum], dict[str, tuple[str, str]]] = {
    v.Sector: {
        "light_industry": ("轻工", "light industry"),
        "textiles": ("纺织", "textiles"),
        "electrical": ("电子电器", "electrical and electronic"),
        "other": ("其他", "other"),
    },
    v.SupervisionClass: {
        "prohibited": ("禁止入境类", "prohibited"),
        "key": ("重点监管类", "key supervision"),
        "general": ("一般监管类", "general supervision"),
    },
    v.ListingStatus: {
        "active": ("在售", "active"),
        "possibly_removed": ("疑似下架", "possibly removed"),
        "removed": ("已下架", "removed"),
    },
    v.PlanStatus: {
        "draft": ("草稿", "draft"),
        "submitted": ("待审核", "submitted"),
        "approved": ("已批准", "approved"),
        "rejected": ("已退回", "rejected"),
        "superseded": ("已作废", "superseded"),
    },
    v.PurchaseStatus: {
        "planned": ("待购买", "planned"),
        "ordered": ("已下单", "ordered"),
        "received": ("已收货", "received"),
        "sent_to_lab": ("已送检", "sent to lab"),
        "result": ("已出结果", "result"),
        "closed": ("已结案", "closed"),
        "cancelled": ("已取消", "cancelled"),
        "failed": ("失败", "failed"),
    },
    v.LabOutcome: {
        "pass": ("合格", "pass"),
        "fail": ("不合格", "fail"),
    },
    v.Role: {
        "sampler": ("抽样员", "sampler"),
        "supervisor": ("审核人", "supervisor"),
        "investigator": ("调查员", "investigator"),
        "admin": ("管理员", "administrator"),
    },
    v.CaseStatus: {
        "open": ("已立案", "open"),
        "notified": ("已通报", "notified"),
        "measures": ("处置中", "measures taken"),
        "closed": ("已结案", "closed"),
    },
    v.MeasureKind: {
        "interview": ("约谈", "compliance interview"),
        "rectification": ("责令整改", "rectification order"),
        "stricter_inspection": ("加严检验", "stricter inspection"),
        "risk_warning": ("风险预警", "risk warning"),
        "takedown": ("下架", "takedown"),
        "return": ("退运", "return"),
        "destruction": ("销毁", "destruction"),
        "recall": ("强制召回", "compulsory recall"),
    },
    v.CaptureStatus: {
        "ok": ("成功", "ok"),
        "partial": ("部分成功", "partial"),
        "failed": ("失败", "failed"),
    },
    v.Availability: {
        "in_stock": ("有货", "in stock"),
        "out_of_stock": ("缺货", "out of stock"),
        "pre_order": ("预售", "pre-order"),
        "discontinued": ("已停售", "discontinued"),
    },
}


def label(kind: type[enum.StrEnum], code: str | enum.StrEnum | None,
          locale: str = "zh-CN") -> str:
    """What a person reads for *code* of enumeration *kind* (an unknown code reads as itself,
    ``—`` for none)."""
    if code is None:
        return "—"
    value = code.value if isinstance(code, enum.Enum) else str(code)
    pair = LABELS.get(kind, {}).get(value)
    if pair is None:
        return value
    return pair[0] if locale == "zh-CN" else pair[1]


def labels_of(kind: type[enum.StrEnum], locale: str = "zh-CN") -> dict[str, str]:
    """Every code of *kind* with its label, in the enumeration's order."""
    return {member.value: label(kind, member, locale) for member in kind}
