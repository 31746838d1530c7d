"""The evidence viewer: captures, their screenshots, metadata, hashes and custody log; artifact
downloads; exporting evidence packs.

Captured pages are hostile: their HTML, WARCs and DOM dumps are only ever sent as downloads
(``Content-Disposition: attachment``, ``application/octet-stream``, a sandboxing CSP and
nosniff), never rendered from the console's origin.  Only raster screenshots are shown inline.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from evidence.covert import is_persona_capture
from spotcheck.web import domain, i18n
from spotcheck.web.deps import CurrentUser, Permission, audit, console, flash, render
from spotcheck.web.i18n import gettext as _
from spotcheck.web.routes.auth import safe_next
from spotcheck.web.security import ARTIFACT_CSP, download_headers
from store.errors import (
    NotFound,
    ServiceUnavailable,
    SpotcheckError,
    VerificationFailed,
)
from store.models import Artifact, Capture, Case, CustodyEvent

router = APIRouter()

#: Media types shown inline (as images); anything else is a download.
INLINE_IMAGES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
THUMB_SIZE = (240, 180)
_PACK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.(zip|wacz)$")


@router.get("/evidence", response_class=HTMLResponse)
def captures(request: Request, user: CurrentUser = Permission("evidence.view"),
             case: int | None = Query(None), listing: int | None = Query(None),
             page: int = Query(1, ge=1, le=10_000),
             format: str = Query("html", pattern="^(html|csv)$")) -> Response:
    from spotcheck.web.lists import Pager, csv_response, footer, rows_of, speak

    with console(request).db.session() as s:
        stmt = select(Capture).order_by(Capture.started_at.desc())
        if case is not None:
            stmt = stmt.where(Capture.case_id == case)
        if listing is not None:
            stmt = stmt.where(Capture.listing_id == listing)
        total = int(s.scalar(select(func.count()).select_from(
            stmt.order_by(None).subquery())) or 0)
        pager = Pager(page, total, 50)
        rows = list(s.scalars(rows_of(stmt, pager, format == "csv")))
    if format == "csv":
        from spotcheck.web.deps import when
        from spotcheck.web.labels import code_label

        speak(request)
        audit(request, user.name, "captures.export", "capture", None, rows=len(rows))
        return csv_response("captures.csv", [
            "#", _("Captured"), _("Kind"), _("Address"), _("Status"), _("Operator"),
            _("Manifest")],
            [(c.id, when(c.started_at), code_label(c.kind, "capture_kind"), c.url,
              code_label(c.status, "CaptureStatus"), c.operator or "",
              c.manifest_sha256 or "") for c in rows])
    return render(request, "console/evidence_list.html", rows=rows, page=page, case=case,
                  listing=listing, footer=footer(request, pager))


@router.get("/evidence/{capture_id}", response_class=HTMLResponse)
def capture(request: Request, capture_id: int,
            user: CurrentUser = Permission("evidence.view")) -> Response:
    with console(request).db.session() as s:
        cap = s.get(Capture, capture_id)
        if cap is None:
            raise HTTPException(404)
        artifacts = list(s.scalars(select(Artifact).where(Artifact.capture_id == cap.id)
                                   .order_by(Artifact.role)))
        custody = list(s.scalars(select(CustodyEvent).where(CustodyEvent.capture_id == cap.id)
                                 .order_by(CustodyEvent.seq)))
        case = s.get(Case, cap.case_id) if cap.case_id else None
    meta = dict(cap.meta or {})
    facts = dict(cap.facts or {})
    covert = is_persona_capture(cap)
    withheld = covert and not user.can("personas.secrets")
    if not user.can("personas.secrets"):
        meta = _mask_persona(meta)
    if withheld:
        facts = _mask_persona(facts)
    elif covert:  # an allowed reveal of a covert buyer's capture is audited as such
        audit(request, user.name, "persona.reveal", "capture", cap.id, persona=cap.persona_id)
    flash = request.state.session.pop("flash", None)
    if flash:
        request.state.session_dirty = True
    from evidence import custody as custody_log

    with console(request).db.session() as s:  # viewing evidence is part of its custody
        custody_log.record(s, "viewed", user.name, capture_id=cap.id)
    audit(request, user.name, "evidence.view", "capture", cap.id)
    redacted_copy = None
    if withheld:  # what these readers may see instead: the copy with the secrets masked
        from evidence.redact import redacted_copies

        with console(request).db.session() as s:
            redacted_copy = redacted_copies(s, [cap.id]).get(cap.id)
    return render(request, "console/evidence.html", cap=cap, artifacts=artifacts,
                  redacted_copy=redacted_copy,
                  custody=custody, case=case, flash=flash,
                  meta_json=json.dumps(meta, ensure_ascii=False, indent=2, default=str)[:50_000],
                  facts_json=json.dumps(facts, ensure_ascii=False, indent=2,
                                        default=str)[:20_000],
                  screenshots=[] if withheld else
                  [a for a in artifacts if a.media_type in INLINE_IMAGES],
                  withheld=withheld, export_available=True,
                  failure=_failure(cap.meta or {}), partial=_partial(cap.meta or {}),
                  facts=facts,
                  availability=_availability(facts.get("availability")),
                  steps=_steps(meta))


def _availability(value: Any) -> str | None:
    """A page's availability as the reader reads it (schema.org's ``InStock`` is 有货)."""
    if not value:
        return None
    from store.labels import label
    from store.vocabulary import Availability, availability_code

    code = availability_code(value)
    return label(Availability, code, i18n.active()) if code else str(value)


def _steps(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The capture's steps, each note in the reader's language (from its code; a capture
    recorded before notes were coded keeps its English note)."""
    from evidence.steps import note_text

    return [{**st, "note": note_text(st, i18n.active())}
            for st in (meta.get("steps") or []) if isinstance(st, dict)]


