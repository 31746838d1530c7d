"""The browser-side navigation guard of a capture: the main frame stays on the platform.

Every address check is the proxy's (:mod:`evidence.proxy`); this guard decides only which
frame navigations may happen (web schemes only; the main frame on the platform's domains) and
fails the capture when the page left the platform or was refused, as a decision (exit 2)
rather than the site failing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urlsplit

from evidence.capture_request import CaptureFailed, Run
from evidence.netguard import host_matches, url_port
from store.errors import InvalidInput

log = logging.getLogger(__name__)


#: Only frame navigations (``Document`` requests) pause in the browser for the guard below;
#: every other request goes straight to the proxy, which checks each hop's address.
_DOCUMENTS = {"patterns": [{"urlPattern": "*", "resourceType": "Document",
                            "requestStage": "Request"}]}


async def guard_navigations(run: Run, page: Any) -> None:
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



def check_navigations(run: Run) -> None:
    """Fail the capture when the guard refused a main-frame navigation (the page then
    shows Chromium's error page, not the platform's)."""
    if run.refused_navigation is None:
        return
    url, why = run.refused_navigation
    if "off the platform" in why:
        raise InvalidInput("capture.navigation_stopped", url=url[:200])
    raise InvalidInput("capture.refused_address", url=url[:200], reason=why)


def loaded_on_platform(run: Run) -> None:
    """After ``load``: the page answered, stayed on the platform, and was not refused."""
    check_navigations(run)
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



def still_on_platform(run: Run) -> None:
    check_navigations(run)
    if not host_matches((urlsplit(run.page.url).hostname or "").lower(), run.domains):
        raise InvalidInput("capture.left_platform_while_captured", url=run.page.url[:200])

