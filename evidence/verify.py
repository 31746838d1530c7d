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
from evidence.seal import (
    check_seal,
    check_token_said,
    key_said,
    resolve_key_said,
)
from evidence.trust import RETIRED, TrustAnchors
from evidence.waczsign import check_wacz_said
from store.errors import InvalidInput
from store.messages import Said, phrase, render

UNLISTED_OK = ("manifest.json", "manifest.json.sig", "manifest.json.stamps.json",
               "manifest.json.stamps.json.sig")
#: Largest JSON/text member we parse (a hostile pack must not exhaust memory).
MAX_META = 64 << 20


@dataclass
class Check:
    """One check's result. ``detail`` is the English text (what ``--json`` and logs keep);
    ``detail_code``/``detail_params`` say it again as a message of the catalogue
    (``verify_said.*``), so the CLI table and the console read it in the reader's language."""

    name: str
    ok: bool
    detail: str = ""
    detail_code: str = ""
    detail_params: dict[str, Any] = field(default_factory=dict)

    def text(self, locale: str = "en") -> str:
        """The detail in *locale* (an uncoded detail reads as it is)."""
        if not self.detail_code:
            return self.detail
        return render(self.detail_code, self.detail_params, locale)

    def said(self) -> Said | str:
        """The detail as a refusal's parameter (read in the refusal's language)."""
        return Said(self.detail_code, self.detail_params) if self.detail_code else self.detail


def problem(code: str, /, **params: Any) -> dict[str, Any]:
    """One problem of a check, as JSON keeps it: ``verify_said.<code>`` with *params*
    (plain values: an exception is quoted by its own text)."""
    return phrase(f"verify_said.{code}", **params)


def problems_said(problems: list[dict[str, Any]], limit: int | None = None
                  ) -> tuple[str, dict[str, Any]]:
    """A check's detail for several problems: each in the reader's language, the first
    *limit* of them and how many more."""
    if limit is not None and len(problems) > limit:
        return "problems_more", {"problems": problems[:limit], "more": len(problems) - limit}
    return "problems", {"problems": problems}


@dataclass
class VerifyReport:
    """Per-check results; ``ok`` only when every check passed."""

    path: str
    checks: list[Check] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: the same warnings as coded phrases (``verify_said.warn_*``), for the reader's language
    warned: list[dict[str, Any]] = field(default_factory=list)
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

    def said(self, name: str, ok: bool, code: str, /, english: str | None = None,
             **params: Any) -> None:
        """Add a check whose detail is ``verify_said.<code>`` with *params* (its English
        text the rendering, or *english* where the machine output keeps raw codes)."""
        code = code if code.startswith("verify_said.") else f"verify_said.{code}"
        detail = render(code, params, "en") if english is None else english
        self.checks.append(Check(name, ok, detail, code, params))

    def warn(self, code: str, /, **params: Any) -> None:
        """Add the warning ``verify_said.<code>`` (its English text to :attr:`warnings`)."""
        self.warned.append(problem(code, **params))
        self.warnings.append(render(self.warned[-1]["code"], params, "en"))

    def warning_texts(self, locale: str) -> list[str]:
        """The warnings in *locale*."""
        return [render(w["code"], w["params"], locale) for w in self.warned]

    def sealed(self, prefix: str, seal_check: Any) -> None:
        """Add the checks of an :class:`evidence.seal.SealCheck` (names after *prefix*)."""
        for (name, ok, detail), (code, params) in zip(seal_check.checks, seal_check.codes,
                                                      strict=True):
            self.checks.append(Check(f"{prefix}{name}", ok, detail, code, params))

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ok": self.ok, "key_fingerprint": self.key_fingerprint,
                "key_status": self.key_status, "retired_keys": sorted(self.retired_keys),
                "tokens": self.tokens, "captures": self.captures, "bytes_hashed": self.bytes_hashed,
                "checks": [c.__dict__ for c in self.checks], "warnings": self.warnings,
                "warning_codes": self.warned}


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
        report.said("pack", False, "no_file", path=str(path))
        return report
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        report.said("pack", False, "not_zip", error=str(exc))
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
    """Every check of a pack, in order: the manifest, the files it lists, the pack's own
    seal, the WACZ signature, each capture, the sample chain, the custody log.  Only an
    unreadable manifest stops it: every later check is reported, pass or fail, so a reader
    sees everything that is wrong with a pack at once."""
    infos = {i.filename: i for i in zf.infolist() if not i.is_dir()}
    read = _read_manifest(zf, infos, report)
    if read is None:
        return
    manifest_bytes, manifest, listed = read
    tsr_names = _check_files(zf, mm, infos, listed, report, threads)
    claimed, carried, carried_keys = _check_pack_seal(zf, manifest, manifest_bytes, tsr_names,
                                                      anchors, report)
    _check_wacz(zf, manifest, anchors, report)
    caps = manifest.get("captures") or []
    report.captures = len(caps)
    for cap in caps:
        _check_capture(zf, cap, anchors, carried_keys, report, listed)
    if manifest.get("sample_chain"):  # a failed sample's case
        _check_chain(zf, manifest["sample_chain"], anchors, claimed, carried, report, listed)
    _check_custody(zf, manifest, caps, report)


