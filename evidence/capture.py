"""Capturing a web page as evidence, as an ordered list of named, logged steps.

Like Harvard LIL's Scoop, a capture is a pipeline whose every step (its name, duration,
outcome and a note) ends up in the metadata, so a reader can see exactly what was done:

    check_url → open → load → dismiss_overlays → scroll → settle → facts → screenshots →
    dom → pdf → tls → warc → provenance → sign_and_timestamp → store

Hostile pages are bounded (load time, bytes, resource count), may not download, open
pop-ups, navigate the main frame off the platform's domains, use ``file://`` or reach
loopback/private addresses (unless ``settings.capture_allow_networks`` allows them).  A
capture that fails leaves a ``failed`` capture row and a custody event saying why, and no
artifacts: files are written to the content-addressed store and the rows inserted in one
transaction at the very end, and files it created are removed again if that transaction fails.

Entry points: :func:`capture_urls` (sync, a pool of browser contexts),
:func:`capture_many` (async), and :func:`capture_in_context` (async, with a caller's
Playwright ``BrowserContext``, e.g. a buyer persona's logged-in session for an order page).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import platform as py_platform
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from evidence import custody
from evidence.facts import extract_facts
from evidence.hashing import pretty_json, sha256_bytes
from evidence.keys import load_or_create
from evidence.netguard import AddressPolicy, check_url, host_matches
from evidence.render import LABELS, render
from evidence.storage import ArtifactStore, Stored
from evidence.tsa import timestamp_all
from evidence.warc import Exchange, write_warc
from store.db import Database
from store.errors import InvalidInput, ServiceUnavailable, SpotcheckError
from store.models import Artifact, BuyerPersona, Capture, CaptureStatus, Case, utcnow
from store.settings import Settings

log = logging.getLogger(__name__)

KINDS = ("listing", "seller", "order", "search")
VIEWPORT: Any = {"width": 1366, "height": 900}
TIMEZONE = "Asia/Shanghai"
LOCALE = "zh-CN"
#: Full-page screenshots of endless pages are clipped to this height (pixels).
MAX_SCREENSHOT_HEIGHT = 20000
MEDIA = {
    "screenshot_full": ("screenshot-full.png", "image/png"),
    "screenshot_viewport": ("screenshot-viewport.png", "image/png"),
    "screenshot_before_overlays": ("screenshot-before-overlays.png", "image/png"),
    "screenshot_after_overlays": ("screenshot-after-overlays.png", "image/png"),
    "dom": ("dom.html", "text/html; charset=utf-8"),
    "pdf": ("page.pdf", "application/pdf"),
    "warc": ("capture.warc.gz", "application/warc"),
    "meta": ("meta.json", "application/json"),
    "provenance": ("provenance.html", "text/html; charset=utf-8"),
    "tls_chain": ("tls-chain.pem", "application/x-pem-file"),
    "manifest": ("manifest.json", "application/json"),
}


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


@dataclass
class CaptureResult:
    """The outcome of one capture (the row exists in both cases)."""

    capture_id: int
    url: str
    ok: bool
    error: str | None = None
    exit_code: int = 0
    manifest_sha256: str | None = None
    artifacts: dict[str, str] = field(default_factory=dict)


class CaptureFailed(SpotcheckError):
    """A capture step failed; the message names the step."""


def tool_versions() -> dict[str, str]:
    out = {"python": py_platform.python_version()}
    for dist in ("spotcheck", "playwright", "warcio", "cryptography", "asn1crypto"):
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


class StepLog:
    """Runs named steps, recording their duration and outcome in the metadata."""

    def __init__(self) -> None:
        self.steps: list[dict[str, Any]] = []

    async def run(self, name: str, fn: Callable[[], Awaitable[Any]]) -> Any:
        t0 = time.perf_counter()
        entry: dict[str, Any] = {"name": name, "ok": False, "ms": 0, "note": ""}
        self.steps.append(entry)
        try:
            result = await fn()
        except Exception as exc:
            entry["note"] = f"{type(exc).__name__}: {str(exc)[:300]}"
            raise
        finally:
            entry["ms"] = round((time.perf_counter() - t0) * 1000)
        entry["ok"] = True
        return result

    def note(self, text: str) -> None:
        if self.steps:
            self.steps[-1]["note"] = text[:300]


class Recorder:
    """Watches one page: routes (and blocks) its requests, records their exchanges."""

    def __init__(self, page: Any, policy: AddressPolicy, platform_domains: list[str],
                 settings: Settings) -> None:
        self.page = page
        self.policy = policy
        self.platform_domains = platform_domains
        self.max_bytes = settings.capture_max_bytes
        self.max_resources = settings.capture_max_resources
        self.exchanges: list[Exchange] = []
        self.blocked: list[dict[str, str]] = []
        self.failed: list[dict[str, str]] = []
        self.requests = 0
        self.bytes = 0
        self.over_limit: str | None = None
        self.bodies_unavailable = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def install(self) -> None:
        await self.page.route("**/*", self._route)
        self.page.on("requestfinished", self._on_finished)
        self.page.on("requestfailed", self._on_failed)
        self.page.on("popup", self._on_popup)
        self.page.on("download", self._on_download)
        self.page.on("dialog", self._on_dialog)

    def _block(self, url: str, reason: str) -> None:
        if len(self.blocked) < 500:
            self.blocked.append({"url": url[:500], "reason": reason[:300]})

    async def _route(self, route: Any, request: Any) -> None:
        url = request.url
        scheme = urlsplit(url).scheme
        if scheme in ("data", "blob", "about"):
            await route.continue_()
            return
        if scheme not in ("http", "https"):
            self._block(url, f"scheme {scheme}: is not allowed")
            await route.abort("blockedbyclient")
            return
        host = (urlsplit(url).hostname or "").lower()
        if (request.is_navigation_request() and request.frame == self.page.main_frame
                and not host_matches(host, self.platform_domains)):
            self._block(url, "navigation off the platform's domains")
            await route.abort("blockedbyclient")
            return
        self.requests += 1
        if self.requests > self.max_resources:
            self.over_limit = self.over_limit or f"more than {self.max_resources} resources"
            self._block(url, "resource limit reached")
            await route.abort("blockedbyclient")
            return
        if self.bytes > self.max_bytes:
            self.over_limit = self.over_limit or f"more than {self.max_bytes} bytes"
            self._block(url, "byte limit reached")
            await route.abort("blockedbyclient")
            return
        why = await self.policy.why_refused(host)
        if why:
            self._block(url, why)
            await route.abort("blockedbyclient")
            return
        await route.continue_()

    def _on_finished(self, request: Any) -> None:
        self._tasks.append(asyncio.ensure_future(self._record(request)))

    def _on_failed(self, request: Any) -> None:
        if len(self.failed) < 500:
            self.failed.append({"url": request.url[:500], "error": str(request.failure)[:200]})

    def _on_popup(self, popup: Any) -> None:
        self._block(popup.url or "(popup)", "pop-up closed")
        self._tasks.append(asyncio.ensure_future(popup.close()))

    def _on_download(self, download: Any) -> None:
        self._block(download.url, "download refused")
        self._tasks.append(asyncio.ensure_future(download.cancel()))

    def _on_dialog(self, dialog: Any) -> None:
        self._tasks.append(asyncio.ensure_future(dialog.dismiss()))

    async def _record(self, request: Any) -> None:
        try:
            response = await request.response()
            if response is None:
                return
            started = request.timing.get("startTime") or 0
            at = (dt.datetime.fromtimestamp(started / 1000, dt.UTC) if started > 0
                  else utcnow())
            body = b""
            truncated = False
            if not 300 <= response.status < 400:
                try:
                    body = await response.body()
                except Exception:  # e.g. beyond Chromium's DevTools buffer; keep headers
                    body, truncated = b"", True
                    self.bodies_unavailable += 1
            if self.bytes + len(body) > self.max_bytes:
                self.over_limit = self.over_limit or f"more than {self.max_bytes} bytes"
                body, truncated = b"", True
            self.bytes += len(body)
            addr = await response.server_addr()
            post = request.post_data_buffer
            self.exchanges.append(Exchange(
                url=request.url, method=request.method,
                request_headers=[(h["name"], h["value"]) for h in
                                 await request.headers_array()],
                post_data=post, status=response.status, status_text=response.status_text,
                response_headers=[(h["name"], h["value"]) for h in
                                  await response.headers_array()],
                body=body, at=at, server_ip=addr["ipAddress"] if addr else None,
                truncated=truncated))
        except Exception as exc:  # the page may be closing; a lost record is noted
            log.debug("could not record %s: %s", request.url, exc)

    async def drain(self) -> None:
        """Wait for the records still being collected."""
        while self._tasks:
            tasks, self._tasks = self._tasks, []
            await asyncio.gather(*tasks, return_exceptions=True)


async def _dismiss_overlays(page: Any, selectors: list[str], shots: dict[str, bytes],
                            timeout_ms: float) -> list[dict[str, Any]]:
    visible: list[tuple[str, Any]] = []
    for sel in selectors:
        try:
            loc = page.locator(sel).first
            if await loc.is_visible():
                visible.append((sel, loc))
        except Exception:  # an invalid selector in the settings must not stop the capture
            continue
    if not visible:
        return []
    shots["screenshot_before_overlays"] = await page.screenshot(timeout=timeout_ms)
    dismissed: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for sel, loc in visible:
        try:
            if not await loc.is_visible():  # an earlier click already closed it
                continue
            text = (await loc.inner_text(timeout=1000))[:200]
            await loc.click(timeout=2000)
            dismissed.append({"selector": sel, "text": " ".join(text.split()),
                              "ms": round((time.perf_counter() - t0) * 1000)})
        except Exception as exc:
            dismissed.append({"selector": sel, "text": f"(not clicked: {str(exc)[:100]})"})
    await page.wait_for_timeout(200)
    shots["screenshot_after_overlays"] = await page.screenshot(timeout=timeout_ms)
    return dismissed


_SCROLL_JS = """
async (maxSteps) => {
  let last = -1;
  for (let i = 0; i < maxSteps; i++) {
    window.scrollBy(0, window.innerHeight);
    await new Promise(r => setTimeout(r, 80));
    const h = document.documentElement.scrollHeight;
    if (window.scrollY + window.innerHeight >= h - 2) {
      if (h === last) break;
      last = h;
    }
  }
  window.scrollTo(0, 0);
  return document.documentElement.scrollHeight;
}
"""


def _tls_chain(host: str, port: int, timeout: float) -> list[bytes]:
    """The certificate chain a TLS server presents, as PEM (pyOpenSSL: the whole chain).

    A Python socket with a timeout is non-blocking underneath, so pyOpenSSL answers
    ``WantReadError`` instead of waiting: the handshake is driven with ``select`` up to the
    deadline.  SNI is sent for host names only (RFC 6066 forbids IP literals).
    """
    import ipaddress
    import select
    import socket

    from OpenSSL import SSL, crypto

    deadline = time.monotonic() + timeout
    ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
    ctx.set_verify(SSL.VERIFY_NONE, lambda *a: True)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.setblocking(False)
        conn = SSL.Connection(ctx, sock)
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            conn.set_tlsext_host_name(host.encode("idna"))
        conn.set_connect_state()
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"TLS handshake with {host}:{port} took too long")
            try:
                conn.do_handshake()
                break
            except SSL.WantReadError:
                select.select([sock], [], [], left)
            except SSL.WantWriteError:
                select.select([], [sock], [], left)
        chain = conn.get_peer_cert_chain() or []
        with contextlib.suppress(SSL.Error):  # the chain is read; a rude close is fine
            conn.shutdown()
    return [crypto.dump_certificate(crypto.FILETYPE_PEM, c) for c in chain]


def _der_fingerprint(pem: bytes) -> str:
    """SHA-256 of a certificate's DER encoding, hex (what browsers show as its fingerprint)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    return x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256()).hex()


