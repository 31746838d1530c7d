"""A capture's metadata: what was asked, with what, and what the network did.

``meta.json`` is stored with every capture (complete, partial or failed) and is what the
manifest, the provenance page and the WARC's ``warcinfo`` say about the capture.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

from evidence import provenance
from evidence.capture_browser import LOCALE, TIMEZONE, VIEWPORT
from evidence.capture_request import CaptureRequest, Run, wants_pdf
from evidence.capture_steps import MAX_PDF_PAGES, MAX_SCREENSHOT_HEIGHT
from evidence.hashing import sha256_bytes
from evidence.netguard import url_port
from evidence.steps import StepLog
from store.models import utcnow
from store.settings import Settings


def net_meta(run: Run, unfinished: list[str]) -> None:
    """What the proxy saw, into the metadata: DNS answers, refusals, failures, the server's
    address and each origin's TLS facts (the page's own chain kept as a file)."""
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


def new_meta(req: CaptureRequest, settings: Settings, operator: str, persona: str | None,
             case: str | None, browser_version: str, machine: dict[str, Any],
             log_: StepLog) -> dict[str, Any]:
    """The metadata a capture starts with: who asked, what for, with which tools, limits and
    options (the step log's lists are shared, so they fill in as the steps run)."""
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

