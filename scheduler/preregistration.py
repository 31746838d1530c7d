"""Pre-registration of approved plans: the sample is fixed, signed and time-stamped before
anything is bought, and anyone can check it later without our database.

Why: a plan's estimates are only honest if nobody could pick the listings after seeing
prices, sellers or early lab results.  When a supervisor approves a plan,
:func:`approve_and_register` writes the manifest of :mod:`sampler.registration` (frame hash,
design, seed, every unit's π, the items), signs it with the installation key and has every
configured TSA time-stamp it (:func:`evidence.seal.seal`, the machinery evidence packs use).
The result is one self-contained JSON file, the **registration bundle**, stored by its SHA-256
(``store.artifacts``, an ``Artifact`` with role ``plan_registration``) and named by the audit
event ``plan.registered``.  This module sits in the composing layer because the sampler must
not import evidence.

:func:`verify_bundle` checks a bundle offline: the signature and the stamp record against the
trust anchors (this installation's keys and trusted TSA CAs, plus any given), the manifest's
own consistency, and — when the plan is at hand — that the stored plan still is the
registered one, that its frozen frame still hashes to the registered SHA-256, and that the
first token's time precedes every purchase of the plan.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence.hashing import pretty_json, sha256_bytes
from evidence.keys import load_public
from evidence.seal import NamedChecks, check_seal, seal
from evidence.trust import TrustAnchors
from sampler.plans import approve_plan
from sampler.registration import (
    FORMAT,
    compare_with_plan,
    registration_manifest,
    registration_of,
)
from store.artifacts import ArtifactStore
from store.errors import InvalidInput, NotFound
from store.messages import Said
from store.models import Artifact, AuditEvent, Plan, PlanItem, Purchase
from store.settings import Settings

BUNDLE_FORMAT = "spotcheck-plan-registration-bundle/1"
ROLE = "plan_registration"
DOCUMENT = "plan-registration.json"


def approve_and_register(session: Session, plan_id: int, actor: str, role: str,
                         comment: str | None, settings: Settings) -> tuple[Plan, dict[str, Any]]:
    """Approve *plan_id* (four eyes, :func:`sampler.plans.approve_plan`) and pre-register it
    in the same transaction: an approved plan always has its registration."""
    plan = approve_plan(session, plan_id, actor, role, comment)
    detail = register_plan(session, plan, settings, actor=actor)
    if settings.capture_offers:
        _capture_offers_after_commit(session, plan.id, settings, actor)
    return plan, detail


def _capture_offers_after_commit(session: Session, plan_id: int, settings: Settings,
                                 actor: str) -> None:
    """Queue the captures of every item's listing (scheduler.offers) in the approval's own
    transaction: a ``queued`` job run that survives this process (scheduler.runs.enqueue);
    once committed (the job must see the plan approved) a thread here starts it, and if this
    process dies first the scheduler does.  A rolled-back approval queues nothing.  Every
    caller (console, CLI, demo, scheduler) approves through here."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from scheduler.runs import enqueue, queue_run
    from store.db import Database

    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    plan = session.get(Plan, plan_id)
    campaign_id = plan.campaign_id if plan is not None else None
    key = enqueue(session, "offers", campaign_id, {"plan_id": plan_id, "actor": actor})

    def start(_session: Session) -> None:
        queue_run(Database(engine), settings, key, holder=f"approval:{actor}")

    event.listen(session, "after_commit", start, once=True)


def register_plan(session: Session, plan: Plan, settings: Settings, *,
                  actor: str) -> dict[str, Any]:
    """Sign and time-stamp the plan's manifest; store the bundle; return the audit detail."""
    manifest = pretty_json(registration_manifest(session, plan, settings))
    sealed = seal(manifest, settings, name=DOCUMENT)
    key_pem = (settings.keys_dir / "installation-ed25519.pub.pem")
    files = sealed.files(DOCUMENT)
    bundle = pretty_json({
        "format": BUNDLE_FORMAT,
        "manifest": manifest.decode("utf-8"),
        "manifest_sha256": sha256_bytes(manifest),
        "signature": sealed.signature,
        "key_fingerprint": sealed.key_fingerprint,
        "public_key_pem": key_pem.read_text() if key_pem.exists() else None,
        "tsa_urls": list(settings.tsa_urls),
        "tokens": {name: base64.b64encode(data).decode("ascii")
                   for name, data in files.items() if name.endswith(".tsr")},
        "stamps": sealed.record.decode("utf-8"),
        "stamps_signature": sealed.record_signature,
    })
    stored = ArtifactStore(settings.artifacts_dir).put(bundle)
    session.add(Artifact(capture_id=None, role=ROLE, sha256=stored.sha256, size=len(bundle),
                         media_type="application/json"))
    detail = {"bundle_sha256": stored.sha256, "manifest_sha256": sha256_bytes(manifest),
              "key_fingerprint": sealed.key_fingerprint,
              "timestamps": [{"tsa_url": t.tsa_url, "gen_time": t.gen_time.isoformat()}
                             for t in sealed.tokens],
              "failed_tsas": [f.tsa_url for f in sealed.failures]}
    session.add(AuditEvent(actor=actor, action="plan.registered", object_type="plan",
                           object_id=str(plan.id), detail=detail))
    session.flush()
    return detail


def bundle_of(session: Session, plan_id: int, settings: Settings) -> bytes:
    """The stored registration bundle of a plan (NotFound when it was never registered)."""
    reg = registration_of(session, plan_id)
    if reg is None:
        raise NotFound("preregistration.plan_has_pre_registration_approved", plan_id=plan_id)
    return ArtifactStore(settings.artifacts_dir).read(reg["bundle_sha256"])