async def _run_capture(context: Any, browser_version: str, req: CaptureRequest, *,
                       operator: str, persona: str | None, case: str | None,
                       settings: Settings, steps: StepLog,
                       ) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Drive the page through every step; returns (artifact bytes by role, metadata)."""
    meta: dict[str, Any] = {
        "format": "spotcheck-capture-meta/1", "uuid": str(uuid.uuid4()),
        "kind": req.kind, "requested_url": req.url, "operator": operator,
        "persona": persona, "purpose": req.purpose, "case": case,
        "listing_id": req.listing_id, "purchase_id": req.purchase_id,
        "viewport": VIEWPORT, "timezone": TIMEZONE, "locale": LOCALE,
        "browser": {"name": "chromium", "version": browser_version},
        "tools": tool_versions(), "started_at": utcnow().isoformat(),
        "limits": {"timeout_s": settings.capture_timeout, "max_bytes": settings.capture_max_bytes,
                   "max_resources": settings.capture_max_resources},
        "steps": steps.steps,
    }
    files: dict[str, bytes] = {}
    policy = AddressPolicy(settings.capture_allow_networks)
    timeout_ms = settings.capture_timeout * 1000
    deadline = time.monotonic() + settings.capture_timeout

    def remaining_ms() -> float:
        return max(1000.0, (deadline - time.monotonic()) * 1000)

    async def check() -> str:
        host = check_url(req.url)
        why = await policy.why_refused(host)
        if why:
            raise InvalidInput(f"refusing to capture {req.url[:200]}: {why}")
        return host

    host = await steps.run("check_url", check)
    domains = req.platform_domains or [host]
    page = await context.new_page()
    recorder = Recorder(page, policy, domains, settings)
    try:
        await steps.run("open", recorder.install)
        meta["user_agent"] = await page.evaluate("navigator.userAgent")

        async def load() -> Any:
            return await page.goto(req.url, wait_until="load", timeout=timeout_ms)

        try:
            response = await steps.run("load", load)
        except Exception as exc:
            blocked = "; ".join(b["reason"] for b in recorder.blocked[:3])
            raise CaptureFailed(f"the page did not load: {str(exc).splitlines()[0][:200]}"
                                + (f" (blocked: {blocked})" if blocked else "")) from exc
        if response is None:
            raise CaptureFailed("the page did not load (no response)")
        final_host = (urlsplit(page.url).hostname or "").lower()
        if not host_matches(final_host, domains):
            off = [b["url"] for b in recorder.blocked if "navigation" in b["reason"]]
            if off:
                raise CaptureFailed("the page tried to navigate off the platform's domains "
                                    f"({off[0][:200]}) and was stopped")
            raise CaptureFailed(f"the page left the platform's domains: {page.url[:200]}")
        if final_host and await policy.why_refused(final_host):
            raise CaptureFailed(f"the page ended on a refused address: {page.url[:200]}")
        chain: list[dict[str, Any]] = []
        r = response.request.redirected_from
        while r is not None and len(chain) < 30:
            prev = await r.response()
            chain.append({"url": r.url, "status": prev.status if prev else None})
            r = r.redirected_from
        meta["redirects"] = list(reversed(chain))
        meta["final_url"] = page.url
        meta["status"] = response.status
        meta["headers"] = [[h["name"], h["value"]] for h in await response.headers_array()]
        addr = await response.server_addr()
        meta["server_ip"] = addr["ipAddress"] if addr else None
        if meta["server_ip"] and not policy.address_allowed(meta["server_ip"]):
            raise CaptureFailed(f"the server's address {meta['server_ip']} is not allowed")
        sec = await response.security_details()
        meta["tls"] = ({"protocol": sec.get("protocol"), "subject": sec.get("subjectName"),
                        "issuer": sec.get("issuer"), "valid_from": sec.get("validFrom"),
                        "valid_to": sec.get("validTo")} if sec else None)

        async def overlays() -> list[dict[str, Any]]:
            return await _dismiss_overlays(page, settings.capture_consent_selectors, files,
                                           remaining_ms())

        meta["overlays_dismissed"] = await steps.run("dismiss_overlays", overlays)

        async def scroll() -> int:
            return int(await asyncio.wait_for(page.evaluate(_SCROLL_JS, 40),
                                              timeout=remaining_ms() / 1000))

        height = await steps.run("scroll", scroll)

        async def settle() -> bool:
            try:
                await page.wait_for_load_state("networkidle",
                                               timeout=min(remaining_ms(), 10000))
            except Exception:
                steps.note("the network did not settle within the bound")
                return False
            return True

        meta["network_settled"] = await steps.run("settle", settle)
        if not host_matches((urlsplit(page.url).hostname or "").lower(), domains):
            raise CaptureFailed(f"the page navigated off the platform's domains while it was "
                                f"being captured ({page.url[:200]})")

        async def dom() -> None:
            files["dom"] = (await page.content()).encode("utf-8")

        await steps.run("dom", dom)

        async def facts() -> None:
            meta["facts"] = await asyncio.to_thread(
                extract_facts, files["dom"].decode("utf-8", "replace"), page.url)

        await steps.run("facts", facts)

        async def screenshots() -> None:
            files["screenshot_viewport"] = await page.screenshot(timeout=remaining_ms())
            if height > MAX_SCREENSHOT_HEIGHT:
                steps.note(f"page is {height}px high; clipped to {MAX_SCREENSHOT_HEIGHT}px")
                files["screenshot_full"] = await page.screenshot(
                    full_page=True, timeout=remaining_ms(),
                    clip={"x": 0, "y": 0, "width": VIEWPORT["width"],
                          "height": MAX_SCREENSHOT_HEIGHT})
            else:
                files["screenshot_full"] = await page.screenshot(full_page=True,
                                                                 timeout=remaining_ms())

        await steps.run("screenshots", screenshots)

        async def pdf() -> None:
            files["pdf"] = await asyncio.wait_for(page.pdf(print_background=True),
                                                  timeout=remaining_ms() / 1000)

        await steps.run("pdf", pdf)
        await recorder.drain()
    finally:
        await page.close()
        await recorder.drain()
    meta["finished_at"] = utcnow().isoformat()
    if recorder.over_limit:
        meta["limit_reached"] = recorder.over_limit
    meta["dns"] = policy.dns
    meta["blocked"] = recorder.blocked
    meta["failed_requests"] = recorder.failed
    meta["resources"] = len(recorder.exchanges)
    meta["bytes"] = recorder.bytes
    meta["bodies_unavailable"] = recorder.bodies_unavailable

    if urlsplit(meta["final_url"]).scheme == "https":
        async def tls() -> None:
            parts = urlsplit(meta["final_url"])
            try:
                pems = await asyncio.to_thread(_tls_chain, parts.hostname or "",
                                               parts.port or 443, 10.0)
            except Exception as exc:
                steps.note(f"could not read the certificate chain: "
                           f"{type(exc).__name__}: {exc}")
                return
            files["tls_chain"] = b"".join(pems)
            tls_meta = meta["tls"] if meta.get("tls") is not None else {}
            tls_meta["chain_sha256"] = sha256_bytes(files["tls_chain"])
            tls_meta["chain_pem"] = [p.decode("ascii") for p in pems]
            tls_meta["chain_fingerprints_sha256"] = [_der_fingerprint(p) for p in pems]
            meta["tls"] = tls_meta

        await steps.run("tls", tls)

    async def warc() -> None:
        exchanges = sorted(recorder.exchanges, key=lambda e: e.at)
        resources = [(f"urn:spotcheck:capture:{meta['uuid']}:{role}", "image/png", files[role])
                     for role in ("screenshot_full", "screenshot_viewport")]
        started = dt.datetime.fromisoformat(meta["started_at"])
        files["warc"] = await asyncio.to_thread(
            write_warc, exchanges, resources, meta,
            software=f"spotcheck {meta['tools'].get('spotcheck')} (warcio "
                     f"{meta['tools'].get('warcio')})", started=started)

    await steps.run("warc", warc)
    return files, meta


def _provenance(files: dict[str, bytes], meta: dict[str, Any], locale: str) -> bytes:
    artifacts = [{"role": role, "sha256": sha256_bytes(data), "size": len(data)}
                 for role, data in sorted(files.items())]
    other = LABELS["en" if locale != "en" else "zh-CN"]
    return render("evidence_provenance.html", locale, meta=meta, artifacts=artifacts,
                  other=other).encode("utf-8")


def build_manifest(files: dict[str, bytes], meta: dict[str, Any],
                   key_fingerprint: str) -> dict[str, Any]:
    """The capture manifest: what was captured, when, by whom, and every file's hash."""
    return {
        "format": "spotcheck-capture-manifest/1",
        "uuid": meta["uuid"], "kind": meta["kind"], "requested_url": meta["requested_url"],
        "final_url": meta.get("final_url"), "started_at": meta["started_at"],
        "finished_at": meta.get("finished_at"), "operator": meta["operator"],
        "key_fingerprint": key_fingerprint,
        "artifacts": [{"role": role, "name": MEDIA[role][0], "media_type": MEDIA[role][1],
                       "sha256": sha256_bytes(data), "size": len(data)}
                      for role, data in sorted(files.items())],
    }


