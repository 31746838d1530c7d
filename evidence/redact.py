"""Redacted copies of covert buyer captures: what investigators and packs get by default.

A page captured in a buyer persona's browser (the listing while logged in, the order
confirmation) shows the persona's account, drop address and payment reference, and its WARC
carries the session cookies.  :func:`redact_capture_async` makes a *copy* of such a capture in
which those strings are masked, and stores it as a capture of its own (no persona), signed and
time-stamped like any other, whose ``meta.json`` names the original (id, manifest SHA-256 and
signature), so the copy can be checked against the original if that is ever disclosed:

* screenshots: the original pixels with black boxes over every place a secret string is drawn.
  Where they are drawn is measured by laying out the captured DOM again in Chromium at the
  capture's viewport, with the page's own resources served from its WARC and JavaScript off
  (the DOM is already the rendered one), so the layout is the captured layout;
* DOM: each secret replaced by :data:`MASK`;
* PDF: printed from the redacted DOM (so no secret can be in it);
* WARC: every record's payload with the secrets replaced and ``Cookie``, ``Set-Cookie`` and
  ``Authorization`` header values masked, the record digests recomputed;
* metadata: persona fields masked.

A secret found in the DOM whose place cannot be measured blacks out the whole screenshot:
never a leak for a prettier copy.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from evidence import provenance
from evidence.capture_browser import VIEWPORT
from evidence.capture_request import CaptureRequest
from evidence.capture_store import store_capture
from evidence.covert import is_persona_capture
from evidence.hashing import pretty_json
from evidence.manifest import sign_and_timestamp
from store.artifacts import ArtifactStore
from store.db import Database
from store.errors import InvalidInput, NotFound
from store.models import Artifact, Capture, CaptureStatus, utcnow
from store.settings import Settings

log = logging.getLogger("spotcheck.evidence.redact")

MASK = "[已遮蔽 REDACTED]"
#: HTTP header values must be ASCII (WARC writers percent-encode anything else).
HEADER_MASK = "REDACTED"
#: HTTP headers whose values are secrets of the session.
SECRET_HEADERS = ("cookie", "set-cookie", "authorization", "proxy-authorization")
_SCREENSHOTS = ("screenshot_full", "screenshot_viewport", "screenshot_before_overlays",
                "screenshot_after_overlays")
_PAD = 4  # CSS pixels around each masked box


def secret_variants(secrets: Iterable[str]) -> list[str]:
    """The strings to mask, longest first (a phone inside an address line goes with it),
    with their HTML-escaped forms; strings shorter than 3 characters would mask noise."""
    import html

    out: set[str] = set()
    for s in secrets:
        s = (s or "").strip()
        if len(s) >= 3:
            out.add(s)
            out.add(html.escape(s, quote=False))
            out.add(html.escape(s))
    return sorted(out, key=len, reverse=True)


def mask_text(text: str, secrets: list[str]) -> tuple[str, int]:
    n = 0
    for s in secrets:
        if s in text:
            n += text.count(s)
            text = text.replace(s, MASK)
    return text, n


def redact_warc(data: bytes, secrets: list[str]) -> tuple[bytes, int]:
    """The WARC with every payload's secrets replaced and session headers masked."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    masked = 0
    raw = [s.encode("utf-8") for s in secrets]
    for rec in ArchiveIterator(io.BytesIO(data)):
        payload = rec.content_stream().read()
        for s in raw:
            if s in payload:
                masked += payload.count(s)
                payload = payload.replace(s, MASK.encode("utf-8"))
        http = None
        if rec.http_headers is not None:
            headers = []
            for name, value in rec.http_headers.headers:
                low = name.lower()
                if low in SECRET_HEADERS:
                    masked += 1
                    value = HEADER_MASK
                elif low in ("content-encoding", "transfer-encoding"):
                    continue  # the payload is stored decoded now
                elif low == "content-length":
                    value = str(len(payload))
                headers.append((name, value))
            http = StatusAndHeaders(rec.http_headers.statusline, headers,
                                    protocol=rec.http_headers.protocol)
        keep = {k: v for k, v in rec.rec_headers.headers
                if k.lower() not in ("warc-block-digest", "warc-payload-digest",
                                     "content-length", "content-type", "warc-type",
                                     "warc-target-uri")}
        new = writer.create_warc_record(
            rec.rec_headers.get_header("WARC-Target-URI") or "", rec.rec_type,
            payload=io.BytesIO(payload), http_headers=http, warc_headers_dict=keep,
            warc_content_type=rec.rec_headers.get_header("Content-Type"))
        writer.write_record(new)
    return out.getvalue(), masked


def _warc_resources(data: bytes) -> dict[str, tuple[int, str, bytes]]:
    """URL → (status, content type, body) of the WARC's responses, to lay the page out."""
    from warcio.archiveiterator import ArchiveIterator

    out: dict[str, tuple[int, str, bytes]] = {}
    for rec in ArchiveIterator(io.BytesIO(data)):
        if rec.rec_type != "response" or rec.http_headers is None:
            continue
        url = rec.rec_headers.get_header("WARC-Target-URI") or ""
        try:
            status = int(rec.http_headers.get_statuscode() or 200)
        except ValueError:
            status = 200
        ctype = rec.http_headers.get_header("Content-Type") or "application/octet-stream"
        out.setdefault(url, (status, ctype, rec.content_stream().read()))
    return out