def _read_manifest(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo],
                   report: VerifyReport,
                   ) -> tuple[bytes, dict[str, Any], dict[str, dict[str, Any]]] | None:
    """(manifest bytes, manifest, its file list), or None when there is no readable
    manifest (said in *report*).  Duplicate member names are said too: a zip with two
    members of one name reads differently in different tools."""
    names = [i.filename for i in zf.infolist() if not i.is_dir()]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        report.said("pack", False, "duplicates", names=", ".join(dupes[:5]))
    if "manifest.json" not in infos:
        report.said("pack", False, "no_manifest")
        return None
    try:
        manifest_bytes = _read(zf, "manifest.json")
        manifest = json.loads(manifest_bytes)
        listed: dict[str, dict[str, Any]] = manifest["files"]
    except (ValueError, KeyError, TypeError, InvalidInput) as exc:
        report.said("manifest", False, "bad_manifest", error=str(exc))
        return None
    report.said("manifest", True, "files_listed", n=len(listed))
    return manifest_bytes, manifest, listed


def _check_files(zf: zipfile.ZipFile, mm: mmap.mmap | None, infos: dict[str, zipfile.ZipInfo],
                 listed: dict[str, dict[str, Any]], report: VerifyReport, threads: int,
                 ) -> set[str]:
    """Hash every listed file on a few threads (sizes first: a wrong size needs no hash)
    and say which are missing, altered or added; returns the names of the manifest's
    RFC 3161 tokens, the one kind of member the manifest cannot list (they are made over it)."""
    problems: list[dict[str, Any]] = []
    todo = []
    for name, entry in sorted(listed.items()):
        info = infos.get(name)
        if info is None:
            problems.append(problem("file_missing", name=name))
        elif info.file_size != entry.get("size"):
            problems.append(problem("file_size", name=name, size=info.file_size,
                                    listed=entry.get("size")))
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
                    problems.append(problem("file_altered", name=name))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        problems.append(problem("zip_damaged", error=str(exc)))
    tsr_names = {n for n in infos if n.startswith("manifest.json.") and n.endswith(".tsr")}
    extra = sorted(set(infos) - set(listed) - set(UNLISTED_OK) - tsr_names)
    for name in extra:
        problems.append(problem("file_added", name=name))
    if problems:
        code, params = problems_said(problems, 20)
        report.said("files", False, code, **params)
    else:
        report.said("files", True, "files_match", n=len(todo), bytes=report.bytes_hashed)
    return tsr_names


def _check_pack_seal(zf: zipfile.ZipFile, manifest: dict[str, Any], manifest_bytes: bytes,
                     tsr_names: set[str], anchors: TrustAnchors, report: VerifyReport,
                     ) -> tuple[str, Ed25519PublicKey | None, dict[str, Ed25519PublicKey]]:
    """The pack's key, signature and timestamps against the trust anchors; returns (claimed
    key fingerprint, the key the pack carries, the retired keys it carries) for the
    captures' and the chain's checks."""
    carried = None
    try:
        carried = load_public(_read(zf, manifest.get("public_key", "public_key.pem")))
    except (KeyError, InvalidInput) as exc:
        report.warn("warn_no_public_key", error=str(exc))
    claimed = str(manifest.get("key_fingerprint") or "")
    report.key_fingerprint = claimed
    if carried is not None and fingerprint(carried) != claimed:
        report.said("public key", False, "key_mismatch", carried=fingerprint(carried),
                    claimed=claimed)
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
    report.sealed("", seal_check)
    report.warnings.extend(seal_check.warnings)
    report.warned.extend(seal_check.warned)
    return claimed, carried, carried_keys


