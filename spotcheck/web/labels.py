"""Labels of vocabulary codes on console pages, in the request's language.

The texts are the one table of :mod:`store.labels` (shared with reports and the CLI); this
module only picks the active language, so route modules and the app import labels from here
instead of from each other.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from spotcheck.web import i18n
from store import labels
from store.labels import label
from store.vocabulary import MeasureKind, PlanStatus, PurchaseStatus, Role, Sector, SupervisionClass

__all__ = ["class_name", "code_label", "measure_name", "plan_status_label", "purchase_label", "role_name",
           "sector_name", "stratum_label"]


def _in_language(kind: type[enum.StrEnum], code: str | enum.StrEnum | None) -> str:
    return label(kind, code, i18n.active())


def role_name(role: Role | str) -> str:
    return _in_language(Role, role)


def sector_name(value: str) -> str:
    return _in_language(Sector, value)


def class_name(value: str) -> str:
    return _in_language(SupervisionClass, value)


def measure_name(value: str) -> str:
    return _in_language(MeasureKind, value)


def purchase_label(status: PurchaseStatus | str) -> str:
    return _in_language(PurchaseStatus, status)


def plan_status_label(status: PlanStatus | str) -> str:
    return _in_language(PlanStatus, status)


def stratum_label(value: str, platforms: Mapping[str, str] | None = None) -> str:
    """A stratum or domain label ("mall/electrical/key") with each coded part labelled and
    its platform by name from *platforms* (:func:`spotcheck.web.deps.platform_names`)
    (:func:`store.labels.stratum_label`, in the request's language)."""
    return labels.stratum_label(value, i18n.active(), platforms)


def code_label(code: str | enum.StrEnum | None, domain: str) -> str:
    """Template filter ``{{ value|code("artifact_role") }}``: a plain-string code, or a code
    of a vocabulary enumeration named by *domain*, as a person reads it."""
    from store import vocabulary
    from store.labels import text_label

    kind = getattr(vocabulary, domain, None)
    if isinstance(kind, type) and issubclass(kind, enum.StrEnum):
        return _in_language(kind, code)
    value = code.value if isinstance(code, enum.Enum) else code
    return text_label(domain, value, i18n.active())
