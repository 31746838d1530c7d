"""Who may do what: the one role matrix of the CLI and the console.

A command or a console route names a permission (``purchases.work``), never a list of roles,
so the sampler who may record a receipt on the command line is exactly the one who may record
it on a page.  Rules that depend on more than the role (four eyes on a plan, revealing a
persona) stay with their domain function (``sampler.plans.review_refusal``,
``scheduler.personas.REVEAL_ROLES``), which both front ends call.
"""

from __future__ import annotations

import re

from store.vocabulary import Role

_ALL = frozenset(Role)
_BUYERS = frozenset({Role.SAMPLER, Role.ADMIN})
_PLANNERS = frozenset({Role.SAMPLER, Role.SUPERVISOR, Role.ADMIN})
_INVESTIGATORS = frozenset({Role.INVESTIGATOR, Role.ADMIN})

PERMISSIONS: dict[str, frozenset[Role]] = {
    "campaigns.view": _ALL,
    #: Cron schedules, period and status of a campaign.
    "campaigns.schedule": _PLANNERS,
    "listings.view": _ALL,
    #: Foreign notices matched to listings, with the evidence of each match.
    "matches.view": _ALL,
    #: Confirming or rejecting a proposed notice-listing match: a judgement on evidence.
    "matches.review": frozenset({Role.SUPERVISOR, Role.INVESTIGATOR, Role.ADMIN}),
    "plans.view": _PLANNERS,
    "plans.review": frozenset({Role.SUPERVISOR, Role.ADMIN}),
    #: Drawing a new plan version and sending it for review: the samplers' work.
    "plans.draw": _BUYERS,
    "plans.submit": _BUYERS,
    "evidence.view": frozenset({Role.INVESTIGATOR, Role.SUPERVISOR, Role.ADMIN}),
    "evidence.export": _INVESTIGATORS,
    #: Capturing a page as evidence (screenshots, DOM, WARC, signed manifest).
    "captures.run": frozenset({Role.SAMPLER, Role.INVESTIGATOR, Role.ADMIN}),
    "purchases.view": _PLANNERS,
    #: Purchase tasks, orders, receipt and seal, lab and lab result: those who buy.
    "purchases.work": _BUYERS,
    "personas.view": _PLANNERS,
    #: Persona secrets (accounts, addresses, payment references) are for those who buy.
    "personas.secrets": _BUYERS,
    "cases.view": frozenset({Role.INVESTIGATOR, Role.SUPERVISOR, Role.ADMIN}),
    #: Opening cases, notifications, measures and closing: the investigators' work.
    "cases.work": _INVESTIGATORS,
    "reports.view": frozenset({Role.SUPERVISOR, Role.INVESTIGATOR, Role.ADMIN}),
    "audit.view": frozenset({Role.ADMIN}),
    "users.view": frozenset({Role.ADMIN}),
}


def roles_for(permission: str) -> tuple[str, ...]:
    """The role codes holding *permission* (a KeyError for an unknown one: a typo must not
    grant or refuse silently)."""
    return tuple(sorted(r.value for r in PERMISSIONS[permission]))


def allows(role: Role | str, permission: str) -> bool:
    return Role(role) in PERMISSIONS[permission]


#: Files in the reports folder that are a plan (``plan export``: ``plan-12.pdf``,
#: ``plan-12-v3.xlsx``, ``plan-12-form.xlsx``).
_PLAN_FILE = re.compile(r"^plan-\d+([-.]|$)")


def file_permission(name: str) -> str:
    """The permission a report file needs: a plan's export is the plan itself, so whoever
    may not open ``/plans/N`` may not download it from Reports either."""
    return "plans.view" if _PLAN_FILE.match(name) else "reports.view"
