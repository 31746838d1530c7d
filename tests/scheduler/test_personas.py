"""Buyer personas: encrypted at rest, masked in output, revealed only to roles that may."""

from __future__ import annotations

import stat
from typing import Any

import pytest
from sqlalchemy import text

from scheduler import personas
from scheduler.vault import Vault, key_path, new_key
from store.db import Database
from store.errors import ConfigError, Conflict, VerificationFailed
from store.settings import Settings
from tests.factory.shop import small_world

SECRETS: dict[str, Any] = dict(account="zhang.covert@example.cn", password="pw-Secret-9931",
               address={"name": "张三丰", "phone": "13800138000",
                        "address": "浙江省杭州市西湖区文三路 477 号"},
               payment_ref="PAYREF-77881234")


def make(db: Database, settings: Settings, alias: str = "buyer-a") -> tuple[int, int]:
    with db.session() as s:
        w = small_world(s, listings=1)
        view = personas.create_persona(s, w.platform_id, alias, settings=settings, **SECRETS)
        return w.platform_id, view.id


def all_secret_strings() -> list[str]:
    out = [SECRETS["account"], SECRETS["password"], SECRETS["payment_ref"]]
    return out + list(SECRETS["address"].values())


def test_secrets_are_encrypted_at_rest(any_db: Database, settings: Settings) -> None:
    _, pid = make(any_db, settings)
    with any_db.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM buyer_persona WHERE id = :i"), {"i": pid}).one()
    dump = repr(tuple(row))
    for secret in all_secret_strings():
        assert secret not in dump
    assert "buyer-a" in dump  # the alias is the one clear field
    with any_db.session() as s:
        sec = personas.secrets_of(s, pid, settings)
    assert sec.account == SECRETS["account"] and sec.address.phone == "13800138000"
    assert sec.password == SECRETS["password"]
    for secret in all_secret_strings():
        assert secret not in repr(sec) and secret not in str(sec)


def test_key_file_is_generated_private_and_reused(sqlite_db: Database, settings: Settings) -> None:
    make(sqlite_db, settings)
    path = key_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    Vault(settings)
    assert path.read_bytes() == before
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        Vault(settings)


def test_wrong_key_is_a_clear_error(sqlite_db: Database, settings: Settings) -> None:
    _, pid = make(sqlite_db, settings)
    other = settings.model_copy(update={"secret_key": new_key()})
    with sqlite_db.session() as s, pytest.raises(VerificationFailed, match="wrong"):
        personas.secrets_of(s, pid, other)
    bad = settings.model_copy(update={"secret_key": "not-a-key"})
    with pytest.raises(ConfigError, match="Fernet"):
        Vault(bad)


def test_masked_unless_revealed_by_allowed_role(sqlite_db: Database, settings: Settings) -> None:
    _platform_id, pid = make(sqlite_db, settings)
    with sqlite_db.session() as s:
        views = personas.list_personas(s, settings)
        assert [v.alias for v in views] == ["buyer-a"]
        blob = repr([v.as_dict() for v in views])
        for secret in all_secret_strings():
            assert secret not in blob
        with pytest.raises(Conflict, match="admin or sampler"):
            personas.show_persona(s, pid, settings, reveal=True, role="investigator")
        shown = personas.show_persona(s, "buyer-a", settings, reveal=True, role="admin",
                                      actor="root")
        assert shown.account == SECRETS["account"] and shown.revealed
    with sqlite_db.session() as s:
        audit = s.execute(text("SELECT actor, action FROM audit_event ORDER BY id")).all()
    assert ("root", "persona.reveal") in [tuple(a) for a in audit]


def test_alias_unique_per_platform(sqlite_db: Database, settings: Settings) -> None:
    platform_id, _ = make(sqlite_db, settings)
    with sqlite_db.session() as s, pytest.raises(Conflict, match="already has"):
        personas.create_persona(s, platform_id, "buyer-a", settings=settings, **SECRETS)
