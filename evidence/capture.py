"""Capturing a web page as evidence: an ordered list of named steps run by one loop.

Like Harvard LIL's Scoop, a capture is a list of named steps (``STEPS``), each with a budget
and its outcome logged in the metadata, run by :func:`evidence.steps.run_steps`:

    check_url → open → load → dismiss_overlays → scroll → settle → dom → facts →
    screenshots → [pdf] → network → warc      then off the loop: provenance, manifest,
    signature, timestamps, one transaction

The PDF is printed only when asked (the request's ``pdf``, else the setting ``capture_pdf``;
recorded as the capture option ``capture_pdf``): screenshots, DOM and the WARC from the
wire are the evidence, and printing cost a sixth of a real page's capture CPU.

The browser reaches the network only through the capture's own recording proxy
(:mod:`evidence.proxy`): every hop (redirects, subresources, workers) is checked against the
address policy before any connection, the bytes are recorded as received, and each origin's
TLS chain is noted (:mod:`evidence.tlsfacts`).  A page whose load event never fires is
captured as it stands after the bound and kept as ``partial`` with the reasons; a capture
that fails keeps a ``failed`` row with its steps, refused requests, DNS answers and whatever
screenshot there was.  Manifest and provenance live in :mod:`evidence.manifest` and
:mod:`evidence.provenance`.

Entry points: :func:`capture_urls` (sync), :func:`capture_many` (async, a pool of contexts on
one browser), and :func:`capture_in_context` (async, with a caller's browser context, e.g. a
buyer persona's logged-in session for an order page: its cookies are carried over into the
capture's own proxied context).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from evidence import custody, provenance
from evidence.facts import extract_facts
from evidence.hashing import pretty_json, sha256_bytes
from evidence.manifest import MEDIA, build_manifest, sign_and_timestamp
from evidence.netguard import AddressPolicy, check_url, host_matches, url_port
from evidence.proxy import CaptureNet, ProxyCA, RecordingProxy
from evidence.steps import (
    Step,
    StepCutShort,
    StepFailed,
    StepLog,
    failure_text,
    partial_text,
    run_steps,
)
from evidence.warc import Resource, write_warc
from store import chromium
from store.artifacts import ArtifactStore, Stored
from store.db import Database
from store.errors import InvalidInput, ServiceUnavailable, SpotcheckError
from store.models import Artifact, BuyerPersona, Capture, CaptureStatus, Case, utcnow
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

KINDS = ("listing", "seller", "order", "search")
VIEWPORT: Any = {"width": 1366, "height": 900}
TIMEZONE = "Asia/Shanghai"
LOCALE = "zh-CN"
#: Full-page screenshots and PDFs of endless pages are clipped to this height (pixels).
MAX_SCREENSHOT_HEIGHT = 20000
#: ... and pages wider than the viewport to this width.
MAX_SCREENSHOT_WIDTH = 4000
#: The PDF is printed at most this many pages (A4 at 96 dpi is ~1123 px per page).
MAX_PDF_PAGES = 20


@dataclass
class CaptureRequest:
    """What to capture and why."""

    url: str
    kind: str = "listing"
    listing_id: int | None = None
    case_id: int | None = None
    persona_id: int | None = None
    purchase_id: int | None = None
    purpose: str | None = None
    #: Domains the main frame may navigate to; default: the requested URL's host.
    platform_domains: list[str] | None = None
    #: The capture this one repeats (for diffs); default: the last capture of the same URL.
    previous_capture_id: int | None = None
    #: Print the page to a PDF as well; None: as the setting ``capture_pdf`` says.
    pdf: bool | None = None


def wants_pdf(req: CaptureRequest, settings: Settings) -> bool:
    """Whether *req* prints a PDF: the request's own choice, else the setting."""
    return settings.capture_pdf if req.pdf is None else bool(req.pdf)


@dataclass
class CaptureResult:
    """The outcome of one capture (the row exists in every case).  *ok* is true for a
    complete or a partial capture (both are evidence); *status* says which."""

    capture_id: int
    url: str
    ok: bool
    error: str | None = None
    exit_code: int = 0
    manifest_sha256: str | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    status: str = "ok"
    #: Why a failed capture failed, coded (:meth:`evidence.steps.StepFailed.failure`).
    failure: dict[str, Any] | None = None
    #: Why a partial capture is partial, coded (:attr:`evidence.steps.StepLog.partial_reasons`).
    partial: list[dict[str, Any]] = field(default_factory=list)

    def reason(self, locale: str = "zh-CN") -> str | None:
        """Why it failed (or was partial) as the reader of *locale* reads it."""
        return failure_text(self.failure, locale) or partial_text(self.partial, self.error,
                                                                  locale)


