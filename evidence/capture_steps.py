"""The named steps of a capture, in order (``STEPS``), as Harvard LIL's Scoop lists them.

    check_url → open → load → dismiss_overlays → scroll → settle → dom → facts →
    screenshots → [pdf] → network → warc

Each step reads and writes the :class:`~evidence.capture_request.Run`; the one loop that runs
them, with budgets and the step log, is :func:`evidence.steps.run_steps`, called by
:mod:`evidence.capture`.  The PDF is printed only when asked (:func:`steps_for`).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import time
from typing import Any

from evidence import provenance
from evidence.capture_browser import VIEWPORT
from evidence.capture_guard import (
    check_navigations,
    guard_navigations,
    loaded_on_platform,
    still_on_platform,
)
from evidence.capture_request import CaptureFailed, Run
from evidence.facts import PageReader, extract_facts, read_with, with_reading
from evidence.manifest import MEDIA
from evidence.netguard import check_url, url_port
from evidence.steps import Step, StepCutShort
from evidence.warc import Resource, write_warc
from store.errors import InvalidInput

log = logging.getLogger(__name__)


#: Full-page screenshots and PDFs of endless pages are clipped to this height (pixels).
MAX_SCREENSHOT_HEIGHT = 20000
#: ... and pages wider than the viewport to this width.
MAX_SCREENSHOT_WIDTH = 4000
#: The PDF is printed at most this many pages (A4 at 96 dpi is ~1123 px per page).
MAX_PDF_PAGES = 20


async def step_check_url(run: Run) -> None:
    host = check_url(run.req.url)
    run.domains = run.req.platform_domains or [host]
    why = await asyncio.to_thread(run.net.policy.refusal, host, url_port(run.req.url))
    if why is not None:
        raise InvalidInput("capture.address_refused", url=run.req.url[:200], reason=why)


async def step_open(run: Run) -> None:
    page = run.page = await run.context.new_page()
    await guard_navigations(run, page)

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


async def step_load(run: Run) -> None:
    """Navigate; the step ends when ``load`` fires.  When it never does, the step is cut
    off by its budget and the capture goes on with what the page shows (partial)."""
    page = run.page
    try:
        run.response = await page.goto(run.req.url, wait_until="commit")
    except Exception as exc:
        check_navigations(run)  # a decision, not the site failing: exit 2
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



async def step_facts(run: Run) -> None:
    if "dom" in run.files:
        run.meta["facts"] = await asyncio.to_thread(
            _facts, run.files["dom"].decode("utf-8", "replace"), run.page.url,
            run.req.page_reader)


def _facts(dom: str, url: str, reader: PageReader | None) -> dict[str, Any]:
    """The page's facts from its markup, with the caller's reader's reading when it gave
    one (evidence.facts.with_reading)."""
    return with_reading(extract_facts(dom, url), read_with(reader, dom, url))


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
    await page_facts(run)
    await close_page(run)
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
    Step("load", step_load, after=loaded_on_platform),
    Step("dismiss_overlays", step_overlays),
    Step("scroll", step_scroll),
    Step("settle", step_settle, soft=True),
    Step("dom", step_dom, keep=True, after=still_on_platform),
    Step("facts", step_facts),
    Step("screenshots", step_screenshots, keep=True),
    Step("pdf", step_pdf),
    Step("network", step_network, keep=True),
]



# --- around the steps -----------------------------------------------------------

async def close_page(run: Run) -> None:
    if run.page is not None and not run.page.is_closed():
        try:
            await asyncio.wait_for(run.page.close(), 5)
        except Exception as exc:
            log.debug("closing the page: %s", exc)
    if run.popups:
        await asyncio.gather(*run.popups, return_exceptions=True)


async def page_facts(run: Run) -> None:
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



async def partial_screenshot(run: Run) -> None:
    page = run.page
    if page is None or page.is_closed() or page.url in ("", "about:blank"):
        return
    try:
        run.files["screenshot_viewport"] = await page.screenshot(timeout=3000)
    except Exception as exc:
        log.debug("no partial screenshot: %s", exc)

