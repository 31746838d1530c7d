"""Checking an evidence pack with nothing but the pack: no database, no network.

Checks, each reported on its own with the exact reason when it fails:

* ``files``: every file the manifest lists is present with its size and SHA-256, and no
  file is present that the manifest does not list;
* ``signature``: manifest.json is signed by the pack's public key (whose fingerprint must
  match the one the manifest names, and should match the one the office publishes);
* ``timestamp``: every RFC 3161 response over manifest.json is valid for it;
* ``capture <id>``: each capture's manifest is signed, timestamped, and names exactly the
  files in its folder with their hashes;
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

from evidence import custody
from evidence.hashing import CHUNK
from evidence.keys import fingerprint, load_public, verify_signature
from evidence.tsa import check_response
from store.errors import InvalidInput

UNLISTED_OK = ("manifest.json", "manifest.json.sig")
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
                "captures": self.captures, "bytes_hashed": self.bytes_hashed,
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
        raise InvalidInput(f"{name} is too large to be a manifest ({info.file_size} bytes)")
    return zf.read(info)


def verify_pack(path: Path, *, threads: int = 2) -> VerifyReport:
    """Check the pack at *path* completely; never raises for a bad pack, reports it."""
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
            _verify(zf, mm, report, threads)
        finally:
            if mm is not None:
                mm.close()
    return report


def _verify(zf: zipfile.ZipFile, mm: mmap.mmap | None, report: VerifyReport,
            threads: int) -> None:
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

    # -- the pack's key, signature and timestamps -----------------------------------------
    key = None
    try:
        key = load_public(_read(zf, manifest.get("public_key", "public_key.pem")))
        report.key_fingerprint = fingerprint(key)
    except (KeyError, InvalidInput) as exc:
        report.add("public key", False, f"no usable public key: {exc}")
    if key is not None:
        if report.key_fingerprint != manifest.get("key_fingerprint"):
            report.add("public key", False, "the public key's fingerprint differs from the "
                       "manifest's key_fingerprint")
        else:
            report.add("public key", True, f"Ed25519 {report.key_fingerprint}")
        try:
            sig = _read(zf, "manifest.json.sig").decode("ascii", "replace")
        except KeyError:
            report.add("signature", False, "manifest.json.sig is missing")
        else:
            good = verify_signature(key, manifest_bytes, sig)
            report.add("signature", good, "manifest.json is signed by the pack's key" if good
                       else "the signature of manifest.json is invalid (manifest or "
                            "signature altered, or signed by another key)")
    digest = hashlib.sha256(manifest_bytes).digest()
    _check_tokens(zf, sorted(tsr_names), digest, "timestamp", "manifest.json", report)

    # -- captures --------------------------------------------------------------------------
    caps = manifest.get("captures") or []
    report.captures = len(caps)
    for cap in caps:
        _check_capture(zf, cap, key, report, listed)

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


def _check_tokens(zf: zipfile.ZipFile, names: list[str], digest: bytes, label: str,
                  target: str, report: VerifyReport) -> None:
    if not names:
        report.warnings.append(f"{target} has no RFC 3161 timestamp")
        return
    for name in names:
        try:
            chk = check_response(_read(zf, name), digest)
        except (KeyError, InvalidInput) as exc:
            report.add(f"{label} {name}", False, f"unreadable: {exc}")
            continue
        report.add(f"{label} {name}", chk.ok,
                   f"{target} existed at {chk.gen_time} ({chk.tsa_name}; root "
                   f"{chk.root_subject} {chk.root_fingerprint[:16]}…)" if chk.ok
                   else f"{name} does not prove the time of {target}: {chk.reason}")


def _check_capture(zf: zipfile.ZipFile, cap: dict[str, Any], key: Any,
                   report: VerifyReport, listed: dict[str, dict[str, Any]]) -> None:
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
    if key is not None:
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
               f"{len(cman.get('artifacts', []))} files signed at capture time")
    _check_tokens(zf, cap.get("timestamps", []), hashlib.sha256(mbytes).digest(),
                  f"{label} timestamp", mpath, report)
