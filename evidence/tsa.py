"""RFC 3161 time-stamping: ask a TSA for a token over a digest, and check tokens offline.

A token proves that a digest existed at the TSA's time.  We keep the TSA's *full response*
(``.tsr``, which ``openssl ts -verify`` reads too) including the certificates it sent, and
check it later with nothing but this module: the message imprint, the signed attributes
(content type, message digest, ESS signing certificate), the CMS signature, the signer's
``timeStamping`` extended key usage and validity at the stamped time, and the certificate
chain up to a self-signed root, whose fingerprint the report shows.

Parsing uses ``asn1crypto``; signatures are checked with ``cryptography``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from store.errors import ServiceUnavailable
from store.messages import phrase, render

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512,
           "sha1": hashes.SHA1}
#: Largest TSA response we accept (tokens are a few KiB; the bound protects us).
MAX_RESPONSE = 256 * 1024


@dataclass
class Token:
    """A time-stamp response as received from one TSA."""

    tsa_url: str
    response: bytes
    gen_time: dt.datetime
    serial: int


@dataclass
class TokenCheck:
    """The result of checking one token against a digest."""

    ok: bool
    reason: str = ""
    gen_time: dt.datetime | None = None
    tsa_name: str = ""
    root_subject: str = ""
    root_fingerprint: str = ""
    chain_pem: bytes = b""
    #: SHA-256 of each certificate from the TSA's up to the root, to match trust anchors.
    chain_fingerprints: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)
    #: :attr:`reason` as a coded phrase (``verify_said.tsa_*``) for the reader's language
    said: dict[str, Any] | None = None

    def say(self, code: str, /, **params: Any) -> None:
        """Fail with the reason ``verify_said.<code>`` (its English text in :attr:`reason`)."""
        self.said = phrase(f"verify_said.{code}", **params)
        self.reason = render(self.said["code"], params, "en")

    @classmethod
    def failed(cls, code: str, /, **params: Any) -> TokenCheck:
        check = cls(False)
        check.say(code, **params)
        return check


def make_request(digest: bytes, nonce: int) -> bytes:
    """A DER TimeStampReq for a SHA-256 *digest*, asking for the TSA's certificate."""
    req = tsp.TimeStampReq({
        "version": 1,
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": digest},
        "nonce": nonce,
        "cert_req": True,
    })
    return bytes(req.dump())


_CLIENT: httpx.Client | None = None
_CLIENT_LOCK = threading.Lock()


def _client() -> httpx.Client:
    """One HTTP client for every time-stamp request of the process (thread-safe): making
    one per request loaded the CA bundle into a new TLS context each time (~40 ms of CPU,
    about one per capture), and a kept client reuses its connection to each TSA."""
    global _CLIENT
    with _CLIENT_LOCK:
        if _CLIENT is None:
            _CLIENT = httpx.Client()
        return _CLIENT


def timestamp(data: bytes, tsa_url: str, *, timeout: float = 15.0) -> Token:
    """Ask *tsa_url* for a token over SHA-256(*data*); check it before returning it."""
    digest = hashlib.sha256(data).digest()
    nonce = secrets.randbits(63)
    try:
        resp = _client().post(tsa_url, content=make_request(digest, nonce), timeout=timeout,
                              headers={"Content-Type": "application/timestamp-query"})
    except httpx.HTTPError as exc:
        raise ServiceUnavailable("evidence.tsa_unreachable", url=tsa_url,
                                 detail=str(exc)[:200]) from exc
    if resp.status_code != 200 or len(resp.content) > MAX_RESPONSE:
        raise ServiceUnavailable("evidence.tsa_http_status", url=tsa_url,
                                 status=resp.status_code, size=len(resp.content))
    check = check_response(resp.content, digest, nonce=nonce)
    if not check.ok:
        raise ServiceUnavailable("evidence.tsa_bad_token", url=tsa_url, reason=check.reason)
    assert check.gen_time is not None
    return Token(tsa_url, resp.content, check.gen_time, int(check.details.get("serial", "0")))


@dataclass
class TsaFailure:
    """A TSA that did not give a token after every attempt (recorded, never hidden)."""

    tsa_url: str
    error: str
    attempts: int
    at: str


def timestamp_each(data: bytes, tsa_urls: list[str], *, attempts: int = 3,
                   backoff: float = 0.5) -> tuple[list[Token], list[TsaFailure]]:
    """A token from each TSA in *tsa_urls* (each tried up to *attempts* times, waiting
    *backoff*, 2×*backoff*, … between tries), and the TSAs that gave none.

    Several TSAs are normal practice: one that is down costs its token, not the evidence.
    """
    import time

    tokens: list[Token] = []
    failures: list[TsaFailure] = []
    for url in tsa_urls:
        error = ""
        for attempt in range(1, attempts + 1):
            try:
                tokens.append(timestamp(data, url))
                break
            except ServiceUnavailable as exc:
                error = str(exc)
                if attempt < attempts:
                    time.sleep(backoff * 2 ** (attempt - 1))
        else:
            failures.append(TsaFailure(url, error[:300], attempts,
                                       dt.datetime.now(dt.UTC).isoformat()))
    return tokens, failures


