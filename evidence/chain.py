"""The sample chain of a case: from the plan item bought to the lab's report, who and when.

A failed sample is only evidence if the sample tested is the one bought from the listing: a
court asks for the purchase, the order confirmation, the parcel's receipt, the seal (its
number and photo), the lab it went to and the lab's result with its report.  This module reads
them from the store (``Purchase`` and its signed-by-user ``history``, ``Sample``,
``LabResult``, the seal photo and lab report in the artifact store) and writes them into an
evidence pack as ``chain/sample-chain.json`` with the files it names; the pack seals that JSON
(signature, RFC 3161 tokens, stamp record) and lists every file in its manifest, so
``spotcheck evidence verify`` checks it offline (:func:`check_chain_files`).

The covert buyer persona is not named: the chain says a persona bought the item, never which
account, address or payment reference (investigators read packs; README, "roles").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.hashing import pretty_json, sha256_bytes
from evidence.steplog import find, pack_form
from store.artifacts import ArtifactStore
from store.messages import phrase
from store.models import (
    Artifact,
    Capture,
    Case,
    LabResult,
    Plan,
    Platform,
    Purchase,
    PurchaseStatus,
    Sample,
)

FORMAT = "spotcheck-sample-chain/1"
FOLDER = "chain"
DOCUMENT = f"{FOLDER}/sample-chain.json"
#: The steps in order; each has a zh-CN/en label in store.labels ("chain_step").
STEPS = ("purchase", "order", "receipt", "seal", "lab", "lab_result")
_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "application/pdf": ".pdf"}


@dataclass
class SampleChain:
    """The chain as written into a pack: the JSON document and the files it names."""

    document: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)  # pack path -> bytes

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list(self.document["steps"])

    @property
    def missing(self) -> list[str]:
        return list(self.document["missing"])

    def write(self, root: Path) -> list[str]:
        """Write the files and the JSON under *root*; returns the paths written."""
        (root / FOLDER).mkdir(parents=True, exist_ok=True)
        for rel, data in self.files.items():
            (root / rel).write_bytes(data)
        (root / DOCUMENT).write_bytes(self.json_bytes())
        return [*self.files, DOCUMENT]

    def json_bytes(self) -> bytes:
        return pretty_json(self.document)


def _entered(p: Purchase, status: PurchaseStatus) -> dict[str, Any]:
    """The latest history entry of *p* that made it *status* (who, when, what was noted)."""
    for h in reversed(p.history or []):
        if h.get("status") == status.value:
            return dict(h)
    return {}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def _file(session: Session, store: ArtifactStore, sha256: str | None, role: str, name: str,
          files: dict[str, bytes], missing: list[str]) -> dict[str, Any] | None:
    """Read one stored chain file (its hash is checked on reading) into *files*."""
    if not sha256:
        missing.append(role)
        return None
    art = session.scalar(select(Artifact).where(Artifact.sha256 == sha256)
                         .order_by(Artifact.id).limit(1))
    media = art.media_type if art is not None else "application/octet-stream"
    data = store.read(sha256)  # VerificationFailed when the stored file was altered
    rel = f"{FOLDER}/{name}{_EXT.get(media, '.bin')}"
    files[rel] = data
    return {"file": rel, "sha256": sha256, "size": len(data), "media_type": media}


def sample_chain(session: Session, case: Case, store: ArtifactStore) -> SampleChain | None:
    """The sample chain of *case*, or None when the case is not about a sample."""
    if case.sample_id is None:
        return None
    sample = session.get(Sample, case.sample_id)
    if sample is None:
        return None
    p = session.get(Purchase, sample.purchase_id)
    assert p is not None  # sample.purchase_id is a non-null foreign key
    item = p.plan_item
    plan = session.get(Plan, item.plan_id)
    listing = item.listing
    platform = session.get(Platform, listing.platform_id)
    result = session.scalar(select(LabResult).where(LabResult.sample_id == sample.id))
    files: dict[str, bytes] = {}
    missing: list[str] = []

    created: dict[str, Any] = next(
        (h for h in p.history or [] if h.get("status") == "planned"), {})
    ordered = _entered(p, PurchaseStatus.ORDERED)
    received = _entered(p, PurchaseStatus.RECEIVED)
    sent = _entered(p, PurchaseStatus.SENT_TO_LAB)
    order_captures = list(session.scalars(
        select(Capture.id).where(Capture.purchase_id == p.id, Capture.kind == "order")
        .order_by(Capture.id)))
    photo = _file(session, store, sample.seal_photo_sha256, "seal_photo", "seal-photo",
                  files, missing)
    # The lab's report is named by the result's history entry (scheduler.purchases keeps it
    # there with who entered the result and when).
    report_sha = _entered(p, PurchaseStatus.RESULT).get("report") if result else None
    report = _file(session, store, report_sha, "lab_report", "lab-report", files, missing)
    steps: list[dict[str, Any]] = [
        {"step": "purchase", "at": created.get("at") or _iso(p.created_at),
         "by": created.get("by"),
         "detail": {"purchase_id": p.id, "plan_id": item.plan_id,
                    "plan_version": plan.version if plan else None,
                    "plan_approved_by": plan.reviewed_by if plan else None,
                    "plan_approved_at": _iso(plan.reviewed_at) if plan else None,
                    "plan_item_seq": item.seq, "stratum": item.stratum,
                    "inclusion_probability": item.inclusion_probability,
                    "listing_id": listing.id, "listing_url": listing.url,
                    "listing_title": listing.title[:500],
                    "platform": platform.name if platform else None,
                    "bought_by": "covert buyer persona (not named in packs)"
                    if p.persona_id is not None else "by hand"}},
        {"step": "order", "at": ordered.get("at") or _iso(p.ordered_at),
         "by": ordered.get("by"),
         "detail": {"order_number": p.order_number,
                    "price_paid": str(p.price_paid) if p.price_paid is not None else None,
                    "currency": p.currency, "order_captures": order_captures}},
        {"step": "receipt", "at": received.get("at") or _iso(sample.received_at),
         "by": received.get("by") or sample.received_by,
         "detail": {"sample_code": sample.code}},
        {"step": "seal", "at": received.get("at") or _iso(sample.received_at),
         "by": received.get("by") or sample.received_by,
         "detail": {"seal_number": sample.code, "photo": photo}},
        {"step": "lab", "at": sent.get("at") or _iso(sample.sent_to_lab_at),
         "by": sent.get("by"), "detail": {"lab": sample.lab_name}},
        {"step": "lab_result", "at": _iso(result.reported_at) if result else None,
         "by": result.entered_by if result else None,
         "detail": None if result is None else {
             "outcome": result.outcome.value, "defects": result.defects,
             "clauses": result.clauses, "lab": result.lab_name,
             "third_party": result.third_party, "verified": result.verified,
             "report": report}},
    ]
    for s in steps:
        if s["at"] is None and s["step"] not in missing:
            missing.append(s["step"])
    # The purchase's history as recorded: each entry hashed, linked and signed when it was
    # appended (evidence.steplog); entries naming the persona keep only their hashes.
    history = pack_form(p.history or [], shown=lambda e: "persona" not in e)
    # Each step names the signed entry it was read from, so verify can hold one to the other.
    result_entry = _entered(p, PurchaseStatus.RESULT) if result else {}
    for step, entry in zip(steps, (created, ordered, received, received, sent, result_entry),
                           strict=True):
        if entry.get("hash"):
            step["recorded"] = entry["hash"]
    document = {
        "format": FORMAT, "case": {"number": case.number, "kind": case.kind},
        "sample": sample.code, "purchase_id": p.id, "steps": steps,
        "files": {rel: {"sha256": sha256_bytes(data), "size": len(data)} for rel, data in files.items()},
        "missing": missing,
        # every recorded entry, signed as it happened (evidence.steplog; persona ids left out)
        "purchase_history": history,
    }
    return SampleChain(document, files)


def check_chain_files(chain: dict[str, Any], listed: dict[str, dict[str, Any]]
                      ) -> list[dict[str, Any]]:
    """Problems between the chain document and the pack manifest's file list: every file the
    chain names must be in the pack with the hash the chain records (and the hash the store
    recorded when the file was taken in: seal photo, lab report), as coded phrases
    (``verify_said.chain_*``)."""
    problems: list[dict[str, Any]] = []
    for rel, entry in sorted((chain.get("files") or {}).items()):
        have = listed.get(rel)
        if have is None:
            problems.append(phrase("verify_said.chain_file_missing", name=rel))
        elif have.get("sha256") != entry.get("sha256"):
            problems.append(phrase("verify_said.chain_file_altered", name=rel))
    for step in chain.get("steps") or []:
        detail = step.get("detail") or {}
        for key in ("photo", "report"):
            ref = detail.get(key)
            if isinstance(ref, dict) and (chain.get("files") or {}).get(
                    ref.get("file"), {}).get("sha256") != ref.get("sha256"):
                problems.append(phrase("verify_said.chain_step_file",
                                       chain_step=str(step.get("step")),
                                       name=str(ref.get("file")),
                                       sha=str(ref.get("sha256"))[:16]))
    return problems


#: For each step, the fields that must agree with the signed history entry it names.
_AGREE = {"order": ("order_number",), "receipt": ("sample",), "seal": ("sample",),
          "lab": ("lab",), "lab_result": ("outcome", "report")}


def check_chain_steps(chain: dict[str, Any],
                      key_for: Callable[[str], tuple[Any, Any]]
                      ) -> tuple[list[dict[str, Any]], int]:
    """Problems between the chain's steps and the purchase history signed as it happened
    (evidence.steplog), and the number of unsigned (older) entries."""
    from evidence.steplog import check_pack_form

    items = list(chain.get("purchase_history") or [])
    problems, unsigned = check_pack_form(items, key_for)
    for step in chain.get("steps") or []:
        name = step.get("step")
        if not step.get("recorded"):
            if step.get("at") and items and not unsigned:
                problems.append(phrase("verify_said.step_unbacked", chain_step=str(name)))
            continue
        entry = find(items, step["recorded"])
        if entry is None:
            problems.append(phrase("verify_said.step_entry_missing", chain_step=str(name)))
            continue
        detail = step.get("detail") or {}
        if name in ("order", "receipt", "lab", "purchase") and (
                entry.get("at") != step.get("at") or entry.get("by") != step.get("by")):
            problems.append(phrase("verify_said.step_who_when", chain_step=str(name)))
        for field_ in _AGREE.get(str(name), ()):
            want = entry.get(field_)
            have = {"order_number": detail.get("order_number"),
                    "sample": detail.get("sample_code", detail.get("seal_number")),
                    "lab": detail.get("lab"), "outcome": detail.get("outcome"),
                    "report": (detail.get("report") or {}).get("sha256")
                    if isinstance(detail.get("report"), dict) else None}[field_]
            if want is not None and have != want:
                problems.append(phrase("verify_said.step_field", chain_step=str(name),
                                       chain_field=field_))
    return problems, unsigned
