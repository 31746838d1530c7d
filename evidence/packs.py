"""Evidence packs: one zip that anyone can check without our database.

Layout (every file except the manifest and its signature/tokens is listed in the manifest
with its SHA-256 and size)::

    manifest.json               what the pack holds; signed and timestamped
    manifest.json.sig           Ed25519 signature (base64) of manifest.json
    manifest.json.<n>.tsr       RFC 3161 responses over manifest.json, one per TSA
    manifest.json.stamps.json   signed record of the tokens made and the TSAs that failed
    public_key.pem              the installation's public key
    keys/<fingerprint>.pub.pem  older (retired) keys that signed captures in the pack
    custody.jsonl               the custody log excerpt (hash chain)
    captures/<id>/...           each capture's files, its manifest, .sig and .tsr files
    renderings/capture-<id>-<role>.png   each screenshot under a banner: URL, capture time
                                (bureau time to the second and UTC), capture id, its SHA-256
    archive.wacz                all captures as a WACZ (replays in ReplayWeb.page), if any
    chain/sample-chain.json     a sample's case: purchase, order, receipt, seal, lab, result
                                (who and when), sealed like the manifest (.sig, .tsr, stamps)
    chain/seal-photo.*, chain/lab-report.*   the files the chain names
    report.zh-CN.{html,pdf}     the report for people, in Chinese
    report.en.{html,pdf}        and in English
    VERIFY.txt                  how to check the pack by hand

Files are stored uncompressed (ZIP_STORED): screenshots, WARCs and the WACZ are compressed
already, and stored members can be hashed straight from a memory map when verifying.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from evidence import custody
from evidence.banner import capture_banners
from evidence.chain import DOCUMENT as CHAIN_DOCUMENT
from evidence.chain import SampleChain, sample_chain
from evidence.covert import is_persona_capture
from evidence.hashing import pretty_json, sha256_file
from evidence.keys import RETIRED_DIR, InstallationKey, load_or_create
from evidence.manifest import MEDIA
from evidence.provenance import provenance_url
from evidence.redact import redacted_copies
from evidence.render import render
from evidence.seal import seal
from evidence.tsa import check_response
from evidence.waczsign import SigningCA, load_or_create_ca, signing_endpoint
from store.artifacts import ArtifactStore
from store.db import Database
from store.errors import InvalidInput, NotFound, ServiceUnavailable, VerificationFailed
from store.models import (
    Artifact,
    Capture,
    CaptureStatus,
    Case,
    CustodyEvent,
    PlanItem,
    Purchase,
    Sample,
    utcnow,
)
from store.printing import PrintJob, print_pdfs
from store.settings import Settings

PACK_FORMAT = "spotcheck-evidence-pack/2"
#: Screenshots that get a banner rendering (evidence.banner) in a pack.
SCREENSHOT_ROLES = ("screenshot_full", "screenshot_viewport", "screenshot_before_overlays",
                    "screenshot_after_overlays")
LOCALES = ("zh-CN", "en")


def find_case(session: Session, ref: str | int) -> Case:
    """A case by number or id."""
    case = session.scalar(select(Case).where(Case.number == str(ref)))
    if case is None and str(ref).isdigit():
        case = session.get(Case, int(ref))
    if case is None:
        raise NotFound("evidence.no_case", ref=ref)
    return case


def case_capture_filter(session: Session, case: Case) -> Any:
    """The captures a case's pack holds: those linked to the case, and those of its listing
    or of its sample's purchase not linked to another case (the listing captured when the
    plan was approved and when it was bought, the order page)."""
    own: list[Any] = []
    if case.listing_id is not None:
        own.append(Capture.listing_id == case.listing_id)
    if case.sample_id is not None:
        bought = select(Sample.purchase_id).where(Sample.id == case.sample_id)
        own.append(Capture.purchase_id.in_(bought))
    if not own:
        return Capture.case_id == case.id
    return or_(Capture.case_id == case.id, and_(Capture.case_id.is_(None), or_(*own)))


def select_captures(session: Session, *, case_id: int | None = None,
                    plan_item_id: int | None = None,
                    capture_ids: list[int] | None = None,
                    allow_empty: bool = False) -> list[Capture]:
    """The successful captures a pack is about (exactly one selector must be given).

    A case's pack may hold none (*allow_empty*): a failed sample's case is evidence by its
    sample chain even before any page of the listing was captured.
    """
    if sum(x is not None and x != [] for x in (case_id, plan_item_id, capture_ids)) != 1:
        raise InvalidInput("evidence.export_needs_one_selector")
    q = select(Capture).where(Capture.status.in_(CaptureStatus.evidence()))  # complete, partial
    if case_id is not None:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound("evidence.no_case", ref=case_id)
        q = q.where(case_capture_filter(session, case))
    elif plan_item_id is not None:
        item = session.get(PlanItem, plan_item_id)
        if item is None:
            raise NotFound("evidence.no_plan_item", plan_item_id=plan_item_id)
        purchases = select(Purchase.id).where(Purchase.plan_item_id == plan_item_id)
        q = q.where(or_(Capture.listing_id == item.listing_id,
                        Capture.purchase_id.in_(purchases)))
    else:
        ids = sorted(set(capture_ids or []))
        found = {c.id: c for c in session.scalars(select(Capture).where(Capture.id.in_(ids)))}
        for cid in ids:
            if cid not in found:
                raise NotFound("evidence.capture", capture_id=cid)
            if found[cid].status not in CaptureStatus.evidence():
                raise InvalidInput("evidence.capture_failed_nothing_to_export", capture_id=cid)
        q = q.where(Capture.id.in_(ids))
    captures = list(session.scalars(q.order_by(Capture.id)))
    if not captures and not allow_empty:
        raise NotFound("evidence.no_successful_captures")
    return captures


def _copy_capture(session: Session, cap: Capture, store: ArtifactStore, root: Path
                  ) -> dict[str, Any]:
    """Write one capture's files under ``captures/<id>/``; returns its manifest entry."""
    folder = root / "captures" / str(cap.id)
    folder.mkdir(parents=True)
    arts = session.scalars(select(Artifact).where(Artifact.capture_id == cap.id)).all()
    tokens: list[str] = []
    files: dict[str, str] = {}
    for art in arts:
        data = store.read(art.sha256)  # VerificationFailed if altered on disk
        if art.role.startswith("timestamp_"):
            name = f"manifest.{art.role.split('_', 1)[1]}.tsr"
            tokens.append(f"captures/{cap.id}/{name}")
        else:
            name = MEDIA[art.role][0] if art.role in MEDIA else art.role
        (folder / name).write_bytes(data)
        files[art.role] = f"captures/{cap.id}/{name}"
    (folder / "manifest.sig").write_text((cap.signature or "") + "\n")
    return {
        "id": cap.id, "kind": cap.kind, "url": cap.url, "final_url": cap.final_url,
        "started_at": cap.meta.get("started_at"), "finished_at": cap.meta.get("finished_at"),
        "operator": cap.operator, "purpose": cap.purpose, "listing_id": cap.listing_id,
        "case_id": cap.case_id, "persona": cap.meta.get("persona"),
        "manifest": files["manifest"], "manifest_sha256": cap.manifest_sha256,
        "signature": f"captures/{cap.id}/manifest.sig", "timestamps": sorted(tokens),
        "files": files, "facts": cap.facts, "server_ip": cap.meta.get("server_ip"),
        "uuid": cap.meta.get("uuid"), "previous_capture_id": cap.previous_capture_id,
        "status": cap.status.value, "partial": cap.meta.get("partial") or [],
    }


