"""Capturing a web page as evidence: an ordered list of named steps run by one loop.

Like Harvard LIL's Scoop, a capture is a list of named steps (:data:`evidence.capture_steps.STEPS`),
each with a budget and its outcome logged in the metadata, run by :func:`evidence.steps.run_steps`:

    check_url → open → load → dismiss_overlays → scroll → settle → dom → facts →
    screenshots → [pdf] → network → warc      then off the loop: provenance, manifest,
    signature, timestamps, one transaction

This module is the runner and the public API; each other job has its own module:

- :mod:`evidence.capture_request` — the request, the result and the capture in progress;
- :mod:`evidence.capture_steps` — the named steps; :mod:`evidence.capture_guard` — the
  browser-side navigation guard;
- :mod:`evidence.capture_browser` — Chromium's flags and the context's proxy options;
- :mod:`evidence.capture_meta` — the capture's metadata;
- :mod:`evidence.capture_store` — storing a capture; :mod:`evidence.capture_failure` —
  recording a failed one;
- :mod:`evidence.proxy` (recorder), :mod:`evidence.tlsfacts` (TLS facts),
  :mod:`evidence.manifest` and :mod:`evidence.provenance`.

The PDF is printed only when asked (the request's ``pdf``, else the setting ``capture_pdf``;
recorded as the capture option ``capture_pdf``): screenshots, DOM and the WARC from the
wire are the evidence, and printing cost a sixth of a real page's capture CPU.

The browser reaches the network only through the capture's own recording proxy: every hop
(redirects, subresources, workers) is checked against the address policy before any
connection, the bytes are recorded as received, and each origin's TLS chain is noted.  A page
whose load event never fires is captured as it stands after the bound and kept as
``partial`` with the reasons; a capture that fails keeps a ``failed`` row with its steps,
refused requests, DNS answers and whatever screenshot there was.

Entry points: :func:`capture_urls` (sync), :func:`capture_many` (async, a pool of contexts on
one browser), and :func:`capture_in_context` (async, with a caller's browser context, e.g. a
buyer persona's logged-in session for an order page: its cookies are carried over into the
capture's own proxied context).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from evidence import provenance
from evidence.capture_browser import browser_args, capture_net, proxy_ca, proxy_context_options
from evidence.capture_failure import fail_capture
from evidence.capture_meta import net_meta, new_meta
from evidence.capture_request import KINDS, CaptureRequest, CaptureResult, Run
from evidence.capture_steps import close_page, page_facts, partial_screenshot, step_warc, steps_for
from evidence.capture_store import store_capture
from evidence.facts import PageReader
from evidence.hashing import pretty_json, sha256_bytes
from evidence.manifest import MEDIA, build_manifest, sign_and_timestamp
from evidence.proxy import RecordingProxy
from evidence.steps import Step, StepFailed, StepLog, run_steps
from store import chromium
from store.db import Database
from store.errors import InvalidInput, ServiceUnavailable, SpotcheckError
from store.models import BuyerPersona, CaptureStatus, Case, utcnow
from store.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "KINDS",
    "MEDIA",
    "CaptureRequest",
    "CaptureResult",
    "browser_args",
    "build_manifest",
    "capture_in_context",
    "capture_many",
    "capture_urls",
]


def _names(db: Database, req: CaptureRequest) -> tuple[str | None, str | None]:
    with db.session() as s:
        persona = s.get(BuyerPersona, req.persona_id) if req.persona_id else None
        case = s.get(Case, req.case_id) if req.case_id else None
        return (persona.alias if persona else None, case.number if case else None)


async def _capture(browser: Any, db: Database, req: CaptureRequest, *, operator: str,
                   settings: Settings, machine: dict[str, Any],
                   storage_state: Any = None) -> CaptureResult:
    """One capture in a fresh context of *browser*, behind its own recording proxy."""
    if req.kind not in KINDS:
        raise InvalidInput("capture.unknown_kind", kind=req.kind, kinds=", ".join(KINDS))
    persona, case = await asyncio.to_thread(_names, db, req)
    steps = StepLog()
    meta = new_meta(req, settings, operator, persona, case, browser.version, machine, steps)
    net = capture_net(settings)
    proxy = RecordingProxy(net, proxy_ca(settings), socket_timeout=net.timeout)
    run = Run(req, settings, None, net, steps, meta)
    error: StepFailed | None = None
    unfinished: list[str] = []
    try:
        proxy.start()
        run.context = await browser.new_context(storage_state=storage_state,
                                                **proxy_context_options(proxy.url))
        try:
            try:
                await run_steps(steps_for(run), run, steps, budgets=settings.capture_step_timeouts,
                                ceiling=settings.capture_timeout)
            except StepFailed as exc:
                error = exc
                await partial_screenshot(run)
                await page_facts(run)
            await close_page(run)
        finally:
            await run.context.close()
    finally:
        unfinished = await asyncio.to_thread(proxy.stop)
    meta["finished_at"] = utcnow().isoformat()
    net_meta(run, unfinished)
    if error is None:
        try:
            await run_steps([Step("warc", step_warc, required=True, keep=True)], run, steps,
                            budgets=settings.capture_step_timeouts, ceiling=60)
        except StepFailed as exc:
            error = exc
    if error is not None:
        return await fail_capture(db, run, error, operator)
    status = CaptureStatus.PARTIAL if steps.partial else CaptureStatus.OK
    meta["status_of_capture"] = status.value
    files = run.files
    files["meta"] = pretty_json(meta)
    files["provenance"] = provenance.render_page(files, meta, settings.locale)
    signature, tokens = await asyncio.to_thread(sign_and_timestamp, files, meta, settings)
    cid = await asyncio.to_thread(store_capture, db, req, files, meta, signature, tokens,
                                  operator, settings, status)
    hashes = {role: sha256_bytes(data) for role, data in files.items()}
    return CaptureResult(cid, req.url, True, "; ".join(steps.partial) or None, 0,
                         hashes["manifest"], hashes, status.value,
                         partial=steps.partial_reasons)



# --- entry points ---------------------------------------------------------------------------

async def capture_in_context(context: Any, db: Database, req: CaptureRequest, *,
                             operator: str, settings: Settings,
                             browser_version: str = "") -> CaptureResult:
    """Capture *req.url* with the login of a caller's Playwright (async) ``BrowserContext``.

    The context's cookies and local storage are carried into a fresh context of the same
    browser behind the capture's recording proxy (the caller's context is left as it was).
    The browser must have been launched with :func:`browser_args`.  Never raises for a
    failed capture: the result says why.
    """
    state = await context.storage_state()
    machine = await asyncio.to_thread(provenance.machine, settings)
    return await _capture(context.browser, db, req, operator=operator, settings=settings,
                          machine=machine, storage_state=state)


async def capture_many(db: Database, requests: list[CaptureRequest], *, operator: str,
                       settings: Settings, concurrency: int | None = None,
                       storage_state: Any = None,
                       on_done: Callable[[CaptureResult], None] | None = None,
                       page_reader: PageReader | None = None,
                       ) -> list[CaptureResult]:
    """Capture several pages in parallel on one browser (async).

    Each capture gets a fresh context (no cookies carried from one capture to the next) and
    its own recording proxy, at most *concurrency* at a time.  *storage_state* (Playwright's
    cookies/localStorage, e.g. a persona's login) is loaded into every context.
    *page_reader*: the reader of every request that names none (CaptureRequest.page_reader).
    """
    if page_reader is not None:
        requests = [r if r.page_reader is not None else replace(r, page_reader=page_reader)
                    for r in requests]
    from playwright.async_api import async_playwright

    limit = max(1, concurrency or settings.capture_concurrency)
    results: list[CaptureResult | None] = [None] * len(requests)
    machine = await asyncio.to_thread(provenance.machine, settings)
    args = await asyncio.to_thread(browser_args, settings)
    try:
        settings.chromium_path()
    except SpotcheckError as exc:  # for a capture, no browser is a missing service
        raise ServiceUnavailable("capture.no_browser", detail=exc) from exc
    async with async_playwright() as pw:
        browser = await chromium.launch(pw, settings, args)
        try:
            sem = asyncio.Semaphore(limit)

            async def one(i: int, req: CaptureRequest) -> None:
                async with sem:
                    res = await _capture(browser, db, req, operator=operator,
                                         settings=settings, machine=machine,
                                         storage_state=storage_state)
                results[i] = res
                if on_done:
                    on_done(res)

            await asyncio.gather(*(one(i, r) for i, r in enumerate(requests)))
        finally:
            await browser.close()
    return [r for r in results if r is not None]


def capture_urls(db: Database, urls: list[str], *, kind: str = "listing",
                 listing_ids: list[int | None] | None = None, case_id: int | None = None,
                 persona_id: int | None = None, purchase_id: int | None = None,
                 purpose: str | None = None, operator: str, settings: Settings,
                 storage_state: Any = None,
                 on_done: Callable[[CaptureResult], None] | None = None,
                 page_reader: PageReader | None = None) -> list[int]:
    """Capture *urls* (sync); returns capture ids in order (check ``Capture.status``).
    *page_reader*: see CaptureRequest.page_reader."""
    if listing_ids is not None and len(listing_ids) != len(urls):
        raise InvalidInput("capture.listing_ids_per_url")
    reqs = [CaptureRequest(url=u, kind=kind,
                           listing_id=listing_ids[i] if listing_ids else None,
                           case_id=case_id, persona_id=persona_id, purchase_id=purchase_id,
                           purpose=purpose, page_reader=page_reader)
            for i, u in enumerate(urls)]
    results = asyncio.run(capture_many(db, reqs, operator=operator, settings=settings,
                                       storage_state=storage_state, on_done=on_done))
    return [r.capture_id for r in results]