_FIND_JS = """(secrets) => {
  const boxes = []; let found = 0;
  const walker = document.createTreeWalker(document.body || document.documentElement,
                                           NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue || "";
    for (const s of secrets) {
      let i = text.indexOf(s);
      while (i >= 0) {
        found += 1;
        const r = document.createRange(); r.setStart(node, i); r.setEnd(node, i + s.length);
        for (const b of r.getClientRects()) {
          if (b.width > 0 && b.height > 0)
            boxes.push([b.left + window.scrollX, b.top + window.scrollY, b.width, b.height]);
        }
        i = text.indexOf(s, i + s.length);
      }
    }
  }
  for (const el of document.querySelectorAll("input, textarea")) {
    for (const s of secrets) if ((el.value || "").includes(s)) {
      found += 1; const b = el.getBoundingClientRect();
      boxes.push([b.left + window.scrollX, b.top + window.scrollY, b.width, b.height]);
    }
  }
  return {boxes, found, width: document.documentElement.scrollWidth};
}"""


async def _layout(browser: Any, url: str, dom: str, warc: bytes, secrets: list[str],
                  redacted_dom: str) -> tuple[list[list[float]], int, bytes | None]:
    """Boxes (CSS px, page coordinates) where *secrets* are drawn in the captured DOM, how
    many occurrences were found in text, and the PDF of the redacted DOM."""
    resources = _warc_resources(warc)
    context = await browser.new_context(viewport=VIEWPORT, java_script_enabled=False,
                                        service_workers="block")
    current = {"dom": dom}

    async def route(r: Any) -> None:
        req_url = r.request.url
        if req_url.split("#")[0] == url.split("#")[0] and r.request.resource_type == "document":
            await r.fulfill(status=200, content_type="text/html; charset=utf-8",
                            body=current["dom"])
        elif req_url in resources:
            status, ctype, body = resources[req_url]
            await r.fulfill(status=status, content_type=ctype, body=body)
        else:
            await r.abort()

    try:
        await context.route("**/*", route)
        page = await context.new_page()
        await page.goto(url, wait_until="load", timeout=30_000)
        found = await page.evaluate(_FIND_JS, [s for s in secrets if "&" not in s])
        current["dom"] = redacted_dom
        await page.goto(url, wait_until="load", timeout=30_000)
        pdf = await page.pdf(print_background=True)
        return found["boxes"], int(found["found"]), pdf
    finally:
        await context.close()


def _mask_png(data: bytes, boxes: list[list[float]], *, whole: bool) -> bytes:
    from PIL import Image, ImageDraw

    with Image.open(io.BytesIO(data)) as src:
        img = src.convert("RGB")
        scale = img.width / VIEWPORT["width"]
        draw = ImageDraw.Draw(img)
        if whole:
            draw.rectangle((0, 0, img.width, img.height), fill=(0, 0, 0))
        for x, y, w, h in boxes:
            draw.rectangle(((x - _PAD) * scale, (y - _PAD) * scale,
                            (x + w + _PAD) * scale, (y + h + _PAD) * scale), fill=(0, 0, 0))
        out = io.BytesIO()
        img.save(out, "PNG")  # zlib's default level: optimize=True was ~4x the CPU for 2%
        return out.getvalue()