class CaptureFailed(SpotcheckError):
    """The page could not be captured as evidence (exit 6: the site, not us); raised with a
    ``capture.*`` message code, stored with the failed capture (``meta["failure"]``)."""

    exit_code = 6


@dataclass
class Run:
    """One capture in progress: what the steps read and write."""

    req: CaptureRequest
    settings: Settings
    context: Any
    net: CaptureNet
    log: StepLog
    meta: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    page: Any = None
    response: Any = None
    domains: list[str] = field(default_factory=list)
    height: int = 0
    popups: list[Any] = field(default_factory=list)
    cdp: Any = None
    #: The first main-frame navigation the guard refused (URL, reason).
    refused_navigation: tuple[str, str] | None = None
    #: The load step ended early: the page only re-requests URLs that keep failing.
    looping: bool = False


# --- the steps -----------------------------------------------------------------------------

async def step_check_url(run: Run) -> None:
    host = check_url(run.req.url)
    run.domains = run.req.platform_domains or [host]
    why = await asyncio.to_thread(run.net.policy.refusal, host, url_port(run.req.url))
    if why is not None:
        raise InvalidInput("capture.address_refused", url=run.req.url[:200], reason=why)


async def step_open(run: Run) -> None:
    page = run.page = await run.context.new_page()
    await _guard_navigations(run, page)

    def block(url: str, reason: str) -> None:
        run.net.block(url or "(unknown)", reason)

    def popup(p: Any) -> None:
        block(p.url or "(popup)", "pop-up closed")
        run.popups.append(asyncio.ensure_future(p.close()))

    def download(d: Any) -> None:
        block(d.url, "download refused")
        run.popups.append(asyncio.ensure_future(d.cancel()))

    page.on("popup", popup)
    page.on("download", download)
    page.on("dialog", lambda d: run.popups.append(asyncio.ensure_future(d.dismiss())))
    agent = _AGENTS.get(id(run.context.browser))
    if agent is None:
        agent = _AGENTS[id(run.context.browser)] = await page.evaluate("navigator.userAgent")
    run.meta["user_agent"] = agent


_AGENTS: dict[int, str] = {}

#: Only frame navigations (``Document`` requests) pause in the browser for the guard below;
#: every other request goes straight to the proxy, which checks each hop's address.
_DOCUMENTS = {"patterns": [{"urlPattern": "*", "resourceType": "Document",
                            "requestStage": "Request"}]}


async def _guard_navigations(run: Run, page: Any) -> None:
    """The browser-side guard: main-frame navigations stay on the platform's domains and
    frames load only web schemes; every address check is the proxy's.

    It pauses only document requests (DevTools ``Fetch`` with a resource-type pattern),
    redirect hops included, rather than every request as a Playwright route would: a route
    sends each image, script and font through this process and back, which cost about an
    eighth of a real page's capture CPU for no decision (the proxy makes those)."""
    cdp = run.cdp = await run.context.new_cdp_session(page)
    tree = await cdp.send("Page.getFrameTree")
    main_frame = tree["frameTree"]["frame"]["id"]

    def paused(event: dict[str, Any]) -> None:
        run.popups.append(asyncio.ensure_future(_decide(run, cdp, main_frame, event)))

    cdp.on("Fetch.requestPaused", paused)
    await cdp.send("Fetch.enable", _DOCUMENTS)


def _navigation_refusal(run: Run, url: str, main_frame: bool) -> str | None:
    scheme = urlsplit(url).scheme
    if scheme in ("data", "blob", "about"):
        return None
    if scheme not in ("http", "https"):
        return f"scheme {scheme}: is not allowed"
    if main_frame and not host_matches((urlsplit(url).hostname or "").lower(), run.domains):
        return "navigation off the platform's domains"
    return None


