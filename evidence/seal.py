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
from store.messages import phrase, render
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
class NamedChecks:
    """Named checks, each ok or not, and warnings: what a check of a seal, of a plan's
    pre-registration (``scheduler.preregistration``) or of anything signed reports.

    Each detail and warning is a message code (``verify_said.*``) with its parameters, kept
    beside its English text, so a reader gets it in their language and logs in English."""

    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    #: each check's detail as a message code and parameters (``verify_said.*``), beside
    #: :attr:`checks` (whose details are the English texts); ("", {}) when not coded
    codes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: the same warnings as coded phrases (``verify_said.warn_*``), for the reader's language
    warned: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """At least one check, and every check passed."""
        return bool(self.checks) and all(ok for _, ok, _ in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append((name, ok, detail))
        self.codes.append(("", {}))

    def said(self, name: str, ok: bool, code: str, /, **params: Any) -> None:
        """Add a check whose detail is ``verify_said.<code>`` with *params* (the English
        rendering kept as its detail)."""
        code = f"verify_said.{code}"
        self.checks.append((name, ok, render(code, params, "en")))
        self.codes.append((code, params))

    def warn(self, code: str, /, **params: Any) -> None:
        """Add the warning ``verify_said.<code>`` (its English text to :attr:`warnings`)."""
        self.warned.append(said(code, **params))
        self.warnings.append(_english(self.warned[-1]))

    def warning_texts(self, locale: str) -> list[str]:
        """The warnings in *locale*."""
        return [render(w["code"], w["params"], locale) for w in self.warned]

    def details(self, locale: str) -> list[tuple[str, bool, str]]:
        """The checks with their details in *locale* (CLI tables)."""
        return [(n, ok, render(code, params, locale) if code else d)
                for (n, ok, d), (code, params) in zip(self.checks, self.codes, strict=True)]


@dataclass
class SealCheck(NamedChecks):
    """Result of :func:`check_seal`: named checks (each ok or not) and warnings."""

    key_fingerprint: str = ""
    key_status: str = ""
    tokens: list[dict[str, Any]] = field(default_factory=list)


def said(code: str, /, **params: Any) -> dict[str, Any]:
    """A coded phrase ``verify_said.<code>`` as JSON keeps it (a problem among several, a
    part of a detail), read in the reader's language wherever it is quoted."""
    return phrase(f"verify_said.{code}", **params)


def _english(phrase: dict[str, Any]) -> str:
    return render(phrase["code"], phrase["params"], "en")


def resolve_key(anchors: TrustAnchors, fp: str, carried: Ed25519PublicKey | None
                ) -> tuple[Ed25519PublicKey | None, str, str]:
    """(key to check with, its status, why not, in English): :func:`resolve_key_said`."""
    key, status, why = resolve_key_said(anchors, fp, carried)
    return key, status, _english(why) if why else ""


def resolve_key_said(anchors: TrustAnchors, fp: str, carried: Ed25519PublicKey | None
                     ) -> tuple[Ed25519PublicKey | None, str, dict[str, Any] | None]:
    """(key to check with, its status, why not as a coded phrase) for the fingerprint a
    document names.

    The key must be anchored; a key anchored by fingerprint alone is taken from the
    document when the carried key has exactly that fingerprint.
    """
    from evidence.keys import fingerprint

    trusted = anchors.key(fp)
    if trusted is None:
        return None, "", said("key_untrusted", fingerprint=fp)
    if trusted.key is not None:
        return trusted.key, trusted.status, None
    if carried is not None and fingerprint(carried) == fp:
        return carried, trusted.status, None
    return None, trusted.status, said("key_unavailable", fingerprint=fp)


def key_said(status: str, fp: str) -> dict[str, Any]:
    """Which trusted key signed, as a coded phrase (``verify_said.key_*``) that a check's
    detail quotes, read in the reader's language."""
    kind = {RETIRED: "retired", GIVEN: "given"}.get(status, "current")
    return said(f"key_{kind}", fingerprint=fp)


def describe_key(status: str, fp: str) -> str:
    """Which trusted key signed, in English (logs, ``--json``)."""
    return _english(key_said(status, fp))


def check_token(anchors: TrustAnchors, response: bytes, digest: bytes, target: str
                ) -> tuple[bool, str, dict[str, Any]]:
    """One RFC 3161 token over *digest*, its detail in English: :func:`check_token_said`."""
    ok, phrase, info = check_token_said(anchors, response, digest, target)
    return ok, _english(phrase), info


def check_token_said(anchors: TrustAnchors, response: bytes, digest: bytes, target: str
                     ) -> tuple[bool, dict[str, Any], dict[str, Any]]:
    """One RFC 3161 token over *digest*: valid, and issued under a trusted TSA CA; the
    detail as a coded phrase (the token library's own reason quoted as it is)."""
    chk = check_response(response, digest, extra_certs=anchors.tsa_ca_certs())
    info: dict[str, Any] = {"gen_time": str(chk.gen_time) if chk.gen_time else None,
                            "tsa": chk.tsa_name, "root": chk.root_subject,
                            "root_fingerprint": chk.root_fingerprint}
    if not chk.ok:
        return False, said("token_invalid", target=target, reason=chk.said or chk.reason), info
    anchor = anchors.trusts_chain(chk.chain_fingerprints)
    if anchor is None:
        return False, said("token_root_untrusted", root=chk.root_subject,
                           fingerprint=chk.root_fingerprint), info
    info["anchor"] = anchor
    return True, said("token_ok", target=target, at=str(chk.gen_time), tsa=chk.tsa_name,
                      root=chk.root_subject, fingerprint=chk.root_fingerprint[:16]), info


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
    key, status, why = resolve_key_said(anchors, key_fingerprint, carried_key)
    out.key_status = status
    if key is None:
        out.said("signing key", False, "phrase", phrase=why)
    else:
        out.said("signing key", True, "phrase", phrase=key_said(status, key_fingerprint))
        if signature is None:
            out.said("signature", False, "missing", name=f"{name}.sig")
        elif verify_signature(key, data, signature):
            out.said("signature", True, "signed_by", name=name,
                     by=key_said(status, key_fingerprint))
        else:
            out.said("signature", False, "signature_invalid", name=name)
    digest = hashlib.sha256(data).digest()
    for tname in sorted(tokens):
        ok, phrase, info = check_token_said(anchors, tokens[tname], digest, name)
        out.said(f"timestamp {tname}", ok, "phrase", phrase=phrase)
        out.tokens.append({"file": tname, "ok": ok, **info})

    if declared_tsas is None:
        if not tokens:
            out.warn("warn_no_timestamp", name=name)
        return out
    if not declared_tsas:
        out.warn("warn_no_tsa", name=name)
        return out
    # The document says it was stamped: the signed record says by whom, and which failed.
    problems: list[dict[str, Any]] = []
    if record is None or record_signature is None:
        out.said("stamp record", False, "record_missing", name=name)
        return out
    if key is None or not verify_signature(key, record, record_signature):
        problems.append(said("record_unsigned", name=name))
    try:
        rec = json.loads(record)
        listed = {t["file"]: t for t in rec["tokens"]}
        failed = rec.get("failed") or []
    except (ValueError, KeyError, TypeError) as exc:
        out.said("stamp record", False, "unreadable", name=f"{name}.stamps.json",
                 error=str(exc))
        return out
    if rec.get("sha256") != sha256_bytes(data):
        problems.append(said("record_other_data", name=name))
    for fname, entry in sorted(listed.items()):
        if fname not in tokens:
            problems.append(said("record_token_removed", name=fname,
                                 tsa=str(entry.get("tsa_url"))))
        elif sha256_bytes(tokens[fname]) != entry.get("sha256"):
            problems.append(said("record_token_replaced", name=fname))
    for fname in sorted(set(tokens) - set(listed)):
        problems.append(said("record_token_added", name=fname))
    accounted = {t.get("tsa_url") for t in listed.values()} | {f.get("tsa_url") for f in failed}
    for url in declared_tsas:
        if url not in accounted:
            problems.append(said("record_tsa_unaccounted", tsa=url))
    for f in failed:
        out.warn("warn_tsa_failed", tsa=str(f.get("tsa_url")), name=name,
                 attempts=str(f.get("attempts")), error=str(f.get("error")))
    if not listed:
        out.warn("warn_every_tsa_failed", name=name)
    if problems:
        out.said("stamp record", False, "problems", problems=problems)
    else:
        out.said("stamp record", True, "record_complete", n=len(listed),
                 of=len(declared_tsas), name=name)
    return out