def _partial(meta: dict[str, Any]) -> str | None:
    """Why a partial capture is partial, in the reader's language (the stored codes:
    ``partial_reasons``), or the stored English of a capture recorded before they were coded;
    None for a complete capture."""
    from evidence.steps import partial_text

    return partial_text(meta.get("partial_reasons"), meta.get("partial"), i18n.active())


def _failure(meta: dict[str, Any]) -> str | None:
    """Why a failed capture failed, in the reader's language (the stored code), or the
    stored English text of a capture recorded before reasons were coded."""
    from evidence.steps import failure_text

    return failure_text(meta.get("failure"), i18n.active()) or meta.get("error")


def _mask_persona(meta: dict[str, Any]) -> dict[str, Any]:
    """Hide persona fields in capture metadata from roles without the right to see them."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if any(word in key.lower() for word in ("persona", "account", "address", "payment",
                                                 "cookie", "password")):
            out[key] = "•••"
        elif isinstance(value, dict):
            out[key] = _mask_persona(value)
        else:
            out[key] = value
    return out


def _artifact(request: Request, user: CurrentUser, sha256: str) -> tuple[Artifact, Path]:
    """The artifact row and file, if *user* may see it (persona captures need the right)."""
    if not domain.is_sha256(sha256):
        raise HTTPException(404)
    with console(request).db.session() as s:
        rows = s.execute(select(Artifact, Capture)
                         .outerjoin(Capture, Capture.id == Artifact.capture_id)
                         .where(Artifact.sha256 == sha256)).all()
    if not rows:
        raise HTTPException(404)
    art = rows[0][0]
    personal = any(c is not None and is_persona_capture(c) for _a, c in rows)
    # The README's rule: investigators and supervisors never see a covert buyer's details;
    # those who may (samplers, administrators) are audited each time they do.
    if personal and not user.can("personas.secrets"):
        raise HTTPException(403, detail="role")
    if personal:
        audit(request, user.name, "persona.reveal", "artifact", sha256, role=art.role)
    path = domain.artifact_file(console(request).settings, sha256)
    if path is None:
        raise HTTPException(404, detail=_("The file of this artifact is not in the data folder."))
    return art, path


@router.get("/artifacts/{sha256}")
def artifact(request: Request, sha256: str, user: CurrentUser = Permission("listings.view"),
             download: bool = False) -> Response:
    art, path = _artifact(request, user, sha256)
    if art.media_type in INLINE_IMAGES and not download:
        return FileResponse(path, media_type=art.media_type,
                            headers={"Content-Security-Policy": ARTIFACT_CSP,
                                     "Cache-Control": "private, max-age=86400"})
    audit(request, user.name, "artifact.download", "artifact", sha256, role=art.role)
    ext = {"image/png": ".png", "image/jpeg": ".jpg", "application/pdf": ".pdf",
           "application/json": ".json", "text/html": ".html.txt",
           "application/warc": ".warc.gz"}.get(art.media_type, ".bin")
    return FileResponse(path, media_type="application/octet-stream",
                        headers=download_headers(f"{art.role}-{sha256[:12]}{ext}"))


@router.get("/artifacts/{sha256}/thumb")
def thumbnail(request: Request, sha256: str,
              user: CurrentUser = Permission("listings.view")) -> Response:
    """A small PNG of a screenshot, made once with Pillow and cached in the data folder."""
    art, path = _artifact(request, user, sha256)
    if art.media_type not in INLINE_IMAGES:
        raise HTTPException(404)
    cache = console(request).settings.home / "cache" / "thumbs" / f"{sha256}.png"
    if not cache.exists():
        from PIL import Image

        cache.parent.mkdir(parents=True, exist_ok=True)
        with Image.open(path) as img:
            img.draft("RGB", (THUMB_SIZE[0] * 2, THUMB_SIZE[1] * 2))
            # The top of a full-page screenshot, in the thumbnail's aspect ratio.
            top = img.crop((0, 0, img.width,
                            min(img.height, img.width * THUMB_SIZE[1] // THUMB_SIZE[0])))
            top.thumbnail(THUMB_SIZE)
            tmp = cache.with_suffix(".tmp")
            top.convert("RGB").save(tmp, "PNG", optimize=True)
            tmp.replace(cache)
    return FileResponse(cache, media_type="image/png",
                        headers={"Content-Security-Policy": ARTIFACT_CSP,
                                 "Cache-Control": "private, max-age=86400"})


@router.post("/evidence/export")
def export(request: Request, user: CurrentUser = Permission("evidence.export"),
           capture_id: list[int] | None = Form(None), case_id: int | None = Form(None),
           back: str = Form("/evidence")) -> Response:
    """Export a self-verifying evidence pack (evidence.packs) into the data folder's packs;
    the evidence package records the export in the custody log."""
    from evidence.packs import export_pack

    if not case_id and not capture_id:
        raise HTTPException(400, detail=_("Choose a case or at least one capture."))
    cons = console(request)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    what = f"case{case_id}" if case_id else "capture-" + "-".join(map(str, (capture_id or [])[:5]))
    out = cons.settings.packs_dir / f"pack-{what}-{stamp}.zip"
    try:
        path = export_pack(cons.db, case_id=case_id, capture_ids=capture_id or None, out=out,
                           actor=user.name, settings=cons.settings)
    except SpotcheckError as exc:
        # A refusal is told in the user's language on the page they came from, not as an
        # English error page naming a command-line flag.  (A case always exports: a failed
        # sample's case carries its sample chain even with no capture.)
        audit(request, user.name, "evidence.export_refused", "case" if case_id else "capture",
              case_id or ",".join(map(str, capture_id or [])), reason=exc.stored())
        flash(request, "error", _export_refusal(exc))
        return RedirectResponse(safe_next(back) if back else "/evidence", status_code=303)
    audit(request, user.name, "evidence.export", "case" if case_id else "capture",
          case_id or ",".join(map(str, capture_id or [])), pack=path.name)
    flash(request, "ok", _("Evidence pack exported."), pack=path.name)
    return RedirectResponse(safe_next(back) if back else "/evidence", status_code=303)


def _export_refusal(exc: SpotcheckError) -> str:
    """Why a pack was not made, in the reader's language (the English detail is audited)."""
    if exc.code == "evidence.persona_captures_withheld":
        return _("Every capture selected was made in a covert buyer persona's browser and is "
                 "withheld to protect the persona; nothing else is there to export.")
    if isinstance(exc, NotFound):
        return _("There is no successful capture to export for this selection yet.")
    if isinstance(exc, VerificationFailed):
        return _("A stored evidence file no longer matches its recorded hash, so no pack was "
                 "made. Tell an administrator: the evidence store must be checked.")
    if isinstance(exc, ServiceUnavailable):
        return _("A service the pack needs (time-stamping or web archiving) did not answer; "
                 "no pack was made. Try again later.")
    return _("The evidence pack could not be made; the reason is in the audit log.")


