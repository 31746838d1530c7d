"""Key rotation: persona secrets survive a new Fernet key; the evidence key can be retired."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from scheduler.personas import create_persona, secrets_of
from scheduler.vault import KEY_FILE, NEXT_KEY_FILE, Vault, finish_rotation, rotate_key
from spotcheck.cli import main
from store.db import Database
from store.errors import ConfigError
from store.models import BuyerPersona
from store.settings import Settings
from tests import factory


def _persona(db: Database, settings: Settings) -> int:
    with db.session() as s:
        p = factory.platform(s, "mall")
        view = create_persona(s, p.id, "小李", "buyer1", "pw-secret",
                              {"name": "李", "phone": "13800000000", "address": "杭州 文三路"},
                              "PAY-0001", settings)
        return view.id


def test_persona_key_rotation_keeps_secrets(sqlite_db: Database, settings: Settings) -> None:
    pid = _persona(sqlite_db, settings)
    old_key = (settings.keys_dir / KEY_FILE).read_bytes()
    with sqlite_db.session() as s:
        before = s.get(BuyerPersona, pid).account_enc  # type: ignore[union-attr]
        assert rotate_key(s, settings) == 1
    # Between commit and finish, both keys are tried: nothing is unreadable.
    assert (settings.keys_dir / NEXT_KEY_FILE).exists()
    with sqlite_db.session() as s:
        assert secrets_of(s, pid, settings).account == "buyer1"
    finish_rotation(settings)
    assert (settings.keys_dir / KEY_FILE).read_bytes() != old_key
    assert not (settings.keys_dir / NEXT_KEY_FILE).exists()
    with sqlite_db.session() as s:
        row = s.get(BuyerPersona, pid)
        assert row is not None and row.account_enc != before
        sec = secrets_of(s, pid, settings)
        assert (sec.account, sec.password, sec.payment_ref) == ("buyer1", "pw-secret",
                                                                "PAY-0001")
    # The old key alone can no longer read the rotated secrets.
    from cryptography.fernet import Fernet, InvalidToken

    with pytest.raises(InvalidToken):
        Fernet(old_key.strip()).decrypt(row.account_enc.encode())
    assert Vault(settings).decrypt(row.account_enc) == "buyer1"


def test_env_key_rotation_needs_the_new_key(sqlite_db: Database, settings: Settings) -> None:
    from cryptography.fernet import Fernet

    settings.secret_key = Fernet.generate_key().decode()
    _persona(sqlite_db, settings)
    with pytest.raises(ConfigError, match="SPOTCHECK_SECRET_KEY"), sqlite_db.session() as s:
        rotate_key(s, settings)
    new = Fernet.generate_key().decode()
    with sqlite_db.session() as s:
        rotate_key(s, settings, new)
    settings.secret_key = new
    with sqlite_db.session() as s:
        pid = s.query(BuyerPersona.id).scalar()
        assert secrets_of(s, pid, settings).account == "buyer1"


def test_evidence_key_rotate_cli(settings: Settings, sqlite_db: Database,
                                 capsys: pytest.CaptureFixture[str],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from evidence.keys import load_or_create, load_public, verify_signature
    from spotcheck.users import add_user

    add_user(sqlite_db, "root.admin", "admin", "a-long-password-1", actor="test")
    home = str(settings.home)
    old = load_or_create(settings.keys_dir)
    with pytest.raises(SystemExit) as exit_info:  # a --user claim alone rotates nothing
        main(["--home", home, "--user", "root.admin", "evidence", "key", "rotate", "--json"])
    assert exit_info.value.code == 4 and "已登录的用户" in capsys.readouterr().err
    monkeypatch.setenv("SPOTCHECK_PASSWORD", "a-long-password-1")
    with pytest.raises(SystemExit) as exit_info:
        main(["--home", home, "--user", "root.admin", "evidence", "key", "rotate", "--json"])
    assert exit_info.value.code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["old_fingerprint"] == old.fingerprint != out["new_fingerprint"]
    new = load_or_create(settings.keys_dir)
    assert new.fingerprint == out["new_fingerprint"]
    retired = Path(settings.keys_dir) / "retired"
    record = json.loads((retired / f"{old.fingerprint}.transition.json").read_text())
    old_pub = load_public((retired / f"{old.fingerprint}.pub.pem").read_bytes())
    assert isinstance(old_pub, Ed25519PublicKey)
    assert verify_signature(old_pub, record["statement"].encode(), record["signature"])
    assert json.loads(record["statement"])["new_fingerprint"] == new.fingerprint
    # A sampler may not rotate it.
    add_user(sqlite_db, "li.na", "sampler", "a-long-password-2", actor="test")
    monkeypatch.setenv("SPOTCHECK_PASSWORD", "a-long-password-2")
    with pytest.raises(SystemExit) as exit_info:
        main(["--home", home, "--user", "li.na", "evidence", "key", "rotate"])
    assert exit_info.value.code == 4