def _finalise(files: dict[str, bytes], meta: dict[str, Any],
              settings: Settings) -> tuple[dict[str, bytes], str, list[bytes]]:
    """Add metadata, provenance and the signed, timestamped manifest (blocking: a thread)."""
    files["meta"] = pretty_json(meta)
    files["provenance"] = _provenance(files, meta, settings.locale)
    key = load_or_create(settings.keys_dir)
    manifest = pretty_json(build_manifest(files, meta, key.fingerprint))
    files["manifest"] = manifest
    signature = key.sign(manifest)
    tokens = [t.response for t in timestamp_all(manifest, settings.tsa_urls)]
    return files, signature, tokens


def _store(db: Database, req: CaptureRequest, files: dict[str, bytes], meta: dict[str, Any],
           signature: str, tokens: list[bytes], operator: str, settings: Settings) -> int:
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
                                         Capture.status == CaptureStatus.OK)
                .order_by(Capture.id.desc()).limit(1))
            cap = Capture(kind=req.kind, url=req.url, final_url=meta.get("final_url"),
                          status=CaptureStatus.OK, listing_id=req.listing_id,
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
                                   "kind": req.kind, "timestamps": len(tokens)})
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


def _record_failure(db: Database, req: CaptureRequest, error: str, operator: str,
                    steps: list[dict[str, Any]] | None) -> int:
    with db.session() as s:
        cap = Capture(kind=req.kind, url=req.url[:2000], status=CaptureStatus.FAILED,
                      listing_id=req.listing_id, case_id=req.case_id, persona_id=req.persona_id,
                      purchase_id=req.purchase_id, operator=operator, purpose=req.purpose,
                      finished_at=utcnow(), meta={"error": error[:1000], "steps": steps or []})
        s.add(cap)
        s.flush()
        custody.record(s, "capture_failed", operator, capture_id=cap.id, case_id=req.case_id,
                       detail={"url": req.url[:500], "error": error[:500]})
        return int(cap.id)