@router.post("/packs/{name}/verify", response_class=HTMLResponse)
def verify(request: Request, name: str, user: CurrentUser = Permission("evidence.view")
           ) -> Response:
    """Check a pack the way anyone could, without the database (evidence.verify)."""
    from evidence.trust import TrustAnchors
    from evidence.verify import verify_pack

    path = _pack_path(request, name)
    report = verify_pack(path, anchors=TrustAnchors.for_installation(console(request).settings))
    audit(request, user.name, "pack.verify", "pack", name, ok=report.ok)
    return render(request, "console/pack_verify.html", name=name, report=report)


def may_open_pack(user: CurrentUser, path: Path) -> bool:
    """A pack exported with its buyer persona captures (``--include-persona-captures``) is
    for those who may see persona details; any other pack for every evidence reader."""
    if path.suffix.lower() != ".zip" or user.can("personas.secrets"):
        return True
    import zipfile

    from evidence.packs import shows_personas

    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return False  # not a pack we can read: nobody's persona can be ruled out
    return not shows_personas(manifest)


def _pack_path(request: Request, name: str) -> Path:
    if not _PACK_NAME.match(name):
        raise HTTPException(404)
    base = console(request).settings.packs_dir.resolve()
    path = (base / name).resolve()
    if path.parent != base or not path.is_file():
        raise HTTPException(404)
    return path


@router.get("/packs/{name}")
def pack(request: Request, name: str, user: CurrentUser = Permission("evidence.view")
         ) -> Response:
    path = _pack_path(request, name)
    if not may_open_pack(user, path):
        raise HTTPException(403, detail="role")
    audit(request, user.name, "pack.download", "pack", name)
    return FileResponse(path, media_type="application/zip", headers=download_headers(name))
