"""Encryption at rest for buyer-persona secrets (account, password, drop address, payment ref).

A leaked database must not unmask the covert buyers: every secret field is a Fernet token
(AES-128-CBC + HMAC-SHA256, from ``cryptography``).  The key comes from ``settings.secret_key``
or, when that is empty, from a key file generated on first use in ``settings.keys_dir`` with
mode 0600, so the database and the key can be kept (and backed up) apart.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.errors import ConfigError, VerificationFailed
from store.settings import Settings

KEY_FILE = "persona-fernet.key"
#: During a rotation the new key waits here until the database has committed; a crash in
#: between leaves both files, and both keys are tried, so nothing becomes unreadable.
NEXT_KEY_FILE = "persona-fernet.key.next"
SECRET_COLUMNS = ("account_enc", "password_enc", "address_enc", "payment_ref_enc")


def key_path(settings: Settings) -> Path:
    return settings.keys_dir / KEY_FILE


def _load_or_create_key(settings: Settings) -> bytes:
    if settings.secret_key:
        return settings.secret_key.strip().encode("ascii")
    path = key_path(settings)
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError("vault.readable_others_mode_chmod", path=path, mode=mode)
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    # O_EXCL: two processes creating the key at once must not end up with different keys.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(key + b"\n")
    return key


def _fernet(key: bytes) -> Fernet:
    try:
        return Fernet(key)
    except ValueError as exc:
        raise ConfigError("vault.spotcheck_secret_key_fernet_key") from exc


class Vault:
    """Encrypts and decrypts persona secrets with the installation's Fernet key."""

    def __init__(self, settings: Settings) -> None:
        keys = [_fernet(_load_or_create_key(settings))]
        pending = settings.keys_dir / NEXT_KEY_FILE
        if not settings.secret_key and pending.exists():
            keys.append(_fernet(pending.read_bytes().strip()))
        self._fernet = MultiFernet(keys)

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as exc:
            raise VerificationFailed("vault.persona_secret_cannot_decrypted_key") from exc


def new_key() -> str:
    """A fresh Fernet key, for operators who keep the key in the environment."""
    return Fernet.generate_key().decode("ascii")


def mask(secret: str) -> str:
    """A hint that tells personas apart without revealing them: ``zh…@x…m`` style.

    Short values are fully hidden; longer ones keep the first and last character only, so no
    run of three or more secret characters ever appears in output.
    """
    if len(secret) <= 4:
        return "•" * 4
    return f"{secret[0]}{'•' * 6}{secret[-1]}"


def rotate_key(session: Session, settings: Settings, new: str | None = None) -> int:
    """Re-encrypt every persona secret with a new key; returns how many personas changed.

    With a key file: the new key is written beside the old one first, the database is
    re-encrypted in the caller's transaction, and :func:`finish_rotation` (after the commit)
    makes the new key current.  With ``SPOTCHECK_SECRET_KEY``, pass the new key as *new*
    and set the variable to it afterwards.
    """
    from store.models import BuyerPersona

    old = Vault(settings)
    if new is None:
        if settings.secret_key:
            raise ConfigError("vault.key_comes_from_spotcheck_secret")
        new_bytes = Fernet.generate_key()
        pending = settings.keys_dir / NEXT_KEY_FILE
        fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(new_bytes + b"\n")
    else:
        new_bytes = new.strip().encode("ascii")
    rotator = MultiFernet([_fernet(new_bytes), *old._fernet._fernets])
    changed = 0
    for persona in session.scalars(select(BuyerPersona)):
        for column in SECRET_COLUMNS:
            token = getattr(persona, column)
            if token:
                try:
                    setattr(persona, column,
                            rotator.rotate(token.encode("ascii")).decode("ascii"))
                except InvalidToken as exc:
                    raise VerificationFailed(
                        "vault.persona_cannot_decrypted_current_key", persona_id=persona.id,
                        column=column) from exc
        changed += 1
    session.flush()
    return changed


def finish_rotation(settings: Settings) -> None:
    """After the re-encryption committed: the pending key file becomes the key file."""
    pending = settings.keys_dir / NEXT_KEY_FILE
    if pending.exists():
        os.replace(pending, key_path(settings))