async def _decide(run: Run, cdp: Any, main_frame: str, event: dict[str, Any]) -> None:
    url = event["request"]["url"]
    main = event.get("frameId") == main_frame
    why = _navigation_refusal(run, url, main)
    if why and main and urlsplit(url).hostname:
        # a redirect off the platform to a non-public address says so (what the page tried)
        address = await asyncio.to_thread(run.net.policy.why_refused,
                                          (urlsplit(url).hostname or "").lower(), url_port(url))
        if address and "non-public" in address:
            why = address
    try:
        if why:
            run.net.block(url, why)
            if main and run.refused_navigation is None:
                run.refused_navigation = (url, why)
            await cdp.send("Fetch.failRequest", {"requestId": event["requestId"],
                                                 "errorReason": "BlockedByClient"})
        else:
            await cdp.send("Fetch.continueRequest", {"requestId": event["requestId"]})
    except Exception as exc:  # the page closed meanwhile: nothing left to decide
        log.debug("navigation guard: %s", exc)


async def step_load(run: Run) -> None:
    """Navigate; the step ends when ``load`` fires.  When it never does, the step is cut
    off by its budget and the capture goes on with what the page shows (partial)."""
    page = run.page
    try:
        run.response = await page.goto(run.req.url, wait_until="commit")
    except Exception as exc:
        _check_navigations(run)  # a decision, not the site failing: exit 2
        blocked = "; ".join(b["reason"] for b in run.net.blocked[:3])
        detail = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        if blocked:
            raise CaptureFailed("capture.did_not_load_blocked", detail=detail,
                                blocked=blocked) from exc
        raise CaptureFailed("capture.did_not_load", detail=detail) from exc
    if run.response is None:
        raise CaptureFailed("capture.no_response")
    loaded = asyncio.ensure_future(page.wait_for_load_state("load"))
    try:
        while not loaded.done():
            await asyncio.wait([loaded], timeout=LOOP_QUIET_S / 2)
            if not loaded.done() and await _looping(run):
                run.looping = True
                stopped = run.net.repeats_stopped
                raise StepCutShort("capture.load_looping", urls=len(stopped),
                                   requests=sum(stopped.values()),
                                   seconds=f"{LOOP_QUIET_S:.1f}")
        loaded.result()
    except asyncio.CancelledError:
        run.log.note("capture.load_not_fired")
        raise
    finally:
        loaded.cancel()


#: A page that has asked only for URLs the proxy stopped answering for this long (and is
#: parsed) is looping on a failing resource: waiting for its load event cannot help.
LOOP_QUIET_S = 1.5


async def _looping(run: Run) -> bool:
    """Whether the page, parsed, is only re-requesting URLs that keep failing."""
    if not run.net.looping(LOOP_QUIET_S):
        return False
    try:
        return bool(await run.page.evaluate("document.readyState") != "loading")
    except Exception:  # navigating meanwhile: not looping
        return False


def _check_navigations(run: Run) -> None:
    """Fail the capture when the guard refused a main-frame navigation (the page then
    shows Chromium's error page, not the platform's)."""
    if run.refused_navigation is None:
        return
    url, why = run.refused_navigation
    if "off the platform" in why:
        raise InvalidInput("capture.navigation_stopped", url=url[:200])
    raise InvalidInput("capture.refused_address", url=url[:200], reason=why)


def _loaded(run: Run) -> None:
    """After ``load``: the page answered, stayed on the platform, and was not refused."""
    _check_navigations(run)
    page, net = run.page, run.net
    if run.response is None:
        raise CaptureFailed("capture.no_answer_in_budget")
    refused = [b for b in net.blocked if b["url"] == page.url]
    if refused:
        raise InvalidInput("capture.refused_address", url=page.url[:200],
                           reason=refused[0]["reason"])
    final_host = (urlsplit(page.url).hostname or "").lower()
    if not host_matches(final_host, run.domains):
        off = [b["url"] for b in net.blocked if "navigation" in b["reason"]]
        if off:
            raise InvalidInput("capture.navigation_stopped", url=off[0][:200])
        raise InvalidInput("capture.left_platform", url=page.url[:200])


