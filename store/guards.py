"""Rules the store enforces on every session, whoever the caller is.

Registered once by :mod:`store.db` (:func:`register`), so they hold for any code that opens the
database — not only when the package that first wrote the rule happens to be imported:

* an approved plan is immutable (docs/design.md: "approved plans and captured evidence are
  immutable; a change makes a new version"): changing or deleting it or its items, or adding
  an item, raises :class:`~store.errors.Conflict`;
* a new listing without a permanent random number gets the one rule's (:mod:`store.prn`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from store.errors import Conflict
from store.models import Plan, PlanItem, PlanStatus
from store.prn import fill_missing_prns

__all__ = ["guard_approved_plans", "register"]


def _committed_status(plan: Plan) -> PlanStatus | None:
    """The plan's status as stored in the database (before this flush's changes)."""
    hist = inspect(plan).attrs.status.history
    if hist.deleted:
        return PlanStatus(hist.deleted[0])
    return None if inspect(plan).pending else plan.status


def _plan_is_approved_in_db(session: Session, plan_id: int | None) -> bool:
    if plan_id is None:
        return False
    plan = session.get(Plan, plan_id)
    return plan is not None and _committed_status(plan) is PlanStatus.APPROVED


def guard_approved_plans(session: Session, _ctx: Any, _instances: Any) -> None:
    """``before_flush``: refuse changes to approved plans and their items."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Plan):
            if obj in session.dirty and not session.is_modified(obj, include_collections=False):
                continue
            if _committed_status(obj) is PlanStatus.APPROVED:
                raise Conflict("guards.plan_approved_cannot_change_draw", obj_id=obj.id)
        elif isinstance(obj, PlanItem):
            if obj in session.dirty and not session.is_modified(obj, include_collections=False):
                continue
            if _plan_is_approved_in_db(session, obj.plan_id):
                raise Conflict("guards.plan_approved_items_cannot_change", obj_plan_id=obj.plan_id)
    for obj in session.new:
        if isinstance(obj, PlanItem) and _plan_is_approved_in_db(session, obj.plan_id):
            raise Conflict("guards.plan_approved_item_can_added", obj_plan_id=obj.plan_id)


def register() -> None:
    """Attach the rules to every SQLAlchemy session (idempotent)."""
    for listener in (guard_approved_plans, fill_missing_prns):
        if not event.contains(Session, "before_flush", listener):
            event.listen(Session, "before_flush", listener)
