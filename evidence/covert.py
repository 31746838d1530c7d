"""Which captures are covert: made in a buyer persona's browser, so they show its secrets.

The one rule the console (pages, thumbnails, downloads), the packs (withheld by default) and
``spotcheck evidence redact`` (which captures need a redacted copy) follow.  Kept apart from
:mod:`evidence.redact` so the console can ask without importing the capture machinery.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_

from store.models import Capture


def is_persona_capture(cap: Capture) -> bool:
    """Made in a covert buyer persona's browser (the listing while logged in, order pages):
    its screenshots, DOM, PDF and WARC show the persona's account, drop address and payment
    reference.  A redacted copy (``meta.redacted_from``) is not: it is made for exactly the
    readers the original is kept from."""
    if (cap.meta or {}).get("redacted_from"):
        return False
    return cap.persona_id is not None or cap.kind == "order"


def persona_capture_clause() -> Any:
    """SQL for the captures :func:`is_persona_capture` may hold (it still decides: the
    ``redacted_from`` mark lives in the JSON metadata)."""
    return or_(Capture.persona_id.is_not(None), Capture.kind == "order")