@dataclass
class RegistrationReport(NamedChecks):
    """Named checks of one bundle (:class:`evidence.seal.NamedChecks`); ``ok`` when there is
    at least one and all passed."""

    plan_id: int | None = None
    registered_at: str | None = None
    manifest_sha256: str = ""

    def said_detail(self, index: int) -> Said | str:
        """A check's detail as a refusal's parameter (read in the refusal's language)."""
        code, params = self.codes[index]
        return Said(code, params) if code else self.checks[index][2]

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "plan_id": self.plan_id, "registered_at": self.registered_at,
                "manifest_sha256": self.manifest_sha256,
                "checks": [{"check": n, "ok": o, "detail": d, "detail_code": c,
                            "detail_params": p}
                           for (n, o, d), (c, p) in zip(self.checks, self.codes, strict=True)],
                "warnings": self.warnings}


def is_bundle(data: bytes) -> bool:
    """Whether *data* is a registration bundle at all (JSON naming the bundle format), so a
    wrong file is told apart from a tampered bundle."""
    try:
        outer = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(outer, dict) and outer.get("format") == BUNDLE_FORMAT


def verify_bundle(data: bytes, anchors: TrustAnchors, *, session: Session | None = None,
                  settings: Settings | None = None) -> RegistrationReport:
    """Check a registration bundle (see the module docstring); never raises on bad content."""
    report = RegistrationReport()
    try:
        outer = json.loads(data)
        if outer.get("format") != BUNDLE_FORMAT:
            raise ValueError(f"format {outer.get('format')!r}")
        manifest_bytes = str(outer["manifest"]).encode("utf-8")
        manifest = json.loads(manifest_bytes)
        tokens = {name: base64.b64decode(b64, validate=True)
                  for name, b64 in (outer.get("tokens") or {}).items()}
    except (ValueError, KeyError, TypeError) as exc:
        report.said("bundle", False, "not_bundle", error=str(exc))
        return report
    report.manifest_sha256 = sha256_bytes(manifest_bytes)
    report.plan_id = (manifest.get("plan") or {}).get("id")
    carried = None
    if outer.get("public_key_pem"):
        try:
            carried = load_public(str(outer["public_key_pem"]).encode("ascii"))
        except InvalidInput:
            carried = None
    sealed = check_seal(anchors, DOCUMENT, manifest_bytes, signature=outer.get("signature"),
                        key_fingerprint=str(outer.get("key_fingerprint") or ""),
                        carried_key=carried, tokens=tokens,
                        record=(outer.get("stamps") or "").encode("utf-8") or None,
                        record_signature=outer.get("stamps_signature"),
                        declared_tsas=list(outer.get("tsa_urls") or []))
    report.checks.extend(sealed.checks)
    report.codes.extend(sealed.codes)
    report.warnings.extend(sealed.warnings)
    report.warned.extend(sealed.warned)
    times = sorted(t["gen_time"] for t in sealed.tokens if t.get("ok") and t.get("gen_time"))
    report.registered_at = times[0] if times else None
    if manifest.get("format") == FORMAT and _consistent(manifest):
        report.said("manifest", True, "registration_consistent")
    else:
        report.said("manifest", False, "registration_inconsistent")
    if session is not None and report.plan_id is not None:
        _check_against_store(session, settings, manifest, report)
    return report


def _consistent(manifest: dict[str, Any]) -> bool:
    pis = {int(i): float(p) for i, p in manifest.get("frame_pi", [])}
    items = manifest.get("items", [])
    return all(abs(pis.get(int(d["listing_id"]), -1.0) - float(d["pi"])) <= 1e-12
               for d in items) and len(items) == manifest.get("sample_size")


def _check_against_store(session: Session, settings: Settings | None,
                         manifest: dict[str, Any], report: RegistrationReport) -> None:
    plan = session.get(Plan, report.plan_id)
    if plan is None:
        report.warn("warn_plan_elsewhere", plan=str(report.plan_id))
        return
    problems = compare_with_plan(manifest, plan)
    if problems:
        report.said("plan unchanged", False, "problems", problems=problems)
    else:
        report.said("plan unchanged", True, "plan_unchanged", plan=plan.id,
                    n=plan.sample_size)
    if settings is not None:
        try:
            frame = ArtifactStore(settings.artifacts_dir).read(plan.frame_sha256)
        except (NotFound, Exception) as exc:  # a missing or altered frame file
            report.said("frame file", False, "frame_unreadable", error=str(exc))
        else:
            report.said("frame file", sha256_bytes(frame) == manifest["frame"]["sha256"],
                        "frame_hash", sha=plan.frame_sha256[:16])
    first = session.scalar(
        select(Purchase.created_at).join(PlanItem, Purchase.plan_item_id == PlanItem.id)
        .where(PlanItem.plan_id == plan.id).order_by(Purchase.created_at).limit(1))
    ordered = session.scalar(
        select(Purchase.ordered_at).join(PlanItem, Purchase.plan_item_id == PlanItem.id)
        .where(PlanItem.plan_id == plan.id, Purchase.ordered_at.is_not(None))
        .order_by(Purchase.ordered_at).limit(1))
    if report.registered_at is None:
        report.warn("warn_no_trusted_time")
        return
    stamped = dt.datetime.fromisoformat(report.registered_at)
    for label, when in (("first_purchase", first), ("first_order", ordered)):
        if when is None:
            continue
        when_utc = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
        stamped_utc = stamped if stamped.tzinfo else stamped.replace(tzinfo=dt.UTC)
        check = "before first purchase task" if label == "first_purchase" else \
            "before first order"
        report.said(check, stamped_utc <= when_utc,
                    f"registered_{label}" if stamped_utc <= when_utc else f"after_{label}",
                    stamped=stamped_utc.isoformat(), at=when_utc.isoformat())
