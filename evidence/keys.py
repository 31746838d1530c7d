"""The installation's Ed25519 key: generated on first use, it signs every manifest.

The private key never leaves ``settings.keys_dir``; the public key travels in every pack so a
recipient can check signatures without us, and its fingerprint (SHA-256 of the raw public key)
can be published out of band so they know the key is ours.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from evidence.hashing import sha256_bytes
from store.errors import ConfigError, InvalidInput

PRIVATE_NAME = "installation-ed25519.pem"
PUBLIC_NAME = "installation-ed25519.pub.pem"


@dataclass(frozen=True)
class InstallationKey:
    """The signing key of this installation."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def public_pem(self) -> bytes:
        return public_pem(self.public)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public)

    def sign(self, data: bytes) -> str:
        """A base64 Ed25519 signature of *data*."""
        return base64.b64encode(self.private.sign(data)).decode("ascii")


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256_bytes(raw)


def private_pem(key: PrivateKeyTypes) -> bytes:
    """A private key as unencrypted PKCS#8 PEM (the file's 0600 mode is its protection)."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_key_once(private_path: Path, private: bytes, public_path: Path, public: bytes) -> None:
    """Write a new private key (mode 0600) and then its public half (key or certificate),
    unless another process has already created the private key file.

    Why O_EXCL: two processes starting together (scheduler and CLI) must end up with the same
    key, not each sign with its own; the first creator wins and the other reads its file
    (``read_settled`` waits out the moment where the winner is still writing).
    """
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    public_path.write_bytes(public)


def read_settled(path: Path, *, tries: int = 25, wait: float = 0.2) -> bytes:
    """The bytes of a key file that another process may be writing at this moment (missing
    or empty for a few milliseconds); whatever is there after *tries* waits otherwise."""
    import time

    for _ in range(tries):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            data = b""
        if data:
            return data
        time.sleep(wait)
    return path.read_bytes()


def load_or_create(keys_dir: Path) -> InstallationKey:
    """The installation key in *keys_dir*, created (mode 0600) the first time.

    Creation uses O_EXCL, so two processes starting together end up with the same key.
    """
    keys_dir.mkdir(parents=True, exist_ok=True)
    priv_path = keys_dir / PRIVATE_NAME
    if not priv_path.exists():
        key = Ed25519PrivateKey.generate()
        write_key_once(priv_path, private_pem(key), keys_dir / PUBLIC_NAME,
                       public_pem(key.public_key()))
    data = read_settled(priv_path)
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise ConfigError("evidence.installation_key_unreadable", path=priv_path,
                          detail=str(exc)[:200]) from exc
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigError("evidence.installation_key_not_ed25519", path=priv_path)
    return InstallationKey(private)


def load_public(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise InvalidInput("evidence.not_pem_public_key", detail=str(exc)[:200]) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("evidence.public_key_not_ed25519")
    return key


def verify_signature(key: Ed25519PublicKey, data: bytes, signature_b64: str) -> bool:
    """Whether *signature_b64* is a valid signature of *data* by *key*."""
    try:
        key.verify(base64.b64decode(signature_b64.strip(), validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True


RETIRED_DIR = "retired"


def rotate(keys_dir: Path) -> tuple[InstallationKey, InstallationKey, str]:
    """Retire the current key and make a new one; returns (old, new, transition statement).

    The old private key is deleted after it has signed a statement naming the new public key
    (kept in ``retired/<old fingerprint>.transition.json`` with the old public key), so anyone
    holding an old pack can follow the chain of keys; old packs carry their own public key and
    keep verifying.
    """
    import json

    from store.models import utcnow

    old = load_or_create(keys_dir)
    retired = keys_dir / RETIRED_DIR
    retired.mkdir(parents=True, exist_ok=True)
    new_private = Ed25519PrivateKey.generate()
    new = InstallationKey(new_private)
    statement = json.dumps({"old_fingerprint": old.fingerprint,
                            "new_fingerprint": new.fingerprint,
                            "new_public_key": new.public_pem().decode("ascii"),
                            "at": utcnow().isoformat()}, sort_keys=True)
    record = {"statement": statement, "signature": old.sign(statement.encode("utf-8"))}
    (retired / f"{old.fingerprint}.pub.pem").write_bytes(old.public_pem())
    (retired / f"{old.fingerprint}.transition.json").write_text(
        json.dumps(record, indent=2), encoding="utf-8")
    pem = new_private.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    tmp = keys_dir / (PRIVATE_NAME + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.replace(tmp, keys_dir / PRIVATE_NAME)
    (keys_dir / PUBLIC_NAME).write_bytes(new.public_pem())
    return old, new, statement