async def step_overlays(run: Run) -> None:
    page, shots = run.page, run.files
    visible: list[tuple[str, Any]] = []
    selectors = run.settings.capture_consent_selectors
    run.meta["overlays_dismissed"] = []
    try:  # one round trip for the usual page without any overlay
        if selectors and not await page.locator(", ".join(selectors)).first.is_visible():
            return
    except Exception:  # an invalid selector among them: ask one by one below
        pass
    for sel in selectors:
        try:
            loc = page.locator(sel).first
            if await loc.is_visible():
                visible.append((sel, loc))
        except Exception:  # an invalid selector in the settings must not stop the capture
            continue
    run.meta["overlays_dismissed"] = dismissed = []
    if not visible:
        return
    shots["screenshot_before_overlays"] = await page.screenshot()
    t0 = time.perf_counter()
    for sel, loc in visible:
        try:
            if not await loc.is_visible():  # an earlier click already closed it
                continue
            # Generous per call (the step's own budget bounds the whole): on a loaded machine
            # a click's actionability checks (visible, stable over two frames, enabled) took
            # over 2 s, and a banner left in place spoils the screenshots.
            text = " ".join((await loc.inner_text(timeout=2000))[:200].split())
            await loc.click(timeout=4000)
            dismissed.append({"selector": sel, "text": text,
                              "ms": round((time.perf_counter() - t0) * 1000)})
        except Exception as exc:
            dismissed.append({"selector": sel, "text": f"(not clicked: {str(exc)[:100]})"})
    await page.wait_for_timeout(200)
    still = []
    for sel, loc in visible:  # checked gone, not assumed gone
        try:
            if await loc.is_visible():
                still.append(sel)
        except Exception:
            continue
    for d in dismissed:
        d["gone"] = d["selector"] not in still
    run.meta["overlays_still_present"] = still
    if still:
        run.log.note("capture.overlays_left", overlays=", ".join(still)[:200])
    shots["screenshot_after_overlays"] = await page.screenshot()


#: Scroll one viewport at a time to the bottom (or the screenshot's bound: lazy content below
#: it would not be in any artifact) so lazy images start loading, then back to the top.  Each
#: step waits two animation frames (what an IntersectionObserver needs to fire), at most
#: 100 ms, instead of a fixed 80 ms: a 20,000 px page takes ~0.8 s, not ~2 s.
_SCROLL_JS = """
async ([maxSteps, maxY]) => {
  const frames = () => Promise.race([
    new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))),
    new Promise(r => setTimeout(r, 100))]);
  let last = -1;
  for (let i = 0; i < maxSteps; i++) {
    window.scrollBy(0, window.innerHeight);
    await frames();
    const h = document.documentElement.scrollHeight;
    if (window.scrollY + window.innerHeight >= Math.min(h, maxY) - 2) {
      if (h === last || h >= maxY) break;
      last = h;
    }
  }
  window.scrollTo(0, 0);
  await frames();
  return document.documentElement.scrollHeight;
}
"""


async def step_scroll(run: Run) -> None:
    run.height = int(await run.page.evaluate(_SCROLL_JS, [40, MAX_SCREENSHOT_HEIGHT]))


async def step_settle(run: Run) -> None:
    if run.looping:  # its network never goes idle
        run.meta["network_settled"] = False
        run.log.note("capture.settle_skipped_looping")
        return
    try:
        await run.page.wait_for_load_state("networkidle")
        run.meta["network_settled"] = True
    except asyncio.CancelledError:
        run.meta["network_settled"] = False
        run.log.note("capture.network_not_settled")
        raise


async def step_dom(run: Run) -> None:
    run.meta["ready_state"] = await run.page.evaluate("document.readyState")
    run.files["dom"] = (await run.page.content()).encode("utf-8")


def _still_on_platform(run: Run) -> None:
    _check_navigations(run)
    if not host_matches((urlsplit(run.page.url).hostname or "").lower(), run.domains):
        raise InvalidInput("capture.left_platform_while_captured", url=run.page.url[:200])


async def step_facts(run: Run) -> None:
    if "dom" in run.files:
        run.meta["facts"] = await asyncio.to_thread(
            extract_facts, run.files["dom"].decode("utf-8", "replace"), run.page.url)


