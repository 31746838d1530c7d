"""What a plan's pre-registration states: the manifest, and how to compare it with a plan.

When a supervisor approves a plan, the composing layer (:mod:`scheduler.preregistration`)
signs and time-stamps this manifest, so that anyone can check later that the sample —
frame, design, seed, every unit's π and the items — was fixed before anything was bought.
This module only builds and compares the *content* (the sampler imports no signing code):

* :func:`registration_manifest` — plan, design, seed, frame SHA-256, allocation, the π of
  every unit of the frozen frame (recomputed from the frame file and the design, and checked
  against the items' stored π), and the items in purchase order;
* :func:`compare_with_plan` — the differences between a manifest and a plan as stored now.
"""

from __future__ import annotations

import csv
import io
from dataclasses import fields
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from sampler.design import TAKE_ALL, Design, Frame, design_inclusion_probabilities
from sampler.frame import FRAME_COLUMNS, load_frame_bytes
from store.errors import InvalidInput, VerificationFailed
from store.messages import phrase
from store.models import AuditEvent, Plan
from store.settings import Settings

FORMAT = "spotcheck-plan-registration/1"
#: π of a unit is recorded to this many significant digits (repr of a float is exact anyway).
_PI_TOL = 1e-9


def parse_frame_csv(data: bytes) -> Frame:
    """The frozen frame file (``sampler.frame.FrameTable.to_csv_bytes``) as a :class:`Frame`."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    if tuple(reader.fieldnames or ()) != FRAME_COLUMNS:
        raise InvalidInput("registration.frame_file_columns", reader_fieldnames=reader.fieldnames)
    rows = list(reader)

    def num(v: str) -> float:
        return float(v) if v != "" else float("nan")

    return Frame(ids=np.array([int(r["listing_id"]) for r in rows], dtype=np.int64),
                 strata=np.array([r["stratum"] for r in rows], dtype=str),
                 sizes=np.array([num(r["size"]) for r in rows], dtype=np.float64),
                 prices=np.array([num(r["price_cny"]) for r in rows], dtype=np.float64),
                 sellers=np.array([r["seller"] or None for r in rows], dtype=object),
                 prn=np.array([num(r["prn"]) for r in rows], dtype=np.float64))


def design_n(plan: Plan) -> int:
    """The n the plan's design drew: its realised n without the take-all stratum, whose
    units are all taken besides the design's n (sampler.design.TAKE_ALL)."""
    params = plan.parameters or {}
    taken = int((params.get("allocation") or {}).get(TAKE_ALL, 0))
    return int(params.get("n", plan.sample_size)) - taken


def plan_design(plan: Plan) -> Design:
    """The plan's design with its realised n (a budget design is fixed at the n it chose)."""
    known = {f.name for f in fields(Design)}
    data = {k: v for k, v in (plan.design or {}).items() if k in known}
    data.update(n=design_n(plan), budget=None)
    return Design.from_dict(data)


def frame_pi(plan: Plan, settings: Settings) -> tuple[Frame, np.ndarray, dict[Any, int]]:
    """The frozen frame of *plan* (hash-checked) and π of each of its units by the design."""
    frame = parse_frame_csv(load_frame_bytes(settings, plan.frame_sha256))
    pik, alloc = design_inclusion_probabilities(frame, plan_design(plan), design_n(plan))
    return frame, pik, alloc


def registration_manifest(session: Session, plan: Plan, settings: Settings) -> dict[str, Any]:
    """The manifest to sign for an approved *plan*; refuses when the plan's items disagree with
    π recomputed from its frozen frame (a plan that cannot be reproduced is not registered)."""
    frame, pik, alloc = frame_pi(plan, settings)
    by_id = {int(i): float(p) for i, p in zip(frame.ids.tolist(), pik.tolist(), strict=True)}
    items = sorted(plan.items, key=lambda it: it.seq)
    bad = [it.listing_id for it in items
           if abs(by_id.get(it.listing_id, -1.0) - it.inclusion_probability) > _PI_TOL]
    if bad:
        raise VerificationFailed("registration.plan_listings_differ_from_recomputed",
                                 plan_id=plan.id, bad_5=bad[:5])
    params = plan.parameters or {}
    return {
        "format": FORMAT,
        "plan": {"id": plan.id, "campaign": plan.campaign.name, "version": plan.version,
                 "created_by": plan.created_by, "submitted_by": plan.submitted_by,
                 "approved_by": plan.reviewed_by,
                 "approved_at": plan.reviewed_at.isoformat() if plan.reviewed_at else None},
        "design": plan.design, "method": plan.method, "seed": str(plan.seed),
        "frame": {"sha256": plan.frame_sha256, "units": plan.frame_size,
                  "columns": list(FRAME_COLUMNS)},
        "allocation": {str(k): int(v) for k, v in sorted(alloc.items())},
        "stratum_sizes": params.get("stratum_sizes"),
        "seller_cap": params.get("seller_cap"),
        "sample_size": plan.sample_size,
        "frame_pi": [[int(i), repr(float(p))] for i, p in
                     zip(frame.ids.tolist(), pik.tolist(), strict=True)],
        "items": [{"seq": it.seq, "listing_id": it.listing_id, "stratum": it.stratum,
                   "pi": repr(float(it.inclusion_probability)), "certainty": it.certainty}
                  for it in items],
    }


def compare_with_plan(manifest: dict[str, Any], plan: Plan) -> list[dict[str, Any]]:
    """What differs between a registered manifest and *plan* as stored now (empty: nothing),
    each difference a coded phrase (``verify_said.plan_*``) read in the reader's language."""
    problems: list[dict[str, Any]] = []
    reg = manifest.get("plan", {})
    if reg.get("id") != plan.id:
        problems.append(phrase("verify_said.plan_other", registered=str(reg.get("id")),
                               plan=plan.id))
    if manifest.get("seed") != str(plan.seed):
        problems.append(phrase("verify_said.plan_seed", registered=str(manifest.get("seed")),
                               stored=str(plan.seed)))
    if manifest.get("frame", {}).get("sha256") != plan.frame_sha256:
        problems.append(phrase("verify_said.plan_frame"))
    if manifest.get("method") != plan.method or manifest.get("design") != plan.design:
        problems.append(phrase("verify_said.plan_design"))
    registered = {(d["seq"], d["listing_id"], d["stratum"], float(d["pi"]))
                  for d in manifest.get("items", [])}
    stored = {(it.seq, it.listing_id, it.stratum, float(it.inclusion_probability))
              for it in plan.items}
    if registered != stored:
        added = sorted(x[1] for x in stored - registered)
        gone = sorted(x[1] for x in registered - stored)
        problems.append(phrase("verify_said.plan_items", added=str(added[:5]),
                               gone=str(gone[:5])))
    return problems


def registration_of(session: Session, plan_id: int) -> dict[str, Any] | None:
    """The newest ``plan.registered`` audit detail of a plan (None: not registered): bundle
    and manifest SHA-256, signing key fingerprint, time-stamps, TSAs that failed."""
    event = session.scalar(select(AuditEvent).where(
        AuditEvent.object_type == "plan", AuditEvent.object_id == str(plan_id),
        AuditEvent.action == "plan.registered").order_by(AuditEvent.id.desc()).limit(1))
    return None if event is None else dict(event.detail or {})
