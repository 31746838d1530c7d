"""Trust anchors: which signing keys and which time-stamping roots a verifier believes.

A pack carries its public key and the certificate chains its TSAs sent; anyone who forges a
pack brings those too (a new key, a self-made "TSA Root CA").  So a pack's key and its TSA
roots are only *claims*: a signature counts when its key's fingerprint is one of the
verifier's anchors, a timestamp when its chain ends at (or passes through) an anchored CA.

The installation's anchors are its own keys (current and retired: ``keys/`` and
``keys/retired/``) and the CAs named by ``trusted_tsa_cas`` (``SPOTCHECK_TRUSTED_TSA_CAS``)
plus any PEM file in ``keys/trusted-tsa/``.  A verifier adds others explicitly (``--trust-key
FILE|FINGERPRINT``, ``--trust-tsa-ca FILE``) for a pack from another office, after comparing
the fingerprint it obtained out of band.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from evidence.keys import PRIVATE_NAME, PUBLIC_NAME, RETIRED_DIR, fingerprint, load_public
from store.errors import ConfigError, InvalidInput
from store.settings import Settings

#: Folder under ``keys/`` whose PEM files are trusted TSA CAs (the demo's local TSA goes here).
TRUSTED_TSA_DIR = "trusted-tsa"
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")

CURRENT, RETIRED, GIVEN = "current", "retired", "given"


@dataclass(frozen=True)
class TrustedKey:
    """One anchored signing key: its fingerprint, where the trust comes from, and the key
    itself when known (a key given by fingerprint only is taken from the pack)."""

    fingerprint: str
    status: str  # current / retired / given
    key: Ed25519PublicKey | None = None


@dataclass
class TrustAnchors:
    """The keys and TSA roots a verification trusts; nothing else is believed."""

    keys: dict[str, TrustedKey] = field(default_factory=dict)
    tsa_cas: dict[str, x509.Certificate] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    # -- building ----------------------------------------------------------------------------

    def add_key(self, key: Ed25519PublicKey, status: str) -> str:
        fp = fingerprint(key)
        if fp not in self.keys or self.keys[fp].status == GIVEN:
            self.keys[fp] = TrustedKey(fp, status, key)
        return fp

    def add_key_ref(self, ref: str) -> str:
        """A ``--trust-key`` value: a PEM public key file, or a 64-hex fingerprint."""
        text = ref.strip().lower().replace(":", "")
        if _FINGERPRINT.match(text) and not Path(ref).exists():
            self.keys.setdefault(text, TrustedKey(text, GIVEN))
            self.sources.append(f"key fingerprint {text} (given)")
            return text
        path = Path(ref)
        if not path.is_file():
            raise InvalidInput("evidence.trust_key_neither_file_nor_fingerprint", ref=ref)
        fp = self.add_key(load_public(path.read_bytes()), GIVEN)
        self.sources.append(f"key {path} ({fp})")
        return fp

    def add_tsa_ca_file(self, path: Path) -> list[str]:
        """Every certificate in the PEM (or DER) file *path* becomes a trusted TSA CA."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InvalidInput("evidence.tsa_ca_file_unreadable", path=path,
                               detail=str(exc)[:200]) from exc
        try:
            certs = (x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data
                     else [x509.load_der_x509_certificate(data)])
        except ValueError as exc:
            raise InvalidInput("evidence.tsa_ca_file_no_certificate", path=path,
                               detail=str(exc)[:200]) from exc
        fps = []
        for cert in certs:
            fp = cert.fingerprint(hashes.SHA256()).hex()
            self.tsa_cas[fp] = cert
            fps.append(fp)
        self.sources.append(f"TSA CA {path}")
        return fps

    @classmethod
    def for_installation(cls, settings: Settings, *, trust_keys: list[str] | None = None,
                         trust_tsa_cas: list[Path] | None = None) -> TrustAnchors:
        """This installation's own keys and configured TSA CAs, plus the given extras."""
        anchors = cls()
        keys_dir = settings.keys_dir
        current = _installation_public(keys_dir)
        if current is not None:
            anchors.add_key(current, CURRENT)
            anchors.sources.append(f"installation key {keys_dir / PRIVATE_NAME}")
        retired = keys_dir / RETIRED_DIR
        if retired.is_dir():
            for pem in sorted(retired.glob("*.pub.pem")):
                try:
                    anchors.add_key(load_public(pem.read_bytes()), RETIRED)
                except InvalidInput as exc:
                    raise ConfigError("evidence.retired_key_unreadable", path=pem,
                                      detail=exc) from exc
                anchors.sources.append(f"retired key {pem.name}")
        for ca in settings.trusted_tsa_cas:
            try:
                anchors.add_tsa_ca_file(Path(ca))
            except InvalidInput as exc:
                raise ConfigError("evidence.trusted_tsa_cas_setting", detail=exc) from exc
        folder = keys_dir / TRUSTED_TSA_DIR
        if folder.is_dir():
            for pem in sorted(folder.glob("*.pem")) + sorted(folder.glob("*.crt")):
                anchors.add_tsa_ca_file(pem)
        for ref in trust_keys or []:
            anchors.add_key_ref(ref)
        for path in trust_tsa_cas or []:
            anchors.add_tsa_ca_file(path)
        return anchors

    # -- asking ------------------------------------------------------------------------------

    def key(self, fp: str) -> TrustedKey | None:
        return self.keys.get(fp)

    def tsa_ca_certs(self) -> list[x509.Certificate]:
        return list(self.tsa_cas.values())

    def trusts_chain(self, chain_fingerprints: list[str]) -> str | None:
        """The anchored CA fingerprint the chain passes through, or None."""
        return next((fp for fp in chain_fingerprints if fp in self.tsa_cas), None)


def _installation_public(keys_dir: Path) -> Ed25519PublicKey | None:
    """The installation's current public key, without creating one (verifying never makes
    keys)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    priv = keys_dir / PRIVATE_NAME
    if priv.is_file() and priv.stat().st_size:
        try:
            key = serialization.load_pem_private_key(priv.read_bytes(), password=None)
        except (ValueError, OSError) as exc:
            raise ConfigError("evidence.installation_key_unreadable", path=priv,
                              detail=str(exc)[:200]) from exc
        if isinstance(key, Ed25519PrivateKey):
            return key.public_key()
    pub = keys_dir / PUBLIC_NAME
    if pub.is_file():
        return load_public(pub.read_bytes())
    return None


def trust_local_tsa(settings: Settings, ca_file: Path) -> Path:
    """Make the installation trust a TSA CA by copying it into ``keys/trusted-tsa/`` (the
    demo does this for its local TSA; an operator may do the same for a public TSA's root)."""
    folder = settings.keys_dir / TRUSTED_TSA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    cert = x509.load_pem_x509_certificate(Path(ca_file).read_bytes())
    dst = folder / f"{cert.fingerprint(hashes.SHA256()).hex()[:16]}.pem"
    if not dst.exists():
        dst.write_bytes(Path(ca_file).read_bytes())
    return dst
