"""Signing a WACZ as the WACZ Signing and Verification spec describes, and checking it.

A WACZ's ``datapackage-digest.json`` names the SHA-256 of ``datapackage.json`` (which
names every file's hash); its ``signedData`` proves who made it and when.  Of the spec's two
variants we use the **domain identity** one, because it is the one others' tools check in
full: ``wacz validate --verify-auth`` hands it to Webrecorder's ``authsign`` verifier, which
accepts ``signedData`` only with a domain certificate and an RFC 3161 ``timeSignature``
(its model rejects the anonymous-key variant).  So:

* ``signature``: ECDSA P-256 / SHA-256 over the ``hash`` string, by a fresh key made for
  this WACZ and discarded;
* ``domainCert``: that key's certificate (CN = the installation's name), issued by the
  installation's **WACZ signing CA** (``keys/wacz-ca.{key,crt}``, ECDSA P-256, made on first
  use), then the CA certificate; the leaf is valid from ``created`` (authsign wants the
  signature within 7 days of the certificate's start);
* ``timeSignature``/``timestampCert``: a full RFC 3161 response over the ``signature``
  string from the configured TSA, and the TSA's chain (signer first, root last);
* ``created`` equals the datapackage's ``created`` and precedes the token by < 10 minutes.

py-wacz asks an authsign-compatible ``/sign`` endpoint (``wacz create --signing-url``); we
serve one on 127.0.0.1 for the duration of one ``wacz create``, guarded by a one-time token.

Trust: outside tools trust the CA and TSA root by fingerprint (authsign's trusted-roots
YAML: ``domain_cert_roots``, ``timestamp_cert_roots``); our verifier takes the CA
fingerprint from the pack's signed manifest and the TSA root from the trust anchors.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import secrets
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from evidence.keys import private_pem, read_settled, write_key_once
from evidence.loopback import Endpoint, serve
from evidence.tsa import check_response, timestamp
from store.errors import ConfigError, ServiceUnavailable
from store.messages import phrase, render

CA_KEY = "wacz-ca.key"
CA_CERT = "wacz-ca.crt"
SOFTWARE = "spotcheck wacz signer (authsign-compatible)"
#: authsign's defaults: the signature within 7 days of the domain certificate's start, the
#: token within 10 minutes after ``created``.
CERT_DURATION = dt.timedelta(days=7)
STAMP_DURATION = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class SigningCA:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def fingerprint(self) -> str:
        return self.cert.fingerprint(hashes.SHA256()).hex()

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def load_or_create_ca(keys_dir: Path, name: str) -> SigningCA:
    """The installation's WACZ signing CA, made (key mode 0600) the first time."""
    key_path, cert_path = keys_dir / CA_KEY, keys_dir / CA_CERT
    if not key_path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                f"{name} WACZ signing CA"),
                             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "spotcheck")])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                             False, False), critical=True)
                .sign(key, hashes.SHA256()))
        write_key_once(key_path, private_pem(key), cert_path,
                       cert.public_bytes(serialization.Encoding.PEM))
    try:
        loaded = serialization.load_pem_private_key(read_settled(key_path), password=None)
        cert = x509.load_pem_x509_certificate(read_settled(cert_path))
    except (ValueError, OSError) as exc:
        raise ConfigError("evidence.wacz_ca_unreadable", folder=keys_dir,
                          detail=str(exc)[:200]) from exc
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ConfigError("evidence.wacz_ca_not_ecdsa", path=key_path)
    return SigningCA(loaded, cert)


def _leaf(ca: SigningCA, domain: str, not_before: dt.datetime
          ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)]))
            .issuer_name(ca.cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_before + CERT_DURATION)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                         False, False), critical=True)
            .sign(ca.key, hashes.SHA256()))
    return key, cert


def sign_hash(hash_: str, created: str, ca: SigningCA, domain: str, tsa_url: str
              ) -> dict[str, Any]:
    """``signedData`` for a datapackage *hash* (``sha256:…``) made at *created*."""
    when = dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    key, leaf = _leaf(ca, domain, when)
    signature = base64.b64encode(
        key.sign(hash_.encode("ascii"), ec.ECDSA(hashes.SHA256()))).decode("ascii")
    token = timestamp(signature.encode("ascii"), tsa_url)
    chk = check_response(token.response, hashlib.sha256(signature.encode("ascii")).digest())
    pem = leaf.public_bytes(serialization.Encoding.PEM) + ca.pem()
    return {"version": "0.1.0", "software": SOFTWARE, "hash": hash_, "created": created,
            "signature": signature, "domain": domain, "domainCert": pem.decode("ascii"),
            "timeSignature": base64.b64encode(token.response).decode("ascii"),
            "timestampCert": chk.chain_pem.decode("ascii")}


