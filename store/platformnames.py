"""Every platform's code → its name: what a person reads where the data keeps a code.

Strata ("mall/electrical/key"), audit details and charts keep a platform's code, which
people type and the data joins on; a page, report or CLI table shows the platform's name
(:func:`store.labels.stratum_label` takes this mapping).  One query, one home.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Platform

__all__ = ["platform_names"]


def platform_names(session: Session) -> dict[str, str]:
    """Each platform's code → its name (the code where a platform has no name)."""
    return {code: name or code
            for code, name in session.execute(select(Platform.code, Platform.name))}
