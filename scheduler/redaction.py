"""Redacted copies for covert captures that have none yet (``spotcheck evidence redact``).

The buying browser makes a redacted copy beside each persona capture (evidence.redact), but
captures made before that existed, or whose redaction failed (the copy is "made later", says
the purchase's notes), have none: packs then list the original by hash only, and the console
shows investigators and supervisors nothing of it.  This module finds those captures and makes
their copies with the persona's secrets from the vault, one browser for the whole batch.

It lives in the scheduler because it joins the two halves nothing below may join: the
persona's decrypted secrets (scheduler.personas) and the evidence store (evidence.redact).
Idempotent: a capture that has its copy is reported as such and left alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.covert import is_persona_capture, persona_capture_clause
from scheduler.personas import secrets_of
from store.db import Database
from store.errors import InvalidInput, NotFound, ServiceUnavailable, SpotcheckError
from store.models import Capture, CaptureStatus, Purchase
from store.settings import Settings

log = logging.getLogger("spotcheck.scheduler.redaction")


@dataclass(frozen=True)
class Redacted:
    """What became of one persona capture: its copy (made now or before) or why not."""

    capture_id: int
    copy_id: int | None
    made: bool
    error: str | None = None
    exit_code: int = 0

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"capture": self.capture_id, "copy": self.copy_id,
                               "made": self.made}
        if self.error:
            out["error"] = self.error
        return out


def missing(session: Session) -> list[int]:
    """Persona captures (successful) that have no redacted copy, oldest first."""
    from evidence.redact import redacted_copies

    caps = [c for c in session.scalars(
        select(Capture).where(persona_capture_clause(),
                              Capture.status.in_(CaptureStatus.evidence()))
        .order_by(Capture.id)) if is_persona_capture(c)]
    have = redacted_copies(session, [c.id for c in caps])
    return [int(c.id) for c in caps if c.id not in have]


def persona_of(session: Session, cap: Capture) -> int | None:
    """The persona whose secrets *cap* shows: its own, else its purchase's (an order page
    recorded without one)."""
    if cap.persona_id is not None:
        return int(cap.persona_id)
    if cap.purchase_id is not None:
        p = session.get(Purchase, cap.purchase_id)
        if p is not None and p.persona_id is not None:
            return int(p.persona_id)
    return None


def check_one(session: Session, capture_id: int) -> Capture:
    """The capture *capture_id*, if it is a successful persona capture (else the reason)."""
    cap = session.get(Capture, capture_id)
    if cap is None:
        raise NotFound("redaction.capture", capture_id=capture_id)
    if not is_persona_capture(cap):
        raise InvalidInput("redaction.capture_was_made_buyer_persona", capture_id=capture_id)
    if cap.status not in CaptureStatus.evidence():
        raise InvalidInput("redaction.capture_failed_there_nothing_redact", capture_id=capture_id)
    return cap


def redact_captures(db: Database, settings: Settings, capture_ids: list[int], *, actor: str,
                    on_done: Callable[[Redacted], None] | None = None) -> list[Redacted]:
    """Make the redacted copy of each capture in *capture_ids* that lacks one, on one
    browser; a capture that cannot be redacted is reported and the rest go on."""
    from evidence.redact import find_redacted, redact_capture_async

    async def one(cid: int, launch: Callable[[], Any]) -> Redacted:
        existing = find_redacted(db, cid)
        if existing is not None:
            return Redacted(cid, existing, made=False)
        try:
            with db.session() as s:
                cap = check_one(s, cid)
                persona = persona_of(s, cap)
                if persona is None:
                    raise InvalidInput("redaction.capture_buyer_persona_known_so", cid=cid)
                sec = secrets_of(s, persona, settings)
                strings = [*sec.values(), sec.alias]
            copy = await redact_capture_async(db, settings, await launch(), cid, strings,
                                              actor=actor)
            log.info("capture %d: redacted copy %d made", cid, copy)
            return Redacted(cid, copy, made=True)
        except SpotcheckError as exc:
            return Redacted(cid, None, made=False, error=str(exc), exit_code=exc.exit_code)
        except Exception as exc:  # the browser or a file: this capture fails, not the batch
            log.warning("capture %d: redaction failed: %s", cid, exc)
            return Redacted(cid, None, made=False, error=f"{type(exc).__name__}: {exc}",
                            exit_code=ServiceUnavailable.exit_code)

    async def run() -> list[Redacted]:
        from playwright.async_api import async_playwright

        from store import chromium

        out: list[Redacted] = []
        browser: list[Any] = []  # launched on first need: a run with nothing to do needs none
        async with async_playwright() as pw:

            async def launch() -> Any:
                if not browser:
                    browser.append(await chromium.launch(pw, settings))
                return browser[0]

            try:
                for cid in capture_ids:
                    out.append(await one(cid, launch))
                    if on_done is not None:
                        on_done(out[-1])
            finally:
                for b in browser:
                    await b.close()
        return out

    return asyncio.run(run())
