"""Checking an evidence pack without our database or network, against trust anchors.

Whoever forges a pack brings a key and a TSA root of their own, so nothing the pack carries
is believed by itself: signatures count only by a key among the verifier's anchors
(:class:`evidence.trust.TrustAnchors`: the installation's current and retired keys, keys
given with ``--trust-key``), timestamps only under an anchored TSA CA.

Checks, each reported on its own with the exact reason when it fails:

* ``files``: every file the manifest lists is present with its size and SHA-256, and no
  file is present that the manifest does not list;
* ``signing key`` / ``signature``: manifest.json is signed by a trusted key (its
  fingerprint is printed either way, to compare with one obtained out of band);
* ``timestamp``: every RFC 3161 response over manifest.json is valid for it and issued
  under a trusted TSA CA; ``stamp record``: the signed list of tokens made, so a removed
  token is a failure;
* ``capture <id>``: each capture's manifest is signed by a trusted (possibly retired) key,
  timestamped under a trusted root, and names exactly the files in its folder with their
  hashes;
* ``custody``: the custody log's hashes, links and sequence.

Hashing is the bulk of the work: stored (uncompressed) members are hashed straight from a
memory map of the zip, on a few threads (hashlib releases the GIL), so verification runs at
disk/SHA-256 speed.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import struct
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence import custody
from evidence.chain import check_chain_files, check_chain_steps
from evidence.hashing import CHUNK
from evidence.keys import fingerprint, load_public, verify_signature
from evidence.seal import check_seal, check_token, describe_key, resolve_key
from evidence.trust import RETIRED, TrustAnchors
from evidence.waczsign import check_wacz
from store.errors import InvalidInput

UNLISTED_OK = ("manifest.json", "manifest.json.sig", "manifest.json.stamps.json",
               "manifest.json.stamps.json.sig")
#: Largest JSON/text member we parse (a hostile pack must not exhaust memory).
MAX_META = 64 << 20


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class VerifyReport:
    """Per-check results; ``ok`` only when every check passed."""

    path: str
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bytes_hashed: int = 0
    key_fingerprint: str = ""
    #: current / retired / given ("" when the key is not trusted)
    key_status: str = ""
    retired_keys: set[str] = field(default_factory=set)
    carried_keys: dict[str, Any] = field(default_factory=dict)
    tokens: list[dict[str, Any]] = field(default_factory=list)
    captures: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def add(self, name: str, ok: bool, detail: str = "") -> None:
        self.checks.append(Check(name, ok, detail))

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "key_fingerprint": self.key_fingerprint,
                "key_status": self.key_status, "retired_keys": sorted(self.retired_keys),
                "tokens": self.tokens, "captures": self.captures, "bytes_hashed": self.bytes_hashed,
                "checks": [c.__dict__ for c in self.checks], "warnings": self.warnings}


def _data_offset(mm: mmap.mmap, info: zipfile.ZipInfo) -> int:
    """Where a member's data starts: after its local header (whose extra field may differ
    from the central directory's)."""
    h = info.header_offset
    if mm[h:h + 4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"bad local header for {info.filename}")
    name_len, extra_len = struct.unpack("<HH", mm[h + 26:h + 30])
    return h + 30 + name_len + extra_len


def _hash_member(zf: zipfile.ZipFile, mm: mmap.mmap | None, info: zipfile.ZipInfo) -> str:
    h = hashlib.sha256()
    if mm is not None and info.compress_type == zipfile.ZIP_STORED:
        start = _data_offset(mm, info)
        end = start + info.file_size
        if end > len(mm):
            raise zipfile.BadZipFile(f"{info.filename} is truncated")
        for pos in range(start, end, CHUNK):
            h.update(mm[pos:min(pos + CHUNK, end)])
    else:
        with zf.open(info) as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
    return h.hexdigest()


def _read(zf: zipfile.ZipFile, name: str) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > MAX_META:
        raise InvalidInput("evidence.manifest_too_large", name=name, size=info.file_size)
    return zf.read(info)


def verify_pack(path: Path, *, anchors: TrustAnchors, threads: int = 2) -> VerifyReport:
    """Check the pack at *path* completely against *anchors* (keys and TSA roots the
    verifier trusts: ``TrustAnchors.for_installation(settings, ...)``); never raises for a
    bad pack, reports it."""
    path = Path(path)
    report = VerifyReport(str(path))
    if not path.is_file():
        report.add("pack", False, f"{path} does not exist")
        return report
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        report.add("pack", False, f"not a readable zip file: {exc}")
        return report
    with zf, open(path, "rb") as fh:
        mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if path.stat().st_size else None
        try:
            _verify(zf, mm, report, anchors, threads)
        finally:
            if mm is not None:
                mm.close()
    return report