def _check_wacz(zf: zipfile.ZipFile, manifest: dict[str, Any], anchors: TrustAnchors,
                report: VerifyReport) -> None:
    """The WACZ's own signature (WACZ Signing and Verification spec), its signing CA named
    by the manifest; an unsigned WACZ is a warning (no TSA was configured, or signing
    failed), not a failure."""
    wacz = manifest.get("wacz") or {}
    if wacz.get("signed"):
        try:
            with zf.open(str(wacz.get("file", "archive.wacz"))) as fh:
                ok, said = check_wacz_said(
                    fh, ca_fingerprints={str(wacz.get("signing_ca_fingerprint"))},
                    tsa_anchor=lambda r, d, t: check_token_said(anchors, r, d, t))
        except (KeyError, zipfile.BadZipFile, OSError) as exc:
            ok, said = False, problem("unreadable", name="archive.wacz", error=str(exc))
        report.said("wacz signature", ok, "phrase", phrase=said)
    elif wacz:
        if wacz.get("errors"):
            report.warn("warn_wacz_unsigned", errors="; ".join(wacz["errors"])[:300])
        else:
            report.warn("warn_wacz_unsigned_no_tsa")


def _check_custody(zf: zipfile.ZipFile, manifest: dict[str, Any],
                   caps: list[Any], report: VerifyReport) -> None:
    """The custody excerpt: its hash chain, its last hash and count as the manifest records
    them, and a ``created`` event for every capture in the pack."""
    cinfo = manifest.get("custody") or {}
    try:
        raw = _read(zf, cinfo.get("file", "custody.jsonl")).decode("utf-8")
        events = [json.loads(line) for line in raw.splitlines() if line.strip()]
    except (KeyError, ValueError, InvalidInput) as exc:
        report.said("custody", False, "custody_unreadable", error=str(exc))
        return
    chain = custody.check_chain(events)
    problems = list(chain.said)
    if events and cinfo.get("last_hash") and events[-1].get("hash") != cinfo["last_hash"]:
        problems.append(problem("custody_last"))
    if cinfo.get("events") is not None and cinfo["events"] != len(events):
        problems.append(problem("custody_count", n=len(events), listed=cinfo["events"]))
    cap_ids = {c.get("id") for c in caps}
    created = {e.get("capture_id") for e in events if e.get("action") == "created"}
    for cid in sorted(i for i in cap_ids if i not in created):
        problems.append(problem("custody_no_created", capture=cid))
    if problems:
        report.said("custody", False, "problems", problems=problems[:10])
    else:
        report.said("custody", True, "custody_chains", n=len(events))


