"""Recording a failed capture: a ``failed`` row with its steps, refused requests, DNS
answers and whatever screenshot there was, so a failure is as reviewable as a capture.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from evidence import custody
from evidence.capture_request import CaptureResult, Run
from evidence.capture_store import discard_unreferenced
from evidence.steps import StepFailed
from store.artifacts import ArtifactStore
from store.db import Database
from store.errors import SpotcheckError
from store.models import Artifact, Capture, CaptureStatus

log = logging.getLogger(__name__)


async def fail_capture(db: Database, run: Run, error: StepFailed, operator: str) -> CaptureResult:
    """Record *run* as failed by *error* and say why in the result (exit code: the cause's,
    a refused address is a decision, the site failing is exit 6)."""
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
            discard_unreferenced(db, store, [stored])
        raise