@contextmanager
def signing_endpoint(ca: SigningCA, domain: str, tsa_url: str) -> Iterator[tuple[str, str]]:
    """An authsign-compatible ``/sign`` endpoint on 127.0.0.1 for ``wacz create
    --signing-url URL --signing-token TOKEN``; yields (url, token)."""
    token = secrets.token_urlsafe(24)
    errors: list[str] = []

    class Handler(Endpoint):
        def do_POST(self) -> None:
            if self.path != "/sign" or self.headers.get("Authorization") != f"bearer {token}":
                self.send_error(403)
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                req = json.loads(self.rfile.read(min(length, 65536)))
                body = json.dumps(sign_hash(str(req["hash"]), str(req["created"]), ca,
                                            domain, tsa_url)).encode()
            except (ValueError, KeyError, ServiceUnavailable) as exc:
                errors.append(str(exc))
                self.send_error(400, "signing failed")
                return
            self.reply(body, "application/json")

    with serve(Handler, "wacz-signer") as base:
        yield f"{base}/sign", token
    if errors:
        raise ServiceUnavailable("evidence.wacz_signing_failed", detail=errors[0][:300])


def _verify_cert(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def check_wacz(data: Any, *, ca_fingerprints: set[str], tsa_anchor: Any) -> tuple[bool, str]:
    """:func:`check_wacz_said` with its detail in English (ok, detail)."""
    ok, said = check_wacz_said(data, ca_fingerprints=ca_fingerprints, tsa_anchor=tsa_anchor)
    return ok, render(said["code"], said["params"], "en")


def _said(code: str, /, **params: Any) -> dict[str, Any]:
    return phrase(f"verify_said.{code}", **params)


def check_wacz_said(data: Any, *, ca_fingerprints: set[str], tsa_anchor: Any
                    ) -> tuple[bool, dict[str, Any]]:
    """Check a WACZ's ``datapackage-digest.json`` signature the way authsign does, against
    trusted WACZ CA fingerprints and a TSA check ``tsa_anchor(response, digest, target)``
    (``evidence.seal.check_token_said`` or ``check_token`` bound to the anchors); returns
    (ok, detail as a coded phrase ``verify_said.wacz_*``).  *data* is a path or a seekable
    binary file."""
    try:
        with zipfile.ZipFile(data) as zf:
            package = zf.read("datapackage.json")
            digest = json.loads(zf.read("datapackage-digest.json"))
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        return False, _said("wacz_not_wacz", error=str(exc))
    if digest.get("hash") != "sha256:" + hashlib.sha256(package).hexdigest():
        return False, _said("wacz_altered")
    signed = digest.get("signedData")
    if not signed:
        return False, _said("wacz_unsigned")
    try:
        created = dt.datetime.strptime(signed["created"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=dt.UTC)
        if json.loads(package).get("created") != signed["created"]:
            return False, _said("wacz_created")
        if signed["hash"] != digest["hash"]:
            return False, _said("wacz_other_hash")
        certs = x509.load_pem_x509_certificates(signed["domainCert"].encode("ascii"))
        for child, parent in itertools.pairwise(certs):
            if not _verify_cert(child, parent):
                return False, _said("wacz_chain")
        root_fp = certs[-1].fingerprint(hashes.SHA256()).hex()
        if root_fp not in ca_fingerprints:
            return False, _said("wacz_other_ca", fingerprint=root_fp)
        leaf_key = certs[0].public_key()
        if not isinstance(leaf_key, ec.EllipticCurvePublicKey):
            return False, _said("wacz_not_ecdsa")
        leaf_key.verify(base64.b64decode(signed["signature"]), signed["hash"].encode("ascii"),
                        ec.ECDSA(hashes.SHA256()))
        cn = certs[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        if cn != signed["domain"]:
            return False, _said("wacz_other_domain")
        start = certs[0].not_valid_before_utc
        if not start <= created <= start + CERT_DURATION:
            return False, _said("wacz_window")
        sig_digest = hashlib.sha256(signed["signature"].encode("ascii")).digest()
        ok, detail, info = tsa_anchor(base64.b64decode(signed["timeSignature"]), sig_digest,
                                      "the WACZ signature")
        if not ok:
            return False, _said("wacz_time", detail=detail)
        stamped = dt.datetime.fromisoformat(str(info["gen_time"]))
        if not created <= stamped <= created + STAMP_DURATION:
            return False, _said("wacz_time_late")
    except InvalidSignature:
        return False, _said("wacz_invalid")
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        return False, _said("wacz_malformed", error=str(exc))
    return True, _said("wacz_ok", domain=str(signed["domain"]), fingerprint=root_fp[:16],
                       at=str(stamped))