def _mask_meta(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: ("•••" if any(w in k.lower() for w in ("persona", "account", "address",
                                                             "payment", "cookie", "password"))
                    else _mask_meta(v, secrets)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_meta(v, secrets) for v in value]
    if isinstance(value, str):
        return mask_text(value, secrets)[0]
    return value


async def redact_capture_async(db: Database, settings: Settings, browser: Any,
                               capture_id: int, secrets: Iterable[str], *, actor: str) -> int:
    """Make (or find) the redacted copy of persona capture *capture_id*; returns its id."""
    found = find_redacted(db, capture_id)
    if found is not None:
        return found
    variants = secret_variants(secrets)
    store = ArtifactStore(settings.artifacts_dir)
    with db.session() as s:
        orig = s.get(Capture, capture_id)
        if orig is None:
            raise NotFound("evidence.capture", capture_id=capture_id)
        if orig.status not in CaptureStatus.evidence():
            raise InvalidInput("redaction.capture_failed_there_nothing_redact",
                               capture_id=capture_id)
        if not is_persona_capture(orig):
            raise InvalidInput("redaction.capture_was_made_buyer_persona",
                               capture_id=capture_id)
        arts = {a.role: a.sha256 for a in s.scalars(
            select(Artifact).where(Artifact.capture_id == capture_id))}
        info: dict[str, Any] = {"url": orig.url, "final_url": orig.final_url, "kind": orig.kind,
                "listing_id": orig.listing_id, "case_id": orig.case_id,
                "purchase_id": orig.purchase_id, "status": orig.status,
                "manifest_sha256": orig.manifest_sha256, "signature": orig.signature,
                "meta": dict(orig.meta or {})}
    data = {role: store.read(sha) for role, sha in arts.items()
            if not role.startswith("timestamp_") and role != "manifest"}
    dom = data.get("dom", b"").decode("utf-8", "replace")
    redacted_dom, in_dom = mask_text(dom, variants)
    warc, in_warc = redact_warc(data["warc"], variants) if "warc" in data else (b"", 0)
    boxes, located, pdf = await _layout(browser, info["final_url"] or info["url"], dom,
                                        data.get("warc", b""), variants, redacted_dom)
    # Occurrences in text that could not be placed: black out the screenshots entirely.
    whole = in_dom > 0 and located == 0
    files: dict[str, bytes] = {}
    for role in _SCREENSHOTS:
        if role in data:
            files[role] = _mask_png(data[role], boxes, whole=whole)
    files["dom"] = redacted_dom.encode("utf-8")
    if pdf is not None and "pdf" in data:
        files["pdf"] = pdf
    if warc:
        files["warc"] = warc
    started = utcnow()
    meta = _mask_meta({k: v for k, v in info["meta"].items()
                       if k not in ("uuid", "tsa_failures", "headers")}, variants)
    meta.update({
        "uuid": str(uuid.uuid4()), "kind": info["kind"], "requested_url": info["url"],
        "final_url": info["final_url"], "operator": actor,
        "started_at": started.isoformat(), "finished_at": utcnow().isoformat(),
        "status_of_capture": info["status"].value,
        "redacted_from": {"capture_id": capture_id,
                          "manifest_sha256": info["manifest_sha256"],
                          "signature": info["signature"],
                          "original_started_at": info["meta"].get("started_at")},
        "redaction": {"masked_in_dom": in_dom, "masked_in_warc": in_warc,
                      "screenshot_boxes": len(boxes), "screenshots_blacked_out": whole,
                      # where (CSS px of the page, before the padding): checkable on pixels
                      "boxes": [[round(v, 1) for v in b] for b in boxes], "padding": _PAD,
                      "viewport_width": VIEWPORT["width"],
                      "pdf": "printed from the redacted DOM", "mask": MASK,
                      "method": "evidence.redact: captured DOM laid out again at the "
                                "capture's viewport with resources from its WARC"},
    })
    meta["persona"] = None
    files["meta"] = pretty_json(meta)
    files["provenance"] = provenance.render_page(files, meta, settings.locale)
    signature, tokens = await asyncio.to_thread(sign_and_timestamp, files, meta, settings)
    req = CaptureRequest(url=info["url"], kind=info["kind"], listing_id=info["listing_id"],
                         case_id=info["case_id"], persona_id=None,
                         purchase_id=info["purchase_id"],
                         purpose=f"脱敏副本 / redacted copy of capture #{capture_id}",
                         previous_capture_id=None)
    cid = await asyncio.to_thread(store_capture, db, req, files, meta, signature, tokens, actor,
                                  settings, info["status"])
    log.info("capture %d: redacted copy %d (%d in DOM, %d in WARC, %d boxes)", capture_id,
             cid, in_dom, in_warc, len(boxes))
    return cid


def redact_capture(db: Database, settings: Settings, capture_id: int, secrets: Iterable[str],
                   *, actor: str) -> int:
    """:func:`redact_capture_async` on a browser of its own (sync)."""
    from playwright.async_api import async_playwright

    from store import chromium

    async def run() -> int:
        async with async_playwright() as pw:
            browser = await chromium.launch(pw, settings)
            try:
                return await redact_capture_async(db, settings, browser, capture_id,
                                                  list(secrets), actor=actor)
            finally:
                await browser.close()

    return asyncio.run(run())


def find_redacted(db: Database, capture_id: int) -> int | None:
    """The id of *capture_id*'s redacted copy, if one was made."""
    purpose = f"脱敏副本 / redacted copy of capture #{capture_id}"
    with db.session() as s:
        for cap in s.scalars(select(Capture).where(Capture.purpose == purpose,
                                                   Capture.persona_id.is_(None))):
            if (cap.meta or {}).get("redacted_from", {}).get("capture_id") == capture_id:
                return int(cap.id)
    return None


def redacted_copies(session: Any, capture_ids: list[int]) -> dict[int, int]:
    """Original capture id → its redacted copy's id, for those that have one."""
    if not capture_ids:
        return {}
    wanted = {f"脱敏副本 / redacted copy of capture #{i}": i for i in capture_ids}
    out: dict[int, int] = {}
    for cap in session.scalars(select(Capture).where(Capture.purpose.in_(list(wanted)),
                                                     Capture.persona_id.is_(None),
                                                     Capture.status.in_(
                                                         CaptureStatus.evidence()))):
        orig = wanted[str(cap.purpose)]
        if (cap.meta or {}).get("redacted_from", {}).get("capture_id") == orig:
            out[orig] = int(cap.id)
    return out