def _names(db: Database, req: CaptureRequest) -> tuple[str | None, str | None]:
    with db.session() as s:
        persona = s.get(BuyerPersona, req.persona_id) if req.persona_id else None
        case = s.get(Case, req.case_id) if req.case_id else None
        return (persona.alias if persona else None, case.number if case else None)


async def capture_in_context(context: Any, db: Database, req: CaptureRequest, *,
                             operator: str, settings: Settings,
                             browser_version: str = "") -> CaptureResult:
    """Capture *req.url* in a caller's Playwright (async) ``BrowserContext``.

    The context may carry a buyer persona's login (to capture an order page); only a new
    page is opened and closed in it.  Never raises for a failed capture: the result says why.
    """
    if req.kind not in KINDS:
        raise InvalidInput(f"unknown capture kind {req.kind!r} (one of {', '.join(KINDS)})")
    if not browser_version and context.browser is not None:
        browser_version = context.browser.version
    persona, case = await asyncio.to_thread(_names, db, req)
    steps = StepLog()
    try:
        files, meta = await asyncio.wait_for(
            _run_capture(context, browser_version, req, operator=operator, persona=persona,
                         case=case, settings=settings, steps=steps),
            timeout=settings.capture_timeout * 2 + 30)
        files, signature, tokens = await asyncio.to_thread(_finalise, files, meta, settings)
        cid = await asyncio.to_thread(_store, db, req, files, meta, signature, tokens,
                                      operator, settings)
    except Exception as exc:
        message = str(exc) or type(exc).__name__
        if isinstance(exc, TimeoutError):
            message = "the capture took too long"
        code = exc.exit_code if isinstance(exc, SpotcheckError) else 1
        log.info("capture of %s failed: %s", req.url, message)
        cid = await asyncio.to_thread(_record_failure, db, req, message, operator, steps.steps)
        return CaptureResult(cid, req.url, False, message, code)
    hashes = {role: sha256_bytes(data) for role, data in files.items()}
    return CaptureResult(cid, req.url, True, None, 0, hashes["manifest"], hashes)


