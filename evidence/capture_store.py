"""Storing a capture that is evidence: its files in the artifact store, its rows in one
transaction (capture, artifacts, custody entry); the files are undone if the transaction
fails, so no artifact is left that no row names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from evidence import custody
from evidence.capture_request import CaptureRequest
from evidence.hashing import sha256_bytes
from evidence.manifest import MEDIA
from store.artifacts import ArtifactStore, Stored
from store.db import Database
from store.models import Artifact, Capture, CaptureStatus
from store.settings import Settings


def store_capture(db: Database, req: CaptureRequest, files: dict[str, bytes],
                  meta: dict[str, Any], signature: str, tokens: list[bytes], operator: str,
                  settings: Settings, status: CaptureStatus) -> int:
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
        discard_unreferenced(db, store, stored)
        raise


def discard_unreferenced(db: Database, store: ArtifactStore, stored: list[Stored]) -> None:
    """Remove the files this attempt added that no artifact row names (another capture may
    have stored the same bytes meanwhile: those stay)."""
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

