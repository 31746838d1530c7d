"""Sign and time-stamp a document, and check it against trust anchors: the one API that
packs, plan pre-registration and anything else that must prove "this existed, from us, then"
use.

``seal(data, settings)`` signs *data* with the installation's Ed25519 key, asks every
configured TSA for an RFC 3161 token (each retried), and writes a **stamp record**: a small
JSON naming the data's SHA-256, every token obtained (with its SHA-256) and every TSA that
failed, itself signed.  The record is what makes a stripped token a failure rather than a
shrug: a verifier that finds fewer tokens than the signed record lists knows one was removed.

``check_seal(...)`` verifies all of it against :class:`evidence.trust.TrustAnchors`, never
against key material or roots the document brings along.

Files, for a document ``NAME``: ``NAME.sig`` (base64 signature), ``NAME.<n>.tsr`` (one full
TSA response each), ``NAME.stamps.json`` and ``NAME.stamps.json.sig``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence.hashing import pretty_json, sha256_bytes
from evidence.keys import InstallationKey, load_or_create, verify_signature
from evidence.trust import GIVEN, RETIRED, TrustAnchors
from evidence.tsa import Token, TsaFailure, check_response, timestamp_each
from store.settings import Settings

RECORD_FORMAT = "spotcheck-stamps/1"


@dataclass
class Seal:
    """What :func:`seal` made for one document; ``files(name)`` names them for a folder."""

    signature: str
    key_fingerprint: str
    tokens: list[Token]
    failures: list[TsaFailure]
    record: bytes
    record_signature: str

    def files(self, name: str) -> dict[str, bytes]:
        out = {f"{name}.sig": (self.signature + "\n").encode("ascii"),
               f"{name}.stamps.json": self.record,
               f"{name}.stamps.json.sig": (self.record_signature + "\n").encode("ascii")}
        for i, tok in enumerate(self.tokens):
            out[f"{name}.{i}.tsr"] = tok.response
        return out


def seal(data: bytes, settings: Settings, *, name: str = "document",
         key: InstallationKey | None = None, tsa_urls: list[str] | None = None) -> Seal:
    """Sign *data*, time-stamp it with every configured TSA, and sign the stamp record.

    A TSA that stays down after its retries is recorded in the record's ``failed`` list;
    the seal is still made with the tokens obtained (possibly none).
    """
    key = key or load_or_create(settings.keys_dir)
    urls = settings.tsa_urls if tsa_urls is None else tsa_urls
    signature = key.sign(data)
    tokens, failures = timestamp_each(data, urls)
    record = pretty_json({
        "format": RECORD_FORMAT, "document": name, "sha256": sha256_bytes(data),
        "key_fingerprint": key.fingerprint, "tsa_urls": list(urls),
        "tokens": [{"file": f"{name}.{i}.tsr", "tsa_url": t.tsa_url,
                    "sha256": sha256_bytes(t.response), "gen_time": t.gen_time.isoformat()}
                   for i, t in enumerate(tokens)],
        "failed": [f.__dict__ for f in failures],
    })
    return Seal(signature, key.fingerprint, tokens, failures, record, key.sign(record))


@dataclass
class SealCheck:
    """Result of :func:`check_seal`: named checks (each ok or not) and warnings."""

    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    key_fingerprint: str = ""
    key_status: str = ""
    tokens: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append((name, ok, detail))


def resolve_key(anchors: TrustAnchors, fp: str, carried: Ed25519PublicKey | None
                ) -> tuple[Ed25519PublicKey | None, str, str]:
    """(key to check with, its status, why not) for the fingerprint a document names.

    The key must be anchored; a key anchored by fingerprint alone is taken from the
    document when the carried key has exactly that fingerprint.
    """
    from evidence.keys import fingerprint

    trusted = anchors.key(fp)
    if trusted is None:
        return None, "", (f"signed by key {fp}, which is not a trusted key (trusted: this "
                          "installation's current and retired keys, and --trust-key); compare "
                          "this fingerprint with the one the issuing office publishes")
    if trusted.key is not None:
        return trusted.key, trusted.status, ""
    if carried is not None and fingerprint(carried) == fp:
        return carried, trusted.status, ""
    return None, trusted.status, f"the public key of trusted fingerprint {fp} is not available"


def describe_key(status: str, fp: str) -> str:
    if status == RETIRED:
        return f"a retired key of this installation ({fp})"
    if status == GIVEN:
        return f"a key trusted by --trust-key ({fp})"
    return f"this installation's current key ({fp})"


def check_token(anchors: TrustAnchors, response: bytes, digest: bytes, target: str
                ) -> tuple[bool, str, dict[str, Any]]:
    """One RFC 3161 token over *digest*: valid, and issued under a trusted TSA CA."""
    chk = check_response(response, digest, extra_certs=anchors.tsa_ca_certs())
    info: dict[str, Any] = {"gen_time": str(chk.gen_time) if chk.gen_time else None,
                            "tsa": chk.tsa_name, "root": chk.root_subject,
                            "root_fingerprint": chk.root_fingerprint}
    if not chk.ok:
        return False, f"does not prove the time of {target}: {chk.reason}", info
    anchor = anchors.trusts_chain(chk.chain_fingerprints)
    if anchor is None:
        return False, (f"stamped under TSA root {chk.root_subject} (SHA-256 "
                       f"{chk.root_fingerprint}), which is not a trusted TSA CA "
                       "(SPOTCHECK_TRUSTED_TSA_CAS, keys/trusted-tsa/, --trust-tsa-ca)"), info
    info["anchor"] = anchor
    return True, (f"{target} existed at {chk.gen_time} ({chk.tsa_name}; trusted root "
                  f"{chk.root_subject} {chk.root_fingerprint[:16]}…)"), info


def check_seal(anchors: TrustAnchors, name: str, data: bytes, *, signature: str | None,
               key_fingerprint: str, carried_key: Ed25519PublicKey | None,
               tokens: dict[str, bytes], record: bytes | None, record_signature: str | None,
               declared_tsas: list[str] | None) -> SealCheck:
    """Check a sealed document against *anchors*.

    *tokens* maps token file names present to their bytes; *declared_tsas* is the list of
    TSAs the (signed) document says it was to be stamped by (None: the document makes no
    such statement, as in packs before stamp records).
    """
    out = SealCheck(key_fingerprint=key_fingerprint)
    key, status, why = resolve_key(anchors, key_fingerprint, carried_key)
    out.key_status = status
    if key is None:
        out.add("signing key", False, why)
    else:
        out.add("signing key", True, describe_key(status, key_fingerprint))
        if signature is None:
            out.add("signature", False, f"{name}.sig is missing")
        else:
            good = verify_signature(key, data, signature)
            out.add("signature", good, f"{name} is signed by {describe_key(status, key_fingerprint)}"
                    if good else f"the signature of {name} is invalid ({name} or its "
                                 "signature altered, or signed by another key)")
    digest = hashlib.sha256(data).digest()
    for tname in sorted(tokens):
        ok, detail, info = check_token(anchors, tokens[tname], digest, name)
        out.add(f"timestamp {tname}", ok, detail)
        out.tokens.append({"file": tname, "ok": ok, **info})

    if declared_tsas is None:
        if not tokens:
            out.warnings.append(f"{name} has no RFC 3161 timestamp")
        return out
    if not declared_tsas:
        out.warnings.append(f"{name} has no RFC 3161 timestamp (no TSA was configured)")
        return out
    # The document says it was stamped: the signed record says by whom, and which failed.
    problems: list[str] = []
    if record is None or record_signature is None:
        out.add("stamp record", False, f"{name}.stamps.json (or its signature) is missing: "
                                       "the timestamps cannot be accounted for")
        return out
    if key is None or not verify_signature(key, record, record_signature):
        problems.append(f"{name}.stamps.json is not signed by the document's trusted key")
    try:
        rec = json.loads(record)
        listed = {t["file"]: t for t in rec["tokens"]}
        failed = rec.get("failed") or []
    except (ValueError, KeyError, TypeError) as exc:
        out.add("stamp record", False, f"{name}.stamps.json is unreadable: {exc}")
        return out
    if rec.get("sha256") != sha256_bytes(data):
        problems.append(f"{name}.stamps.json is about other data")
    for fname, entry in sorted(listed.items()):
        if fname not in tokens:
            problems.append(f"timestamp token {fname} from {entry.get('tsa_url')} was made "
                            "and is missing (removed)")
        elif sha256_bytes(tokens[fname]) != entry.get("sha256"):
            problems.append(f"{fname} is not the token the record lists (replaced)")
    for fname in sorted(set(tokens) - set(listed)):
        problems.append(f"{fname} is not in the signed stamp record (added)")
    accounted = {t.get("tsa_url") for t in listed.values()} | {f.get("tsa_url") for f in failed}
    for url in declared_tsas:
        if url not in accounted:
            problems.append(f"no token and no recorded failure for TSA {url}")
    for f in failed:
        out.warnings.append(f"TSA {f.get('tsa_url')} gave no token for {name} after "
                            f"{f.get('attempts')} attempts ({f.get('error')})")
    if not listed:
        out.warnings.append(f"{name} has no RFC 3161 timestamp (every TSA failed)")
    out.add("stamp record", not problems, "; ".join(problems) if problems else
            f"{len(listed)} of {len(declared_tsas)} TSAs stamped {name}; every token present")
    return out