def launch_args(settings: Settings) -> list[str]:
    """Chromium flags for the capture browser: only certificates pinned in the settings are
    accepted beyond the system's trusted CAs (never a blanket ``ignore_https_errors``)."""
    if not settings.capture_trusted_spki:
        return []
    return ["--ignore-certificate-errors-spki-list=" + ",".join(settings.capture_trusted_spki)]


async def capture_many(db: Database, requests: list[CaptureRequest], *, operator: str,
                       settings: Settings, concurrency: int | None = None,
                       storage_state: Any = None,
                       on_done: Callable[[CaptureResult], None] | None = None,
                       ) -> list[CaptureResult]:
    """Capture several pages in parallel on a pool of browser contexts (async).

    Each capture gets a fresh context (no cookies carried from one capture to the next),
    at most *concurrency* at a time on one browser.  *storage_state* (Playwright's
    cookies/localStorage, e.g. a persona's login) is loaded into every context.
    """
    from playwright.async_api import async_playwright

    try:
        executable = settings.chromium_path()
    except SpotcheckError as exc:
        raise ServiceUnavailable(str(exc)) from exc
    limit = max(1, concurrency or settings.capture_concurrency)
    results: list[CaptureResult | None] = [None] * len(requests)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, headless=True,
                                           args=launch_args(settings))
        try:
            sem = asyncio.Semaphore(limit)

            async def one(i: int, req: CaptureRequest) -> None:
                async with sem:
                    context = await browser.new_context(
                        viewport=VIEWPORT, locale=LOCALE, timezone_id=TIMEZONE,
                        accept_downloads=False, service_workers="block",
                        storage_state=storage_state)
                    try:
                        res = await capture_in_context(context, db, req, operator=operator,
                                                       settings=settings,
                                                       browser_version=browser.version)
                    finally:
                        await context.close()
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
        raise InvalidInput("listing_ids must have one entry per URL")
    reqs = [CaptureRequest(url=u, kind=kind,
                           listing_id=listing_ids[i] if listing_ids else None,
                           case_id=case_id, persona_id=persona_id, purchase_id=purchase_id,
                           purpose=purpose) for i, u in enumerate(urls)]
    results = asyncio.run(capture_many(db, reqs, operator=operator, settings=settings,
                                       storage_state=storage_state, on_done=on_done))
    return [r.capture_id for r in results]
