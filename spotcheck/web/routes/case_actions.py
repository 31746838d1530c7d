"""Investigators work their cases in the console: notify the jurisdiction bureau, order
measures and record their outcomes, close the case.  Every action goes through
``scheduler.cases`` (which keeps the case status and writes the audit log); the console only
turns forms into calls and refusals into a message on the case page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from scheduler import cases
from spotcheck.web import i18n
from spotcheck.web.deps import CurrentUser, Permission, console, flash
from spotcheck.web.i18n import gettext as _
from store.errors import Conflict, InvalidInput, NotFound
from store.models import Measure, Notification

router = APIRouter()


def _act(request: Request, case_id: int, done: str, action: Callable[[Session], Any]
         ) -> Response:
    """Run *action* on the case in one transaction; a refusal (a closed case, an open
    measure, a bad date) becomes a message on the case page, not an error page."""
    try:
        with console(request).db.session() as s:
            cases.get_case(s, case_id)
            action(s)
        flash(request, "ok", done)
    except (Conflict, InvalidInput) as exc:
        flash(request, "error", i18n.refusal(exc))
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def _date(value: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput("case_actions.date_yyyy_mm_dd", value_40=value[:40]) from None


def _own(s: Session, model: type[Measure] | type[Notification], row_id: int, case_id: int
         ) -> None:
    """A measure or notification id must belong to the case in the URL."""
    row = s.get(model, row_id)
    if row is None or getattr(row, "case_id", None) != case_id:
        raise NotFound("case_actions.such_case", thing=model.__tablename__)


@router.post("/cases/{case_id}/notify")
def notify(request: Request, case_id: int, bureau: str = Form("", max_length=200),
           channel: str = Form("letter", max_length=50),
           reference: str = Form("", max_length=200), content: str = Form("", max_length=4000),
           user: CurrentUser = Permission("cases.work")) -> Response:
    return _act(request, case_id, _("Notification recorded."), lambda s: cases.notify(
        s, case_id, content=content, channel=channel or "letter",
        reference=reference or None, bureau=bureau or None, actor=user.name))


@router.post("/cases/{case_id}/notifications/{note_id}/acknowledge")
def acknowledge(request: Request, case_id: int, note_id: int,
                user: CurrentUser = Permission("cases.work")) -> Response:
    def run(s: Session) -> None:
        _own(s, Notification, note_id, case_id)
        cases.acknowledge(s, note_id, actor=user.name)
    return _act(request, case_id, _("Acknowledgement recorded."), run)


@router.post("/cases/{case_id}/measures")
def add_measure(request: Request, case_id: int, kind: str = Form(..., max_length=50),
                due: str = Form("", max_length=20), outcome: str = Form("", max_length=2000),
                user: CurrentUser = Permission("cases.work")) -> Response:
    return _act(request, case_id, _("Measure recorded."), lambda s: cases.add_measure(
        s, case_id, kind, due=_date(due), outcome=outcome or None, actor=user.name))


@router.post("/cases/{case_id}/measures/{measure_id}/done")
def complete_measure(request: Request, case_id: int, measure_id: int,
                     outcome: str = Form(..., min_length=1, max_length=2000),
                     user: CurrentUser = Permission("cases.work")) -> Response:
    def run(s: Session) -> None:
        _own(s, Measure, measure_id, case_id)
        cases.complete_measure(s, measure_id, outcome, actor=user.name)
    return _act(request, case_id, _("Measure outcome recorded."), run)


@router.post("/cases/{case_id}/close")
def close(request: Request, case_id: int, summary: str = Form("", max_length=4000),
          user: CurrentUser = Permission("cases.work")) -> Response:
    return _act(request, case_id, _("Case closed."), lambda s: cases.close_case(
        s, case_id, summary=summary or None, actor=user.name))
