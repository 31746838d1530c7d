"""Campaigns over time: APScheduler jobs that call the domain packages.

Composes ``crawlers``, ``sampler`` and ``evidence``.  Public API (modules, imported by name):
:mod:`scheduler.service` (the long-running scheduler, ``run_due``), :mod:`scheduler.runs`
(recorded, at-most-once job runs), :mod:`scheduler.pipeline` (the job bodies: crawl → score →
draw → purchase → buy ...), :mod:`scheduler.campaign_schedules`, :mod:`scheduler.personas`,
:mod:`scheduler.purchases`, :mod:`scheduler.buying`, :mod:`scheduler.cases`,
:mod:`scheduler.reports`, :mod:`scheduler.preregistration` (approving a plan signs and
time-stamps its manifest; ``plan verify``), :mod:`scheduler.schedules` (job kinds and
their schedules), :mod:`scheduler.lease` (the one scheduler), :mod:`scheduler.offers`,
:mod:`scheduler.propagation` (a failure carried to its copies), :mod:`scheduler.page_reading`
(the crawl's reading of a rendered page, handed to captures), :mod:`scheduler.redaction`,
:mod:`scheduler.rotation` (buyer personas in turn), :mod:`scheduler.vault` (their
addresses, encrypted).
"""

__all__ = ["buying", "campaign_schedules", "cases", "lease", "offers", "page_reading",
           "personas", "pipeline", "preregistration", "propagation", "purchases", "redaction",
           "reports", "rotation", "runs", "schedules", "service", "vault"]