def timestamp_all(data: bytes, tsa_urls: list[str]) -> list[Token]:
    """Tokens from every configured TSA that answers (each retried); at least one, or
    ServiceUnavailable."""
    tokens, failures = timestamp_each(data, tsa_urls)
    if tsa_urls and not tokens:
        raise ServiceUnavailable("evidence.no_tsa_answered",
                                 failures="; ".join(f.error for f in failures))
    return tokens


def _to_crypto(cert: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(cert.dump())


def _verify_sig(public_key: object, signature: bytes, data: bytes, algo: str,
                hash_name: str) -> None:
    """Raise InvalidSignature (or ValueError) unless *signature* is valid."""
    h = _HASHES[hash_name]()
    if isinstance(public_key, rsa.RSAPublicKey):
        pad: padding.AsymmetricPadding
        if algo == "rsassa_pss":
            pad = padding.PSS(mgf=padding.MGF1(h), salt_length=padding.PSS.AUTO)
        else:
            pad = padding.PKCS1v15()
        public_key.verify(signature, data, pad, h)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        public_key.verify(signature, data, ec.ECDSA(h))
    else:
        raise ValueError(f"unsupported TSA key type {type(public_key).__name__}")


def _fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def check_response(response: bytes, digest: bytes, *, nonce: int | None = None,
                   extra_certs: list[x509.Certificate] | None = None) -> TokenCheck:
    """Check a full TimeStampResp (or a bare token) against the SHA-256 *digest*, offline.

    *extra_certs* (the verifier's trusted CAs) complete a chain the TSA sent without its
    root.  Whether the root is *trusted* is the caller's decision (``chain_fingerprints``).
    """
    try:
        return _check(response, digest, nonce, extra_certs or [])
    except Exception as exc:  # any parse or crypto error on hostile bytes means "malformed"
        return TokenCheck.failed("tsa_malformed", error=f"{type(exc).__name__}: {exc}")


class _Refused(Exception):
    """A token check's verdict: the ``verify_said`` *code* (and its parameters) a step of
    :func:`_check` ends on.  Raised by the steps so each stays one small function; never
    leaves this module."""

    def __init__(self, code: str, /, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def _check(response: bytes, digest: bytes, nonce: int | None,
           extra_certs: list[x509.Certificate]) -> TokenCheck:
    """The checks of RFC 3161 § 2.4.2 and RFC 5652 § 5.4, in order; the first that fails
    is the answer.  Refusals before the TSTInfo is read carry no time; later ones carry
    the time the token claims (a reader wants to see it even on a bad token)."""
    try:
        signed = _signed_data(response)
    except _Refused as r:
        return TokenCheck.failed(r.code, **r.params)
    tst_bytes = bytes(signed["encap_content_info"]["content"].contents)
    tst = tsp.TSTInfo.load(tst_bytes)
    gen_time: dt.datetime = tst["gen_time"].native
    result = TokenCheck(False, gen_time=gen_time,
                        details={"serial": str(tst["serial_number"].native),
                                 "policy": str(tst["policy"].native)})
    try:
        _check_imprint(tst, digest, nonce)
        certs = [c.chosen for c in signed["certificates"] if c.name == "certificate"]
        signer_info, signer = _signer(signed, certs)
        hash_name = signer_info["digest_algorithm"]["algorithm"].native
        if hash_name not in _HASHES:
            raise _Refused("tsa_digest_unsupported", algorithm=str(hash_name))
        _check_signed_attrs(signer_info, signer, tst_bytes, hash_name)
        signer_cert = _to_crypto(signer)
        _check_signature(signer_cert, signer_info, hash_name)
        _check_tsa_cert(signer_cert, gen_time)
        chain = _chain(signer_cert, [_to_crypto(c) for c in certs] + list(extra_certs))
    except _Refused as r:
        result.say(r.code, **r.params)
        return result
    root = chain[-1]
    result.ok = True
    result.tsa_name = signer_cert.subject.rfc4514_string()
    result.root_subject = root.subject.rfc4514_string()
    result.root_fingerprint = _fingerprint(root)
    result.chain_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain)
    result.chain_fingerprints = [_fingerprint(c) for c in chain]
    return result


def _signed_data(response: bytes) -> Any:
    """The token's SignedData, from a full TimeStampResp (refused unless granted) or a bare
    token; refused unless it encapsulates a TSTInfo."""
    # A full response starts with a SEQUENCE (the status); a bare token with an OID.
    if core.load(response).contents[:1] == b"\x06":
        token = cms.ContentInfo.load(response)
    else:
        resp = tsp.TimeStampResp.load(response)
        status = resp["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            text = resp["status"]["status_string"].native
            raise _Refused("tsa_refused", status=f"{status} {text or ''}".strip())
        token = resp["time_stamp_token"]
    signed = token["content"]
    if signed["encap_content_info"]["content_type"].native != "tst_info":
        raise _Refused("tsa_no_tstinfo")
    return signed


def _check_imprint(tst: tsp.TSTInfo, digest: bytes, nonce: int | None) -> None:
    """The token stamps *our* data: a SHA-256 imprint equal to *digest*, and the nonce we
    sent when we sent one (a replayed answer to another request has another)."""
    imprint = tst["message_imprint"]
    if imprint["hash_algorithm"]["algorithm"].native != "sha256":
        raise _Refused("tsa_imprint_not_sha256")
    if bytes(imprint["hashed_message"].native) != digest:
        raise _Refused("tsa_other_data")
    if nonce is not None and tst["nonce"].native != nonce:
        raise _Refused("tsa_nonce")


def _signer(signed: Any, certs: list[asn1_x509.Certificate]) -> tuple[Any, Any]:
    """(the one SignerInfo, its certificate among those the token carries): a TSA token
    has exactly one signer, named by issuer and serial or by key identifier."""
    if len(signed["signer_infos"]) != 1:
        raise _Refused("tsa_signers")
    signer_info = signed["signer_infos"][0]
    sid = signer_info["sid"]
    signer = None
    for c in certs:
        if sid.name == "issuer_and_serial_number":
            if (c.issuer == sid.chosen["issuer"]
                    and c.serial_number == sid.chosen["serial_number"].native):
                signer = c
        elif c.key_identifier == sid.chosen.native:
            signer = c
    if signer is None:
        raise _Refused("tsa_no_cert")
    return signer_info, signer


def _check_signed_attrs(signer_info: Any, signer: asn1_x509.Certificate, tst_bytes: bytes,
                        hash_name: str) -> None:
    """The signed attributes bind the signature to this TSTInfo (content type, message
    digest) and to this certificate (ESS signing-certificate v2 or v1, RFC 5816): without
    them a valid signature could be moved onto other content or another certificate."""
    values = {a["type"].native: a["values"][0] for a in signer_info["signed_attrs"]}
    if values.get("content_type") is None or values["content_type"].native != "tst_info":
        raise _Refused("tsa_no_content_type")
    md = values.get("message_digest")
    if md is None or bytes(md.native) != hashlib.new(hash_name, tst_bytes).digest():
        raise _Refused("tsa_tstinfo_altered")
    signer_der = signer.dump()
    if "signing_certificate_v2" in values:
        ess = values["signing_certificate_v2"]["certs"][0]
        ess_alg = ess["hash_algorithm"]["algorithm"].native
        if hashlib.new(ess_alg, signer_der).digest() != bytes(ess["cert_hash"].native):
            raise _Refused("tsa_ess_other")
    elif "signing_certificate" in values:
        ess = values["signing_certificate"]["certs"][0]
        if hashlib.sha1(signer_der).digest() != bytes(ess["cert_hash"].native):
            raise _Refused("tsa_ess_other")
    else:
        raise _Refused("tsa_no_ess")


def _check_signature(signer_cert: x509.Certificate, signer_info: Any, hash_name: str) -> None:
    """The signature over the signed attributes, DER-encoded as a SET (RFC 5652 § 5.4: the
    [0] IMPLICIT tag is replaced by the SET tag before verifying)."""
    signed_attrs_der = b"\x31" + bytes(signer_info["signed_attrs"].dump())[1:]
    try:
        _verify_sig(signer_cert.public_key(), bytes(signer_info["signature"].native),
                    signed_attrs_der, signer_info["signature_algorithm"].signature_algo,
                    hash_name)
    except (InvalidSignature, ValueError) as exc:
        raise _Refused("tsa_signature_invalid") from exc


def _check_tsa_cert(signer_cert: x509.Certificate, gen_time: dt.datetime) -> None:
    """The signer is a time-stamping certificate (EKU timeStamping) valid at the time it
    claims: any other certificate's signature says nothing about time."""
    try:
        eku = signer_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        eku = None
    if eku is None or x509.oid.ExtendedKeyUsageOID.TIME_STAMPING not in eku:
        raise _Refused("tsa_not_tsa_cert")
    if not (signer_cert.not_valid_before_utc <= gen_time <= signer_cert.not_valid_after_utc):
        raise _Refused("tsa_cert_expired")


def _chain(signer_cert: x509.Certificate, pool: list[x509.Certificate],
           ) -> list[x509.Certificate]:
    """The chain from the signer to a self-signed root, each link checked, from the
    token's certificates and the verifier's *extra_certs* (*pool*); at most 8 long.
    Whether the root is trusted is the caller's decision."""
    chain = [signer_cert]
    while chain[-1].issuer != chain[-1].subject:
        issuer = next((c for c in pool if c.subject == chain[-1].issuer and c not in chain),
                      None)
        if issuer is None:
            raise _Refused("tsa_chain_incomplete", issuer=chain[-1].issuer.rfc4514_string())
        try:
            chain[-1].verify_directly_issued_by(issuer)
        except Exception as exc:
            raise _Refused("tsa_chain_invalid", error=str(exc)) from exc
        chain.append(issuer)
        if len(chain) > 8:
            raise _Refused("tsa_chain_long")
    root = chain[-1]
    try:
        root.verify_directly_issued_by(root)
    except Exception as exc:
        raise _Refused("tsa_root_self_sig") from exc
    return chain