def _check_chain(zf: zipfile.ZipFile, info: dict[str, Any], anchors: TrustAnchors,
                 key_fingerprint: str, carried: Ed25519PublicKey | None, report: VerifyReport,
                 listed: dict[str, dict[str, Any]]) -> None:
    """The sample chain: its own seal (signature, tokens, stamp record) against the trust
    anchors, and every file it names present with the hash it records."""
    name = str(info.get("file") or "")
    data = _bytes(zf, name)
    if data is None:
        if name:
            report.said("sample chain", False, "missing", name=name)
        else:
            report.said("sample chain", False, "chain_unnamed")
        return
    tokens = {n: _read(zf, n) for n in zf.namelist()
              if n.startswith(f"{name}.") and n.endswith(".tsr")}
    sealed = check_seal(anchors, name, data, signature=_text(zf, f"{name}.sig"),
                        key_fingerprint=key_fingerprint, carried_key=carried, tokens=tokens,
                        record=_bytes(zf, f"{name}.stamps.json"),
                        record_signature=_text(zf, f"{name}.stamps.json.sig"),
                        declared_tsas=list(info.get("tsa_urls") or []))
    report.sealed("sample chain ", sealed)
    report.tokens.extend(sealed.tokens)
    report.warnings.extend(sealed.warnings)
    report.warned.extend(sealed.warned)
    try:
        chain = json.loads(data)
    except ValueError as exc:
        report.said("sample chain", False, "unreadable", name=name, error=str(exc))
        return
    problems = check_chain_files(chain, listed)

    def key_for(fp: str) -> tuple[Any, Any]:
        key, status, why = resolve_key_said(anchors, fp, carried)
        if status == RETIRED:
            report.retired_keys.add(fp)
        return key, why

    # each step as signed when it was recorded (evidence.steplog), not only at export
    recorded, unsigned = check_chain_steps(chain, key_for)
    signed = len(chain.get("purchase_history") or []) - unsigned
    if recorded:
        report.said("sample chain steps", False, "problems",
                    problems=recorded)
    else:
        report.said("sample chain steps", True, "chain_steps_signed", n=signed)
    if unsigned:
        report.warn("warn_chain_unsigned", n=unsigned)
    steps = [s.get("step") for s in chain.get("steps") or []]
    if problems:
        report.said("sample chain", False, "problems", problems=problems)
        return
    english = (f"{len(steps)} steps ({', '.join(map(str, steps))}), "
               f"{len(chain.get('files') or {})} files match"
               + (f"; not recorded: {', '.join(chain['missing'])}"
                  if chain.get("missing") else ""))
    params: dict[str, Any] = {"n": len(steps), "chain_step": [str(s) for s in steps],
                              "files": len(chain.get("files") or {})}
    if chain.get("missing"):
        report.said("sample chain", True, "chain_match_missing", english=english,
                    chain_step__missing=[str(m) for m in chain["missing"]], **params)
    else:
        report.said("sample chain", True, "chain_match", english=english, **params)


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
        report.said(label, False, "capture_manifest_unreadable", name=mpath, error=str(exc))
        return
    problems: list[dict[str, Any]] = []
    if hashlib.sha256(mbytes).hexdigest() != cap.get("manifest_sha256"):
        problems.append(problem("capture_manifest_altered"))
    fp = str(cman.get("key_fingerprint") or report.key_fingerprint)
    key, status, why = resolve_key_said(anchors, fp, carried_keys.get(fp))
    if key is None:
        problems.append(problem("capture_key", why=why))
    else:
        if status == RETIRED:
            report.retired_keys.add(fp)
        try:
            sig = _read(zf, cap.get("signature", "")).decode("ascii", "replace")
        except (KeyError, InvalidInput):
            problems.append(problem("capture_signature_missing"))
        else:
            if not verify_signature(key, mbytes, sig):
                problems.append(problem("capture_signature_invalid"))
    folder = mpath.rsplit("/", 1)[0]
    for art in cman.get("artifacts", []):
        p = f"{folder}/{art.get('name')}"
        try:
            info = zf.getinfo(p)
        except KeyError:
            problems.append(problem("missing", name=p))
            continue
        if info.file_size != art.get("size"):
            problems.append(problem("capture_file_size", name=p))
        elif cap.get("files", {}).get(art.get("role")) != p:
            problems.append(problem("capture_file_role", name=p, role=str(art.get("role"))))
    # The bytes themselves were hashed once in the files check; the pack manifest's hashes
    # must agree with the capture manifest's (signed at capture time).
    for art in cman.get("artifacts", []):
        p = f"{folder}/{art.get('name')}"
        if p in listed and listed[p].get("sha256") != art.get("sha256"):
            problems.append(problem("capture_file_hash", name=p))
    if problems:
        report.said(label, False, "problems", problems=problems)
    else:
        report.said(label, True, "capture_signed", n=len(cman.get("artifacts", [])),
                    by=key_said(status, fp))
    names = list(cap.get("timestamps", []))
    if not names:
        report.warn("warn_no_timestamp", name=mpath)
    digest = hashlib.sha256(mbytes).digest()
    for name in names:
        data = _bytes(zf, name)
        if data is None:
            report.said(f"{label} timestamp {name}", False, "token_removed", name=name)
            continue
        ok, phrase, tinfo = check_token_said(anchors, data, digest, mpath)
        report.said(f"{label} timestamp {name}", ok, "phrase", phrase=phrase)
        report.tokens.append({"file": name, "ok": ok, **tinfo})