def _verify(zf: zipfile.ZipFile, mm: mmap.mmap | None, report: VerifyReport,
            anchors: TrustAnchors, threads: int) -> None:
    infos = {i.filename: i for i in zf.infolist() if not i.is_dir()}
    names = [i.filename for i in zf.infolist() if not i.is_dir()]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        report.add("pack", False, f"duplicate entries in the zip: {', '.join(dupes[:5])}")
    if "manifest.json" not in infos:
        report.add("pack", False, "manifest.json is missing")
        return
    try:
        manifest_bytes = _read(zf, "manifest.json")
        manifest = json.loads(manifest_bytes)
        listed: dict[str, dict[str, Any]] = manifest["files"]
    except (ValueError, KeyError, TypeError, InvalidInput) as exc:
        report.add("manifest", False, f"manifest.json is not a pack manifest: {exc}")
        return
    report.add("manifest", True, f"{len(listed)} files listed")

    # -- files: hash everything listed, on a few threads ----------------------------------
    problems: list[str] = []
    todo = []
    for name, entry in sorted(listed.items()):
        info = infos.get(name)
        if info is None:
            problems.append(f"missing file {name}")
        elif info.file_size != entry.get("size"):
            problems.append(f"{name}: size {info.file_size} differs from the manifest's "
                            f"{entry.get('size')}")
        else:
            todo.append((name, info, entry))

    def work(item: tuple[str, zipfile.ZipInfo, dict[str, Any]]) -> tuple[str, bool, int]:
        name, info, entry = item
        return name, _hash_member(zf, mm, info) == entry.get("sha256"), info.file_size

    try:
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            for name, same, size in pool.map(work, todo):
                report.bytes_hashed += size
                if not same:
                    problems.append(f"{name}: SHA-256 differs from the manifest (altered)")
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        problems.append(f"the zip is damaged: {exc}")
    tsr_names = {n for n in infos if n.startswith("manifest.json.") and n.endswith(".tsr")}
    extra = sorted(set(infos) - set(listed) - set(UNLISTED_OK) - tsr_names)
    for name in extra:
        problems.append(f"unlisted file {name} (added)")
    report.add("files", not problems,
               "; ".join(problems[:20]) + (f" (+{len(problems) - 20} more)"
                                           if len(problems) > 20 else "")
               if problems else f"{len(todo)} files, {report.bytes_hashed} bytes match")

    # -- the pack's key, signature and timestamps: against the trust anchors ---------------
    carried = None
    try:
        carried = load_public(_read(zf, manifest.get("public_key", "public_key.pem")))
    except (KeyError, InvalidInput) as exc:
        report.warnings.append(f"the pack carries no usable public key: {exc}")
    claimed = str(manifest.get("key_fingerprint") or "")
    report.key_fingerprint = claimed
    if carried is not None and fingerprint(carried) != claimed:
        report.add("public key", False, "the pack's public_key.pem is not the key the "
                   f"manifest names ({fingerprint(carried)} ≠ {claimed})")
    carried_keys = _carried_keys(zf, manifest, carried)
    report.carried_keys = carried_keys
    tokens = {n: _read(zf, n) for n in sorted(tsr_names)}
    timestamping = manifest.get("timestamping")
    seal_check = check_seal(
        anchors, "manifest.json", manifest_bytes, signature=_text(zf, "manifest.json.sig"),
        key_fingerprint=claimed, carried_key=carried, tokens=tokens,
        record=_bytes(zf, "manifest.json.stamps.json"),
        record_signature=_text(zf, "manifest.json.stamps.json.sig"),
        declared_tsas=None if timestamping is None else list(timestamping.get("tsa_urls", [])))
    report.key_status = seal_check.key_status
    report.tokens = seal_check.tokens
    for name, ok, detail in seal_check.checks:
        report.add(name, ok, detail)
    report.warnings.extend(seal_check.warnings)

    # -- the WACZ's own signature (WACZ Signing and Verification spec) ---------------------
    wacz = manifest.get("wacz") or {}
    if wacz.get("signed"):
        try:
            with zf.open(str(wacz.get("file", "archive.wacz"))) as fh:
                ok, detail = check_wacz(
                    fh, ca_fingerprints={str(wacz.get("signing_ca_fingerprint"))},
                    tsa_anchor=lambda r, d, t: check_token(anchors, r, d, t))
        except (KeyError, zipfile.BadZipFile, OSError) as exc:
            ok, detail = False, f"archive.wacz is unreadable: {exc}"
        report.add("wacz signature", ok, detail)
    elif wacz:
        report.warnings.append("archive.wacz is not signed"
                               + (f" ({'; '.join(wacz['errors'])[:300]})"
                                  if wacz.get("errors") else " (no TSA was configured)"))

    # -- captures --------------------------------------------------------------------------
    caps = manifest.get("captures") or []
    report.captures = len(caps)
    for cap in caps:
        _check_capture(zf, cap, anchors, carried_keys, report, listed)

    # -- the sample chain (a failed sample's case) ------------------------------------------
    if manifest.get("sample_chain"):
        _check_chain(zf, manifest["sample_chain"], anchors, claimed, carried, report, listed)

    # -- custody ---------------------------------------------------------------------------
    cinfo = manifest.get("custody") or {}
    try:
        raw = _read(zf, cinfo.get("file", "custody.jsonl")).decode("utf-8")
        events = [json.loads(line) for line in raw.splitlines() if line.strip()]
    except (KeyError, ValueError, InvalidInput) as exc:
        report.add("custody", False, f"the custody log is missing or unreadable: {exc}")
        return
    chain = custody.check_chain(events)
    problems = list(chain.problems)
    if events and cinfo.get("last_hash") and events[-1].get("hash") != cinfo["last_hash"]:
        problems.append("the last custody event is not the one the manifest names")
    if cinfo.get("events") is not None and cinfo["events"] != len(events):
        problems.append(f"{len(events)} custody events, the manifest says {cinfo['events']}")
    cap_ids = {c.get("id") for c in caps}
    created = {e.get("capture_id") for e in events if e.get("action") == "created"}
    for cid in sorted(i for i in cap_ids if i not in created):
        problems.append(f"no 'created' custody event for capture {cid}")
    report.add("custody", not problems,
               "; ".join(problems[:10]) if problems else f"{len(events)} events chain")