def _wacz(root: Path, entries: list[dict[str, Any]], work: Path, *,
          signer: tuple[SigningCA, str] | None = None, tsa_urls: list[str] | None = None
          ) -> dict[str, Any]:
    """``archive.wacz`` of every capture's WARC, with one page per capture, signed as the
    WACZ spec describes (evidence.waczsign) when a TSA is configured; returns what the
    manifest says of it."""
    pages = work / "pages.jsonl"
    lines = [json.dumps({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"})]
    warcs = []
    for e in entries:
        src = root / e["files"]["warc"]
        dst = work / f"capture-{e['id']}.warc.gz"
        shutil.copyfile(src, dst)
        warcs.append(str(dst))
        ts = dt.datetime.fromisoformat(e["started_at"]).astimezone(dt.UTC)
        lines.append(json.dumps({"url": e["final_url"] or e["url"],
                                 "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                 "title": (e["facts"] or {}).get("title") or e["url"]},
                                ensure_ascii=False))
        if e.get("uuid"):  # the provenance page the capture's WARC holds, as its own page
            lines.append(json.dumps({"url": provenance_url(e["uuid"]),
                                     "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                     "title": f"取证来源说明 Provenance · capture {e['id']}"},
                                    ensure_ascii=False))
    pages.write_text("\n".join(lines) + "\n", encoding="utf-8")
    wacz_bin = Path(sys.executable).with_name("wacz")
    cmd = [str(wacz_bin)] if wacz_bin.exists() else [sys.executable, "-m", "wacz"]
    base = [*cmd, "create", "-o", str(root / "archive.wacz"), "-c", "-p", str(pages),
            "--title", "spotcheck evidence", *warcs]
    info: dict[str, Any] = {"file": "archive.wacz", "signed": False}
    errors: list[str] = []
    if signer is not None:
        ca, domain = signer
        (root / "wacz-ca.pem").write_bytes(ca.pem())
        info.update({"signing_ca": "wacz-ca.pem", "signing_ca_fingerprint": ca.fingerprint,
                     "domain": domain})
        for url in tsa_urls or []:
            try:
                with signing_endpoint(ca, domain, url) as (sign_url, token):
                    proc = subprocess.run([*base, "--signing-url", sign_url,
                                           "--signing-token", token],
                                          capture_output=True, text=True, timeout=600)
            except ServiceUnavailable as exc:
                errors.append(f"{url}: {exc}")
                continue
            if proc.returncode == 0:
                info.update(signed=True, tsa_url=url)
                return info
            errors.append(f"{url}: {proc.stderr.strip()[-200:]}")
        info["errors"] = errors
    proc = subprocess.run(base, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise ServiceUnavailable("evidence.wacz_create_failed", detail=proc.stderr.strip()[-300:])
    return info


def render_pdfs(html_files: list[Path], settings: Settings) -> None:
    """Print each HTML file to a PDF next to it, with Chromium (fonts from the system)."""
    print_pdfs([PrintJob(html, html.with_suffix(".pdf"), margin_mm=(10, 10, 10, 10))
                for html in html_files], settings)


VERIFY_TEXT = """\
How to verify this evidence pack / 如何核验本证据包
=================================================

Signing key fingerprint (SHA-256 of the raw 32-byte Ed25519 public key) / 签名公钥指纹:
    {fingerprint}
Time-stamping authorities' root certificates (SHA-256 of the DER certificate) / 时间戳机构根证书指纹:
{tsa_roots}
A pack proves nothing by itself: anyone can make a key and a "TSA root" of their own.
Compare these fingerprints with the ones the issuing office publishes (for example with
`spotcheck evidence key show` on its installation) before trusting the pack.
证据包本身不能自证来源：任何人都可以自制密钥和"时间戳根证书"。请先将上述指纹与签发机关
通过其他渠道公布的指纹（如其 `spotcheck evidence key show` 的输出）核对一致，再信任本证据包。

Compute the fingerprints yourself with plain openssl / 用 openssl 自行计算指纹:
    openssl pkey -pubin -in public_key.pem -outform DER | tail -c 32 | sha256sum
    openssl x509 -in tsa/0-chain.pem -noout -fingerprint -sha256     (the last certificate
      of the chain is the root: split the file, or compare every certificate it holds)
   (openssl prints the certificate fingerprint in upper case with colons; same value.)

1. Automatic / 自动核验:
    spotcheck evidence verify {name}
   It recomputes every hash and checks every signature, timestamp and the custody chain,
   without any database, against the keys and TSA roots the verifying installation trusts
   (its own current and retired keys, SPOTCHECK_TRUSTED_TSA_CAS); for a pack from another
   office add what you obtained from it out of band:
    spotcheck evidence verify {name} --trust-key FINGERPRINT_OR_PEM --trust-tsa-ca ROOT.pem
   无需数据库，逐项重新计算并报告；只信任本机密钥（含已退役密钥）与配置的时间戳根证书，
   外单位证据包须用 --trust-key / --trust-tsa-ca 指定经核对的指纹或证书。

2. By hand / 手工核验:
   a) Every file listed in manifest.json ("files") must exist with that SHA-256 and size,
      and no other file may be present (except manifest.json.sig, manifest.json.*.tsr and
      manifest.json.stamps.json[.sig]):
        sha256sum <file>
   b) manifest.json.sig is a base64 Ed25519 signature of manifest.json by public_key.pem:
        base64 -d manifest.json.sig > sig.bin
        openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile sig.bin
      Each capture's captures/<id>/manifest.sig signs captures/<id>/manifest.json the same
      way (by the key its "key_fingerprint" names: public_key.pem or keys/<fingerprint>.pub.pem).
      manifest.json.stamps.json.sig signs manifest.json.stamps.json, which lists every
      token made over manifest.json (a missing one was removed) and every TSA that failed.
   c) Each .tsr is an RFC 3161 time-stamp response over the file it sits next to:
        openssl ts -verify -data manifest.json -in manifest.json.0.tsr -CAfile tsa-root.pem
      where tsa-root.pem is the TSA root certificate YOU trust (obtained out of band), not
      one taken from this pack.
   d) custody.jsonl: each line's "hash" is SHA-256 of the canonical JSON (sorted keys, no
      spaces, UTF-8) of its other fields; "prev_hash" is the hash of the line before.
   e) archive.wacz opens in https://replayweb.page ; `wacz validate -f archive.wacz`.
   f) chain/sample-chain.json (a failed sample's case), "purchase_history": each step was
      signed when it was recorded.  An item's "hash" is SHA-256 of the canonical JSON of its
      "entry" (which holds "prev" and "key"); "prev" is the hash of the item before (64 zeros
      for the first); "sig" is a base64 Ed25519 signature of the hash's 64 hex characters by
      the key whose fingerprint "key" names.  Each step's "recorded" names the item it was
      read from.  样品流转的每一步在登记时即已签名：逐条核对哈希、前一条哈希和签名。
"""


#: Why a covert buyer's capture is left out of a pack by default.
WITHHELD_REASON = ("covert buyer capture: shows the buyer persona's account, drop address and "
                   "payment reference; its redacted copy (if made) is in the pack instead")


def _withheld(cap: Capture) -> dict[str, Any]:
    """What a pack says of a capture it leaves out: enough to check it if disclosed later."""
    return {"id": cap.id, "kind": cap.kind, "started_at": cap.meta.get("started_at"),
            "manifest_sha256": cap.manifest_sha256, "signature": cap.signature,
            "reason": WITHHELD_REASON}


def shows_personas(manifest: dict[str, Any]) -> bool:
    """Whether a pack (its manifest) holds captures that show a buyer persona: then only
    those who may see persona details may open it (packs made before the manifest listed
    them are judged by each capture's recorded persona)."""
    if manifest.get("persona_captures"):
        return True
    return any(c.get("persona") for c in manifest.get("captures") or [])


def export_pack(db: Database, *, case_id: int | None = None, plan_item_id: int | None = None,
                capture_ids: list[int] | None = None, out: Path, actor: str,
                settings: Settings, pdf: bool = True,
                include_persona_captures: bool = False) -> Path:
    """Build a self-verifying evidence pack at *out* and record the export in custody.

    Captures made in a buyer persona's browser (order pages) show the persona's secrets, so
    they are *withheld* unless *include_persona_captures*: the signed manifest still lists each
    one (id, kind, manifest hash and signature), so a copy disclosed later can be checked
    against this pack.

    The pack is built by :data:`PACK_STEPS`, in order, in a scratch directory; a failing step
    is recorded in custody as ``export_failed`` (the ``exported`` event is already written
    by then) and the scratch directory is removed either way.
    """
    out = Path(out)
    if out.suffix.lower() != ".zip":
        raise InvalidInput("evidence.pack_must_be_zip", name=out.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    store = ArtifactStore(settings.artifacts_dir)
    key = load_or_create(settings.keys_dir)
    sel = _select_for_pack(db, store, case_id=case_id, plan_item_id=plan_item_id,
                           capture_ids=capture_ids, out_name=out.name, actor=actor,
                           include_persona_captures=include_persona_captures)
    settings.packs_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pack-", dir=settings.packs_dir))
    try:
        root = work / "pack"
        root.mkdir()
        build = PackBuild(db=db, settings=settings, store=store, key=key, out=out,
                          actor=actor, pdf=pdf, case_id=case_id, plan_item_id=plan_item_id,
                          sel=sel, work=work, root=root)
        for _name, step in PACK_STEPS:
            step(build)
    except BaseException as exc:
        with db.session() as s:
            custody.record(s, "export_failed", actor, case_id=case_id,
                           detail={"captures": sel.ids, "pack": out.name,
                                   "error": str(exc)[:300]})
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


@dataclass
class PackSelection:
    """What goes in a pack, fixed (and the export recorded in custody) before any file is
    written: capture ids, which of them show a persona, the withheld captures, the case and
    its sample chain, the ``exported`` custody event."""

    ids: list[int]
    persona_ids: set[int]
    withheld: list[dict[str, Any]]
    case: Case | None
    chain: SampleChain | None
    export_event_id: int


def _select_for_pack(db: Database, store: ArtifactStore, *, case_id: int | None,
                     plan_item_id: int | None, capture_ids: list[int] | None, out_name: str,
                     actor: str, include_persona_captures: bool) -> PackSelection:
    """Choose the captures, withhold the persona captures (their redacted copies go in
    instead, each naming its original's manifest hash and signature), and record the export
    in custody in the same transaction, so the excerpt in the pack includes its own export."""
    chain: SampleChain | None = None
    with db.session() as s:
        caps = select_captures(s, case_id=case_id, plan_item_id=plan_item_id,
                               capture_ids=capture_ids, allow_empty=case_id is not None)
        withheld = [] if include_persona_captures else [
            _withheld(c) for c in caps if is_persona_capture(c)]
        caps = [c for c in caps if include_persona_captures or not is_persona_capture(c)]
        # A withheld persona capture goes in as its redacted copy (evidence.redact), which
        # names the original's manifest hash and signature.
        copies = redacted_copies(s, [w["id"] for w in withheld])
        have = {c.id for c in caps}
        for w in withheld:
            w["redacted_copy"] = copies.get(w["id"])
        extra = sorted(set(copies.values()) - have)
        if extra:
            caps += list(s.scalars(select(Capture).where(Capture.id.in_(extra))))
            caps.sort(key=lambda c: c.id)
        if not caps and case_id is None:
            raise InvalidInput("evidence.persona_captures_withheld")
        ids = [c.id for c in caps]
        persona_ids = {c.id for c in caps if is_persona_capture(c)}
        case = s.get(Case, case_id) if case_id is not None else None
        if case is not None:
            chain = sample_chain(s, case, store)
        event = custody.record(s, "exported", actor, case_id=case_id,
                               detail={"captures": ids, "pack": out_name,
                                       "plan_item_id": plan_item_id,
                                       "withheld": [w["id"] for w in withheld],
                                       "sample_chain": chain is not None})
        export_event_id = event.id
    return PackSelection(ids=ids, persona_ids=persona_ids, withheld=withheld, case=case,
                         chain=chain, export_event_id=export_event_id)


@dataclass
class PackBuild:
    """A pack being built: its inputs, the scratch directory (*root* is what gets zipped)
    and what each step leaves for the later ones (the manifest and reports describe it all)."""

    db: Database
    settings: Settings
    store: ArtifactStore
    key: InstallationKey
    out: Path
    actor: str
    pdf: bool
    case_id: int | None
    plan_item_id: int | None
    sel: PackSelection
    work: Path
    root: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    carried_keys: dict[str, str] = field(default_factory=dict)
    wacz_info: dict[str, Any] | None = None
    chain_info: dict[str, Any] | None = None
    tsa_roots: dict[str, dict[str, str]] = field(default_factory=dict)
    created: str = ""
    title: str = ""
    pack_info: dict[str, Any] = field(default_factory=dict)


def _copy_captures(b: PackBuild) -> None:
    """Each capture's files, manifest, signature and tokens under ``captures/<id>/``, and
    each screenshot again under a banner (URL, time, id, hash) for people reading it."""
    with b.db.session() as s:
        caps = list(s.scalars(select(Capture).where(Capture.id.in_(b.sel.ids))
                              .order_by(Capture.id)))
        b.entries = [_copy_capture(s, c, b.store, b.root) for c in caps]
    for e in b.entries:
        e["renderings"] = capture_banners(b.root, e, SCREENSHOT_ROLES)


def _custody_excerpt(b: PackBuild) -> None:
    """``custody.jsonl``: the hash-chained log over the captures, the case and this export,
    events in between redacted (:func:`evidence.custody.excerpt`)."""
    case_id = b.case_id
    with b.db.session() as s:
        relevant = set(s.scalars(select(CustodyEvent.id).where(or_(
            CustodyEvent.capture_id.in_(b.sel.ids),
            CustodyEvent.case_id == case_id if case_id is not None else false(),
        ))))
        relevant.add(b.sel.export_event_id)
        b.events = custody.excerpt(s, relevant)
    (b.root / "custody.jsonl").write_text(
        "".join(json.dumps(e, sort_keys=True, ensure_ascii=False) + "\n" for e in b.events),
        encoding="utf-8")


def _public_keys(b: PackBuild) -> None:
    """The installation's public key, and every retired key that signed a capture here."""
    (b.root / "public_key.pem").write_bytes(b.key.public_pem())
    b.carried_keys = _capture_keys(b.root, b.entries, b.key, b.settings)


def _archive(b: PackBuild) -> None:
    """``archive.wacz`` of all captures (signed when TSAs are configured), so the pages
    replay in ReplayWeb.page; none when the pack holds no capture."""
    settings, key = b.settings, b.key
    domain = f"spotcheck-{key.fingerprint[:16]}"
    b.wacz_info = _wacz(b.root, b.entries, b.work, tsa_urls=settings.tsa_urls,
                        signer=(load_or_create_ca(settings.keys_dir, domain), domain)
                        if settings.tsa_urls else None) if b.entries else None


def _sample_chain(b: PackBuild) -> None:
    """The case's sample chain and its files; the chain is sealed on its own (signature,
    tokens, stamp record) as well as listed in the manifest, so it can be shown and checked
    apart from the pack."""
    chain = b.sel.chain
    if chain is None:
        return
    chain.write(b.root)
    sealed_chain = seal(chain.json_bytes(), b.settings, name=CHAIN_DOCUMENT, key=b.key)
    for fname, data in sealed_chain.files(CHAIN_DOCUMENT).items():
        (b.root / fname).write_bytes(data)
    b.chain_info = {"file": CHAIN_DOCUMENT, "tsa_urls": list(b.settings.tsa_urls),
                    "steps": [st["step"] for st in chain.steps],
                    "missing": chain.missing, "files": sorted(chain.files)}


def _timestamp_roots(b: PackBuild) -> None:
    """Read each capture's RFC 3161 tokens (time and TSA, for the report) and carry each
    distinct TSA certificate chain once under ``tsa/``, so the tokens verify offline."""
    for e in b.entries:
        manifest_bytes = (b.root / e["manifest"]).read_bytes()
        digest = hashlib.sha256(manifest_bytes).digest()
        e["timestamp_info"] = []
        for tok in e["timestamps"]:
            chk = check_response((b.root / tok).read_bytes(), digest)
            e["timestamp_info"].append({"file": tok, "gen_time": str(chk.gen_time),
                                        "tsa": chk.tsa_name})
            if chk.ok and chk.root_fingerprint not in b.tsa_roots:
                n = len(b.tsa_roots)
                (b.root / "tsa").mkdir(exist_ok=True)
                (b.root / "tsa" / f"{n}-chain.pem").write_bytes(chk.chain_pem)
                b.tsa_roots[chk.root_fingerprint] = {"subject": chk.root_subject,
                                                     "chain": f"tsa/{n}-chain.pem"}


def _describe(b: PackBuild) -> None:
    """The pack's title, creation time and header facts, shared by reports and manifest."""
    case = b.sel.case
    b.created = utcnow().isoformat()
    b.title = (f"{case.number} {case.title}" if case else
               f"plan item {b.plan_item_id}" if b.plan_item_id else
               "captures " + ", ".join(map(str, b.sel.ids)))
    b.pack_info = {"title": b.title, "created_at": b.created, "actor": b.actor,
                   "key_fingerprint": b.key.fingerprint, "tsa_roots": b.tsa_roots,
                   "wacz_ca": (b.wacz_info or {}).get("signing_ca_fingerprint"),
                   "case": {"number": case.number, "title": case.title,
                            "kind": case.kind} if case else None}


def _reports(b: PackBuild) -> None:
    """The report for people in each locale (HTML, and PDF unless ``pdf=False``)."""
    root, chain = b.root, b.sel.chain
    report_caps = [{"id": e["id"], "kind": e["kind"], "meta": _meta(root, e),
                    "facts": e["facts"] or {}, "manifest_sha256": e["manifest_sha256"],
                    "timestamps": e["timestamp_info"],
                    "thumbnail": e["renderings"].get("screenshot_viewport")
                    or e["files"].get("screenshot_viewport"),
                    "files": _file_rows(root, e)} for e in b.entries]
    htmls = []
    for loc in LOCALES:
        html = root / f"report.{loc}.html"
        html.write_text(render("evidence_report.html", loc, pack=b.pack_info,
                               captures=report_caps, withheld=b.sel.withheld,
                               chain=chain.document if chain else None),
                        encoding="utf-8")
        htmls.append(html)
    if b.pdf:
        render_pdfs(htmls, b.settings)


def _verify_text(b: PackBuild) -> None:
    """``VERIFY.txt``: how to check the pack by hand, with the key and TSA roots to trust."""
    roots_text = "\n".join(f"    {fp}  {r['subject']}" for fp, r in b.tsa_roots.items())
    (b.root / "VERIFY.txt").write_text(VERIFY_TEXT.format(
        fingerprint=b.key.fingerprint, name=b.out.name,
        tsa_roots=roots_text or "    (none / 无)"), encoding="utf-8")


def _manifest(b: PackBuild) -> None:
    """``manifest.json`` listing every file written so far with its SHA-256 and size, then
    sealed (signature, RFC 3161 tokens, stamp record): it must come after every other file."""
    root, events = b.root, b.events
    files = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            files[rel] = {"sha256": sha256_file(p), "size": p.stat().st_size}
    manifest = {
        "format": PACK_FORMAT, "created_at": b.created, "actor": b.actor, "title": b.title,
        "case": b.pack_info["case"], "plan_item_id": b.plan_item_id,
        "key_fingerprint": b.key.fingerprint, "public_key": "public_key.pem",
        "captures": [{k: v for k, v in e.items() if k != "timestamp_info"}
                     for e in b.entries],
        "withheld_captures": b.sel.withheld,
        # included only when asked (include_persona_captures): who may open this pack
        "persona_captures": [e["id"] for e in b.entries if e["id"] in b.sel.persona_ids],
        "custody": {"file": "custody.jsonl", "events": len(events),
                    "first_seq": events[0]["seq"] if events else None,
                    "last_seq": events[-1]["seq"] if events else None,
                    "last_hash": events[-1]["hash"] if events else None},
        "sample_chain": b.chain_info,
        "tsa_roots": b.tsa_roots, "keys": b.carried_keys, "wacz": b.wacz_info,
        "timestamping": {"tsa_urls": list(b.settings.tsa_urls),
                         "record": "manifest.json.stamps.json"},
        "files": files,
    }
    manifest_bytes = pretty_json(manifest)
    (root / "manifest.json").write_bytes(manifest_bytes)
    sealed = seal(manifest_bytes, b.settings, name="manifest.json", key=b.key)
    for fname, data in sealed.files("manifest.json").items():
        (root / fname).write_bytes(data)


def _zip(b: PackBuild) -> None:
    """Zip *root* (stored, see the module docstring) beside *out* and move it into place in
    one rename, so a reader never sees half a pack."""
    tmp_zip = b.out.with_name(f".{b.out.name}.part")
    with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_STORED,
                         allowZip64=True) as zf:
        for p in sorted(b.root.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(b.root).as_posix())
    os.replace(tmp_zip, b.out)


#: The steps of a pack, in order.  The order matters: the WACZ and reports read what the
#: copy wrote, the reports read the TSA facts, and the manifest lists (and so must follow)
#: every other file; the zip comes last.
PACK_STEPS: tuple[tuple[str, Callable[[PackBuild], None]], ...] = (
    ("captures", _copy_captures),
    ("custody", _custody_excerpt),
    ("keys", _public_keys),
    ("wacz", _archive),
    ("sample_chain", _sample_chain),
    ("timestamps", _timestamp_roots),
    ("describe", _describe),
    ("reports", _reports),
    ("verify_text", _verify_text),
    ("manifest", _manifest),
    ("zip", _zip),
)


def _capture_keys(root: Path, entries: list[dict[str, Any]], key: InstallationKey,
                  settings: Settings) -> dict[str, str]:
    """Put the public key of every older key that signed a capture in the pack under
    ``keys/``: a verifier that anchors such a key by fingerprint needs the key itself."""
    out: dict[str, str] = {}
    for e in entries:
        fp = json.loads((root / e["manifest"]).read_bytes()).get("key_fingerprint")
        if not fp or fp == key.fingerprint or fp in out:
            continue
        src = settings.keys_dir / RETIRED_DIR / f"{fp}.pub.pem"
        if not src.is_file():
            raise VerificationFailed("evidence.capture_signed_by_unknown_key",
                                     capture_id=e["id"], fingerprint=fp)
        (root / "keys").mkdir(exist_ok=True)
        (root / "keys" / f"{fp}.pub.pem").write_bytes(src.read_bytes())
        out[fp] = f"keys/{fp}.pub.pem"
    return out


def _meta(root: Path, entry: dict[str, Any]) -> dict[str, Any]:
    path = entry["files"].get("meta")
    return json.loads((root / path).read_text(encoding="utf-8")) if path else {}


def _file_rows(root: Path, entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Each file of a capture with its hash; a file byte-identical to an earlier one (e.g.
    the screenshots before and after overlays when there was none) says so, since three
    equal SHA-256 values in a report otherwise look like an error."""
    rows: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for rel in sorted(set(entry["files"].values()) | {entry["signature"]}):
        p = root / rel
        sha = sha256_file(p)
        rows.append({"path": rel, "sha256": sha, "size": p.stat().st_size,
                     "same_as": seen.get(sha)})
        seen.setdefault(sha, rel)
    return rows
