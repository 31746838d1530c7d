"""The enumerations of the domain's vocabulary (docs/design.md): sector, supervision class,
statuses, roles, measures, without the data model around them.

Why a module of their own: code that only classifies listings into sectors and supervision
classes (the crawl's item stages) need not import :mod:`store.models`, SQLAlchemy and every
model class for two enumerations.
:mod:`store.models` imports them from here, so either name works.
"""

from __future__ import annotations

import enum


class Sector(enum.StrEnum):
    LIGHT_INDUSTRY = "light_industry"  # 轻工
    TEXTILES = "textiles"  # 纺织
    ELECTRICAL = "electrical"  # 电子电器
    OTHER = "other"


class SupervisionClass(enum.StrEnum):
    PROHIBITED = "prohibited"  # 禁止入境类
    KEY = "key"  # 重点监管类
    GENERAL = "general"  # 一般监管类


class ListingStatus(enum.StrEnum):
    ACTIVE = "active"
    POSSIBLY_REMOVED = "possibly_removed"
    REMOVED = "removed"


class Availability(enum.StrEnum):
    """Whether a listing can be bought, as its page says (crawlers.extract.availability)."""

    IN_STOCK = "in_stock"
    OUT_OF_STOCK = "out_of_stock"
    PRE_ORDER = "pre_order"
    DISCONTINUED = "discontinued"


#: schema.org ItemAvailability names as page markup writes them (last word, lower case,
#: no separators) → Availability.  Captures recorded before their facts spoke codes hold
#: these names ("InStock", "OutOfStock", "Discontinued").
_SCHEMA_AVAILABILITY = {
    "instock": Availability.IN_STOCK, "limitedavailability": Availability.IN_STOCK,
    "instoreonly": Availability.IN_STOCK, "onlineonly": Availability.IN_STOCK,
    "backorder": Availability.IN_STOCK, "madetoorder": Availability.IN_STOCK,
    "outofstock": Availability.OUT_OF_STOCK, "soldout": Availability.OUT_OF_STOCK,
    "preorder": Availability.PRE_ORDER, "presale": Availability.PRE_ORDER,
    "discontinued": Availability.DISCONTINUED}


def availability_code(value: object) -> str | None:
    """The Availability code of a recorded availability: a code as it is, a schema.org name
    (``InStock``, ``https://schema.org/OutOfStock``) as its code, else None.

    Why: a capture's facts read from markup spoke schema.org names and those handed in by
    the crawl's extractor speak codes; comparing two captures must not see a change where
    only the spelling differs."""
    if value is None:
        return None
    text = str(value).strip()
    if text in Availability._value2member_map_:
        return text
    word = text.rsplit("/", 1)[-1].lower().replace("_", "").replace("-", "").replace(" ", "")
    found = _SCHEMA_AVAILABILITY.get(word)
    return found.value if found is not None else None


#: Availabilities under which a listing cannot be bought now (left out of a frame that
#: asks so; a plan item found so at purchase time is a non-response).
UNBUYABLE = frozenset({Availability.OUT_OF_STOCK, Availability.DISCONTINUED})


class PlanStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"


class PurchaseStatus(enum.StrEnum):
    PLANNED = "planned"
    ORDERED = "ordered"
    RECEIVED = "received"
    SENT_TO_LAB = "sent_to_lab"
    RESULT = "result"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class LabOutcome(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"


class Role(enum.StrEnum):
    SAMPLER = "sampler"
    SUPERVISOR = "supervisor"
    INVESTIGATOR = "investigator"
    ADMIN = "admin"


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    NOTIFIED = "notified"
    MEASURES = "measures"
    CLOSED = "closed"


class MeasureKind(enum.StrEnum):
    INTERVIEW = "interview"  # 约谈
    RECTIFICATION = "rectification"  # 责令整改
    STRICTER_INSPECTION = "stricter_inspection"  # 加严检验
    RISK_WARNING = "risk_warning"  # 风险预警
    TAKEDOWN = "takedown"  # 下架
    RETURN = "return"  # 退运
    DESTRUCTION = "destruction"  # 销毁
    RECALL = "recall"  # 强制召回


class CaptureStatus(enum.StrEnum):
    OK = "ok"
    #: Evidence of what the page showed when a bound cut a step off (reasons in meta).
    PARTIAL = "partial"
    FAILED = "failed"

    @classmethod
    def evidence(cls) -> tuple[CaptureStatus, ...]:
        """The statuses whose captures carry signed evidence (complete or partial)."""
        return (cls.OK, cls.PARTIAL)