def _check_chain(zf: zipfile.ZipFile, info: dict[str, Any], anchors: TrustAnchors,
                 key_fingerprint: str, carried: Ed25519PublicKey | None, report: VerifyReport,
                 listed: dict[str, dict[str, Any]]) -> None:
    """The sample chain: its own seal (signature, tokens, stamp record) against the trust
    anchors, and every file it names present with the hash it records."""
    name = str(info.get("file") or "")
    data = _bytes(zf, name)
    if data is None:
        report.add("sample chain", False, f"{name or 'the sample chain'} is missing")
        return
    tokens = {n: _read(zf, n) for n in zf.namelist()
              if n.startswith(f"{name}.") and n.endswith(".tsr")}
    sealed = check_seal(anchors, name, data, signature=_text(zf, f"{name}.sig"),
                        key_fingerprint=key_fingerprint, carried_key=carried, tokens=tokens,
                        record=_bytes(zf, f"{name}.stamps.json"),
                        record_signature=_text(zf, f"{name}.stamps.json.sig"),
                        declared_tsas=list(info.get("tsa_urls") or []))
    for check, ok, detail in sealed.checks:
        report.add(f"sample chain {check}", ok, detail)
    report.tokens.extend(sealed.tokens)
    report.warnings.extend(sealed.warnings)
    try:
        chain = json.loads(data)
    except ValueError as exc:
        report.add("sample chain", False, f"{name} is unreadable: {exc}")
        return
    problems = check_chain_files(chain, listed)

    def key_for(fp: str) -> tuple[Any, str]:
        key, status, why = resolve_key(anchors, fp, carried)
        if status == RETIRED:
            report.retired_keys.add(fp)
        return key, why

    # each step as signed when it was recorded (evidence.steplog), not only at export
    recorded, unsigned = check_chain_steps(chain, key_for)
    signed = len(chain.get("purchase_history") or []) - unsigned
    report.add("sample chain steps", not recorded, "; ".join(recorded) if recorded else
               f"{signed} entries signed as they were recorded, in order")
    if unsigned:
        report.warnings.append(f"sample chain: {unsigned} entries were recorded before steps "
                               "were signed; only the export's seal covers them")
    steps = [s.get("step") for s in chain.get("steps") or []]
    report.add("sample chain", not problems, "; ".join(problems) if problems else
               f"{len(steps)} steps ({', '.join(map(str, steps))}), "
               f"{len(chain.get('files') or {})} files match"
               + (f"; not recorded: {', '.join(chain['missing'])}"
                  if chain.get("missing") else ""))