async def step_screenshots(run: Run) -> None:
    """The viewport, then the whole page down to MAX_SCREENSHOT_HEIGHT.

    The full page is taken with DevTools' ``captureBeyondViewport`` and ``optimizeForSpeed``
    (a faster PNG encoder: still lossless, ~40% larger) rather than Playwright's full-page
    mode, which resizes the viewport to the page and back: on real product pages that is
    about a second and a third of the CPU of the step."""
    page = run.page
    run.files["screenshot_viewport"] = await page.screenshot()
    size = await page.evaluate("[document.documentElement.scrollWidth, "
                               "document.documentElement.scrollHeight]")
    width = max(VIEWPORT["width"], min(int(size[0]), MAX_SCREENSHOT_WIDTH))
    height = max(1, int(size[1]))
    if height > MAX_SCREENSHOT_HEIGHT:
        run.log.note("capture.screenshot_clipped", height=height, limit=MAX_SCREENSHOT_HEIGHT)
        run.meta["screenshot_clipped"] = {"page_height": height, "kept": MAX_SCREENSHOT_HEIGHT}
        height = MAX_SCREENSHOT_HEIGHT
    if run.cdp is None:  # pragma: no cover - step_open always sets it
        raise RuntimeError("no DevTools session")
    shot = await run.cdp.send("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True, "optimizeForSpeed": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    run.files["screenshot_full"] = base64.b64decode(shot["data"])


async def step_pdf(run: Run) -> None:
    """The page printed, at most MAX_PDF_PAGES pages (an endless page is cut there too)."""
    from evidence.banner import PDF_FOOTER, pdf_header_template

    # Every page stamped with the URL and the capture time (evidence.banner).
    run.files["pdf"] = await run.page.pdf(
        print_background=True, page_ranges=f"1-{MAX_PDF_PAGES}", display_header_footer=True,
        header_template=pdf_header_template(run.page.url, run.meta["started_at"]),
        footer_template=PDF_FOOTER, margin={"top": "14mm", "bottom": "10mm"})
    run.meta["pdf"] = {"max_pages": MAX_PDF_PAGES, "page_height_px": run.height}


async def step_network(run: Run) -> None:
    """Close the page and collect what the proxy recorded (its records are complete once
    nothing is in flight; a resource still hanging is listed as unfinished)."""
    await _page_facts(run)
    await _close_page(run)
    deadline = time.monotonic() + 1.0
    while run.net.in_flight and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def step_warc(run: Run) -> None:
    meta, files = run.meta, run.files
    exchanges = sorted(run.net.exchanges, key=lambda e: e.at)
    resources = [Resource(f"urn:spotcheck:capture:{meta['uuid']}:{role}", MEDIA[role][1],
                          files[role]) for role in ("screenshot_full", "screenshot_viewport",
                                                    "dom", "pdf") if role in files]
    page_files = {r: d for r, d in files.items() if r != "warc"}
    resources.append(Resource(provenance.provenance_url(meta["uuid"]), "text/html; charset=utf-8",
                              provenance.render_page(page_files, meta, run.settings.locale)))
    started = dt.datetime.fromisoformat(meta["started_at"])
    tools = meta["tools"]
    files["warc"] = await asyncio.to_thread(
        write_warc, exchanges, resources, meta,
        software=f"spotcheck {tools.get('spotcheck')} (warcprox {tools.get('warcprox')}, "
                 f"warcio {tools.get('warcio')})", started=started)


def steps_for(run: Run) -> list[Step[Run]]:
    """The steps *run* takes: ``STEPS``, without the PDF unless it was asked for (the choice
    is the capture option ``capture_pdf`` in its metadata)."""
    if run.meta["options"].get("capture_pdf"):
        return STEPS
    return [s for s in STEPS if s.name != "pdf"]


STEPS: list[Step[Run]] = [
    Step("check_url", step_check_url, required=True),
    Step("open", step_open, required=True),
    Step("load", step_load, after=_loaded),
    Step("dismiss_overlays", step_overlays),
    Step("scroll", step_scroll),
    Step("settle", step_settle, soft=True),
    Step("dom", step_dom, keep=True, after=_still_on_platform),
    Step("facts", step_facts),
    Step("screenshots", step_screenshots, keep=True),
    Step("pdf", step_pdf),
    Step("network", step_network, keep=True),
]


# --- around the steps -----------------------------------------------------------------------

async def _close_page(run: Run) -> None:
    if run.page is not None and not run.page.is_closed():
        try:
            await asyncio.wait_for(run.page.close(), 5)
        except Exception as exc:
            log.debug("closing the page: %s", exc)
    if run.popups:
        await asyncio.gather(*run.popups, return_exceptions=True)


async def _page_facts(run: Run) -> None:
    """After load (complete or cut off): final URL, status, redirects, server address."""
    resp, page = run.response, run.page
    if resp is None or page is None or page.is_closed():
        return
    try:
        await asyncio.wait_for(_response_facts(run, resp, page), 5)
    except Exception as exc:  # a closing page: the proxy's records still say what happened
        log.debug("page facts: %s", exc)


async def _response_facts(run: Run, resp: Any, page: Any) -> None:
    run.meta["final_url"] = page.url
    run.meta["status"] = resp.status
    chain: list[dict[str, Any]] = []
    r = resp.request.redirected_from
    while r is not None and len(chain) < 30:
        prev = await r.response()
        chain.append({"url": r.url, "status": prev.status if prev else None})
        r = r.redirected_from
    run.meta["redirects"] = list(reversed(chain))
    try:
        run.meta["headers"] = [[h["name"], h["value"]] for h in await resp.headers_array()]
    except Exception:
        run.meta["headers"] = []


def _net_meta(run: Run, unfinished: list[str]) -> None:
    net, meta = run.net, run.meta
    meta["dns"] = dict(net.policy.dns)
    meta["blocked"] = list(net.blocked)
    meta["failed_requests"] = list(net.failed)
    meta["repeats_stopped"] = [{"url": u[:500], "count": n}
                               for u, n in net.repeats_stopped.most_common(50)]
    meta["unfinished"] = unfinished[:100]
    meta["resources"] = len(net.exchanges)
    meta["bytes"] = net.bytes
    if net.over_limit:
        meta["limit_reached"] = net.over_limit
    final = meta.get("final_url") or run.req.url
    main = next((e for e in net.exchanges if e.url == final), None)
    meta["server_ip"] = main.server_ip if main else None
    meta["tls_origins"] = {k: {f: v for f, v in t.items() if f != "chain_pem"}
                           for k, t in net.tls.items()}
    host = urlsplit(final)
    origin = f"{(host.hostname or '').lower()}:{url_port(final)}"
    meta["tls"] = dict(net.tls[origin]) if origin in net.tls else None
    if meta["tls"] and meta["tls"].get("chain_pem"):
        run.files["tls_chain"] = "".join(meta["tls"]["chain_pem"]).encode("ascii")
        meta["tls"]["chain_sha256"] = sha256_bytes(run.files["tls_chain"])


def _new_meta(req: CaptureRequest, settings: Settings, operator: str, persona: str | None,
              case: str | None, browser_version: str, machine: dict[str, Any],
              log_: StepLog) -> dict[str, Any]:
    return {
        "format": "spotcheck-capture-meta/2", "uuid": str(uuid.uuid4()),
        "kind": req.kind, "requested_url": req.url, "operator": operator,
        "persona": persona, "purpose": req.purpose, "case": case,
        "listing_id": req.listing_id, "purchase_id": req.purchase_id,
        "viewport": VIEWPORT, "timezone": TIMEZONE, "locale": LOCALE,
        "browser": {"name": "chromium", "version": browser_version},
        "tools": provenance.tool_versions(), "machine": machine,
        "options": {**provenance.options(settings), "capture_pdf": wants_pdf(req, settings)},
        "started_at": utcnow().isoformat(),
        "limits": {"timeout_s": settings.capture_timeout, "max_bytes": settings.capture_max_bytes,
                   "max_resources": settings.capture_max_resources,
                   "repeat_limit": settings.capture_repeat_limit,
                   "max_screenshot_height": MAX_SCREENSHOT_HEIGHT, "max_pdf_pages": MAX_PDF_PAGES},
        "steps": log_.steps, "partial": log_.partial, "partial_reasons": log_.partial_reasons,
    }


def _net_for(settings: Settings) -> CaptureNet:
    return CaptureNet(AddressPolicy(settings.capture_allow_networks),
                      max_resources=settings.capture_max_resources,
                      max_bytes=settings.capture_max_bytes,
                      repeat_limit=settings.capture_repeat_limit,
                      trusted_spki=list(settings.capture_trusted_spki),
                      timeout=max(5.0, min(15.0, settings.capture_timeout)))


def proxy_context_options(proxy_url: str) -> dict[str, Any]:
    """Playwright context options that send everything, loopback included, to the proxy."""
    return {"proxy": {"server": proxy_url, "bypass": "<-loopback>"},
            "viewport": VIEWPORT, "locale": LOCALE, "timezone_id": TIMEZONE,
            "accept_downloads": False, "service_workers": "block"}


def browser_args(settings: Settings) -> list[str]:
    """Chromium flags for a browser that captures: accept the recording proxy's key (and
    only it: every other certificate is the proxy's to verify), no UDP around the proxy."""
    ca = _ca(settings)
    return [*chromium.spki_args([ca.spki]), "--disable-quic",
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
            "--webrtc-ip-handling-policy=disable_non_proxied_udp"]


_CAS: dict[str, ProxyCA] = {}


def _ca(settings: Settings) -> ProxyCA:
    key = str(settings.keys_dir.resolve())
    if key not in _CAS:
        _CAS[key] = ProxyCA(settings.keys_dir)
    return _CAS[key]


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
    meta = _new_meta(req, settings, operator, persona, case, browser.version, machine, steps)
    net = _net_for(settings)
    proxy = RecordingProxy(net, _ca(settings), socket_timeout=net.timeout)
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
                await _partial_screenshot(run)
                await _page_facts(run)
            await _close_page(run)
        finally:
            await run.context.close()
    finally:
        unfinished = await asyncio.to_thread(proxy.stop)
    meta["finished_at"] = utcnow().isoformat()
    _net_meta(run, unfinished)
    if error is None:
        try:
            await run_steps([Step("warc", step_warc, required=True, keep=True)], run, steps,
                            budgets=settings.capture_step_timeouts, ceiling=60)
        except StepFailed as exc:
            error = exc
    if error is not None:
        return await _failed(db, run, error, operator)
    status = CaptureStatus.PARTIAL if steps.partial else CaptureStatus.OK
    meta["status_of_capture"] = status.value
    files = run.files
    files["meta"] = pretty_json(meta)
    files["provenance"] = provenance.render_page(files, meta, settings.locale)
    signature, tokens = await asyncio.to_thread(sign_and_timestamp, files, meta, settings)
    cid = await asyncio.to_thread(_store, db, req, files, meta, signature, tokens, operator,
                                  settings, status)
    hashes = {role: sha256_bytes(data) for role, data in files.items()}
    return CaptureResult(cid, req.url, True, "; ".join(steps.partial) or None, 0,
                         hashes["manifest"], hashes, status.value,
                         partial=steps.partial_reasons)


async def _partial_screenshot(run: Run) -> None:
    page = run.page
    if page is None or page.is_closed() or page.url in ("", "about:blank"):
        return
    try:
        run.files["screenshot_viewport"] = await page.screenshot(timeout=3000)
    except Exception as exc:
        log.debug("no partial screenshot: %s", exc)


async def _failed(db: Database, run: Run, error: StepFailed, operator: str) -> CaptureResult:
    cause = error.__cause__
    code = cause.exit_code if isinstance(cause, SpotcheckError) else error.exit_code
    message = str(error)
    log.info("capture of %s failed: %s", run.req.url, message)
    run.meta["error"] = message[:1000]  # readable as it is; the code is "failure"
    run.meta["error_step"] = error.step
    run.meta["failure"] = error.failure()
    run.meta["status_of_capture"] = CaptureStatus.FAILED.value
    cid = await asyncio.to_thread(_record_failure, db, run, message, operator)
    return CaptureResult(cid, run.req.url, False, message, code, status="failed",
                         failure=error.failure())


# --- storing --------------------------------------------------------------------------------

def _store(db: Database, req: CaptureRequest, files: dict[str, bytes], meta: dict[str, Any],
           signature: str, tokens: list[bytes], operator: str, settings: Settings,
           status: CaptureStatus) -> int:
    """Write files and rows together; undo the files if the transaction fails."""
    store = ArtifactStore(settings.artifacts_dir)
    stored: list[Stored] = []
    blobs = dict(files)
    for i, tok in enumerate(tokens):
        blobs[f"timestamp_{i}"] = tok
    try:
        for data in blobs.values():
            stored.append(store.put(data))
        with db.session() as s:
            previous = req.previous_capture_id or s.scalar(
                select(Capture.id).where(Capture.url == req.url,
                                         Capture.status.in_(CaptureStatus.evidence()))
                .order_by(Capture.id.desc()).limit(1))
            cap = Capture(kind=req.kind, url=req.url, final_url=meta.get("final_url"),
                          status=status, listing_id=req.listing_id,
                          case_id=req.case_id, persona_id=req.persona_id,
                          purchase_id=req.purchase_id, operator=operator, purpose=req.purpose,
                          started_at=dt.datetime.fromisoformat(meta["started_at"]),
                          finished_at=dt.datetime.fromisoformat(meta["finished_at"]),
                          manifest_sha256=sha256_bytes(files["manifest"]), signature=signature,
                          timestamp_token_sha256=sha256_bytes(tokens[0]) if tokens else None,
                          meta={k: v for k, v in meta.items() if k != "headers"},
                          facts=meta.get("facts") or {}, previous_capture_id=previous)
            s.add(cap)
            s.flush()
            for role, data in blobs.items():
                media = (MEDIA[role][1] if role in MEDIA else "application/timestamp-reply")
                s.add(Artifact(capture_id=cap.id, role=role, sha256=sha256_bytes(data),
                               size=len(data), media_type=media))
            custody.record(s, "created", operator, capture_id=cap.id, case_id=req.case_id,
                           detail={"manifest_sha256": cap.manifest_sha256, "url": req.url[:500],
                                   "kind": req.kind, "timestamps": len(tokens),
                                   "status": status.value})
            return int(cap.id)
    except BaseException:
        _discard_unreferenced(db, store, stored)
        raise


def _discard_unreferenced(db: Database, store: ArtifactStore, stored: list[Stored]) -> None:
    new = [s for s in stored if s.new]
    if not new:
        return
    try:
        with db.session() as s:
            used = set(s.scalars(select(Artifact.sha256).where(
                Artifact.sha256.in_([x.sha256 for x in new]))))
    except Exception:  # if the database is gone, keep the files rather than guess
        return
    store.discard([x for x in new if x.sha256 not in used])


def _record_failure(db: Database, run: Run, error: str, operator: str) -> int:
    """A failed row with its steps, refusals, DNS answers and any partial screenshot."""
    req, meta = run.req, run.meta
    store = ArtifactStore(run.settings.artifacts_dir)
    shot = run.files.get("screenshot_viewport")
    stored = store.put(shot) if shot else None
    try:
        with db.session() as s:
            cap = Capture(kind=req.kind, url=req.url[:2000], status=CaptureStatus.FAILED,
                          listing_id=req.listing_id, case_id=req.case_id,
                          persona_id=req.persona_id, purchase_id=req.purchase_id,
                          operator=operator, purpose=req.purpose,
                          final_url=meta.get("final_url"),
                          started_at=dt.datetime.fromisoformat(meta["started_at"]),
                          finished_at=dt.datetime.fromisoformat(meta["finished_at"]),
                          meta={k: v for k, v in meta.items() if k != "headers"})
            s.add(cap)
            s.flush()
            if shot and stored:
                s.add(Artifact(capture_id=cap.id, role="screenshot_viewport",
                               sha256=stored.sha256, size=len(shot), media_type="image/png"))
            custody.record(s, "capture_failed", operator, capture_id=cap.id,
                           case_id=req.case_id,
                           detail={"url": req.url[:500], "error": error[:500],
                                   "step": meta.get("error_step")})
            return int(cap.id)
    except BaseException:
        if stored:
            _discard_unreferenced(db, store, [stored])
        raise


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
                       ) -> list[CaptureResult]:
    """Capture several pages in parallel on one browser (async).

    Each capture gets a fresh context (no cookies carried from one capture to the next) and
    its own recording proxy, at most *concurrency* at a time.  *storage_state* (Playwright's
    cookies/localStorage, e.g. a persona's login) is loaded into every context.
    """
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
                 on_done: Callable[[CaptureResult], None] | None = None) -> list[int]:
    """Capture *urls* (sync); returns capture ids in order (check ``Capture.status``)."""
    if listing_ids is not None and len(listing_ids) != len(urls):
        raise InvalidInput("capture.listing_ids_per_url")
    reqs = [CaptureRequest(url=u, kind=kind,
                           listing_id=listing_ids[i] if listing_ids else None,
                           case_id=case_id, persona_id=persona_id, purchase_id=purchase_id,
                           purpose=purpose) for i, u in enumerate(urls)]
    results = asyncio.run(capture_many(db, reqs, operator=operator, settings=settings,
                                       storage_state=storage_state, on_done=on_done))
    return [r.capture_id for r in results]