def _bytes(zf: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        return _read(zf, name)
    except (KeyError, InvalidInput):
        return None


def _text(zf: zipfile.ZipFile, name: str) -> str | None:
    data = _bytes(zf, name)
    return None if data is None else data.decode("ascii", "replace")


def _carried_keys(zf: zipfile.ZipFile, manifest: dict[str, Any],
                  carried: Ed25519PublicKey | None) -> dict[str, Ed25519PublicKey]:
    """Public keys the pack brings (its own and those that signed its captures), by
    fingerprint: only ever used for a key the verifier anchored by fingerprint."""
    keys: dict[str, Ed25519PublicKey] = {}
    if carried is not None:
        keys[fingerprint(carried)] = carried
    for path in (manifest.get("keys") or {}).values():
        try:
            k = load_public(_read(zf, str(path)))
        except (KeyError, InvalidInput):
            continue
        keys[fingerprint(k)] = k
    return keys


def _check_capture(zf: zipfile.ZipFile, cap: dict[str, Any], anchors: TrustAnchors,
                   carried_keys: dict[str, Ed25519PublicKey], report: VerifyReport,
                   listed: dict[str, dict[str, Any]]) -> None:
    label = f"capture {cap.get('id')}"
    mpath = cap.get("manifest", "")
    try:
        mbytes = _read(zf, mpath)
        cman = json.loads(mbytes)
    except (KeyError, ValueError, InvalidInput) as exc:
        report.add(label, False, f"its manifest {mpath} is missing or unreadable: {exc}")
        return
    problems = []
    if hashlib.sha256(mbytes).hexdigest() != cap.get("manifest_sha256"):
        problems.append("its manifest's SHA-256 differs from the pack manifest's")
    fp = str(cman.get("key_fingerprint") or report.key_fingerprint)
    key, status, why = resolve_key(anchors, fp, carried_keys.get(fp))
    if key is None:
        problems.append(f"its manifest is {why}")
    else:
        if status == RETIRED:
            report.retired_keys.add(fp)
        try:
            sig = _read(zf, cap.get("signature", "")).decode("ascii", "replace")
        except (KeyError, InvalidInput):
            problems.append("its manifest signature is missing")
        else:
            if not verify_signature(key, mbytes, sig):
                problems.append("its manifest signature is invalid")
    folder = mpath.rsplit("/", 1)[0]
    for art in cman.get("artifacts", []):
        p = f"{folder}/{art.get('name')}"
        try:
            info = zf.getinfo(p)
        except KeyError:
            problems.append(f"{p} is missing")
            continue
        if info.file_size != art.get("size"):
            problems.append(f"{p}: size differs from the capture manifest")
        elif cap.get("files", {}).get(art.get("role")) != p:
            problems.append(f"{p}: not the file the pack manifest names for {art.get('role')}")
    # The bytes themselves were hashed once in the files check; the pack manifest's hashes
    # must agree with the capture manifest's (signed at capture time).
    for art in cman.get("artifacts", []):
        p = f"{folder}/{art.get('name')}"
        if p in listed and listed[p].get("sha256") != art.get("sha256"):
            problems.append(f"{p}: hash differs from the signed capture manifest")
    report.add(label, not problems, "; ".join(problems) if problems else
               f"{len(cman.get('artifacts', []))} files signed at capture time by "
               f"{describe_key(status, fp)}")
    names = list(cap.get("timestamps", []))
    if not names:
        report.warnings.append(f"{mpath} has no RFC 3161 timestamp")
    digest = hashlib.sha256(mbytes).digest()
    for name in names:
        data = _bytes(zf, name)
        if data is None:
            report.add(f"{label} timestamp {name}", False, f"{name} is missing (removed)")
            continue
        ok, detail, tinfo = check_token(anchors, data, digest, mpath)
        report.add(f"{label} timestamp {name}", ok, detail)
        report.tokens.append({"file": name, "ok": ok, **tinfo})
