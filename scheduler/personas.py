"""Buyer personas: covert buyer identities per platform, secrets encrypted and masked.

A persona's account, password, drop address and payment reference are what would unmask the
regulator's buyers, so they are stored as Fernet tokens (:mod:`scheduler.vault`) and shown
masked everywhere; only :func:`reveal` (audited, for roles that may) and the buying code
(:func:`secrets_of`) see them in clear.  :class:`PersonaSecrets` masks itself in ``repr`` so a
stray log line or traceback cannot leak them either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scheduler.vault import Vault, mask
from store.errors import Conflict, InvalidInput, NotFound
from store.models import AuditEvent, BuyerPersona, Platform, Role
from store.settings import Settings

#: Roles that may see persona secrets in clear (samplers only when they ask explicitly).
REVEAL_ROLES = (Role.ADMIN.value, Role.SAMPLER.value)


@dataclass(frozen=True)
class DropAddress:
    """Where a covert purchase is shipped: recipient name, phone and address line."""

    name: str
    phone: str
    address: str

    @classmethod
    def parse(cls, value: DropAddress | dict[str, Any] | str) -> DropAddress:
        """From a dict, or a string ``name | phone | address``."""
        if isinstance(value, DropAddress):
            return value
        if isinstance(value, str):
            parts = [p.strip() for p in value.split("|")]
            if len(parts) != 3 or not all(parts):
                raise InvalidInput("personas.address_name_phone_address")
            return cls(*parts)
        try:
            return cls(str(value["name"]).strip(), str(value["phone"]).strip(),
                       str(value["address"]).strip())
        except KeyError as exc:
            raise InvalidInput("personas.address_needs_name_phone_address", exc=exc) from exc

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "phone": self.phone, "address": self.address}


@dataclass(frozen=True)
class PersonaSecrets:
    """Decrypted secrets of one persona; ``repr`` and ``str`` never show them."""

    persona_id: int
    alias: str
    account: str = field(repr=False)
    password: str | None = field(repr=False)
    address: DropAddress = field(repr=False)
    payment_ref: str = field(repr=False)

    def __str__(self) -> str:
        return f"persona {self.alias} (#{self.persona_id})"

    def values(self) -> list[str]:
        """Every secret string (tests assert none of them reaches logs or exports)."""
        out = [self.account, self.payment_ref, self.address.name, self.address.phone,
               self.address.address]
        return out + ([self.password] if self.password else [])


@dataclass(frozen=True)
class PersonaView:
    """What may be shown: masked unless revealed to a role that may see it."""

    id: int
    platform: str
    alias: str
    account: str
    address: str
    payment_ref: str
    active: bool
    revealed: bool

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def _check_text(name: str, value: str, limit: int = 500) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput("personas.empty", name=name)
    if len(value) > limit:
        raise InvalidInput("personas.longer_than_characters", name=name, limit=limit)
    return value


def create_persona(session: Session, platform_id: int, alias: str, account: str,
                   password: str | None, address: DropAddress | dict[str, Any] | str,
                   payment_ref: str, settings: Settings, *, actor: str = "system"
                   ) -> PersonaView:
    """Create a persona on a platform; the alias is the only field stored in clear."""
    platform = session.get(Platform, platform_id)
    if platform is None:
        raise NotFound("personas.platform", platform_id=platform_id)
    alias = _check_text("alias", alias, 100)
    drop = DropAddress.parse(address)
    vault = Vault(settings)
    persona = BuyerPersona(
        platform_id=platform_id, alias=alias,
        account_enc=vault.encrypt(_check_text("account", account)),
        password_enc=vault.encrypt(password) if password else None,
        address_enc=vault.encrypt(json.dumps(drop.as_dict(), ensure_ascii=False)),
        payment_ref_enc=vault.encrypt(_check_text("payment reference", payment_ref)),
    )
    try:
        with session.begin_nested():
            session.add(persona)
            session.flush()
    except IntegrityError as exc:
        raise Conflict("personas.platform_already_has_persona", platform_code=platform.code,
                       alias=alias) from exc
    session.add(AuditEvent(actor=actor, action="persona.create", object_type="buyer_persona",
                           object_id=str(persona.id), detail={"alias": alias,
                                                              "platform": platform.code}))
    return _view(persona, platform, vault, reveal=False)


def _get(session: Session, persona: int | str, platform_id: int | None = None) -> BuyerPersona:
    """A persona by id, or by alias (unique per platform; ambiguous aliases need a platform)."""
    if isinstance(persona, int) or str(persona).isdigit():
        row = session.get(BuyerPersona, int(persona))
        if row is None:
            raise NotFound("personas.buyer_persona_2", persona=persona)
        return row
    q = select(BuyerPersona).where(BuyerPersona.alias == persona)
    if platform_id is not None:
        q = q.where(BuyerPersona.platform_id == platform_id)
    rows = list(session.scalars(q))
    if not rows:
        raise NotFound("personas.buyer_persona", persona=persona)
    if len(rows) > 1:
        raise InvalidInput("personas.alias_exists_several_platforms_give", persona=persona)
    return rows[0]


def _view(p: BuyerPersona, platform: Platform, vault: Vault, *, reveal: bool) -> PersonaView:
    account = vault.decrypt(p.account_enc)
    address = DropAddress.parse(json.loads(vault.decrypt(p.address_enc)))
    payment = vault.decrypt(p.payment_ref_enc)
    if reveal:
        addr = f"{address.name} | {address.phone} | {address.address}"
        return PersonaView(p.id, platform.code, p.alias, account, addr, payment, p.active, True)
    addr = f"{mask(address.name)} | {mask(address.phone)} | {mask(address.address)}"
    return PersonaView(p.id, platform.code, p.alias, mask(account), addr, mask(payment),
                       p.active, False)


def list_personas(session: Session, settings: Settings, *, platform_id: int | None = None,
                  active_only: bool = False) -> list[PersonaView]:
    """All personas, masked."""
    q = select(BuyerPersona, Platform).join(Platform).order_by(Platform.code, BuyerPersona.alias)
    if platform_id is not None:
        q = q.where(BuyerPersona.platform_id == platform_id)
    if active_only:
        q = q.where(BuyerPersona.active.is_(True))
    vault = Vault(settings)
    return [_view(p, plat, vault, reveal=False) for p, plat in session.execute(q).all()]


def show_persona(session: Session, persona: int | str, settings: Settings, *,
                 reveal: bool = False, role: str | None = None, actor: str = "system"
                 ) -> PersonaView:
    """One persona; with *reveal*, in clear — only for :data:`REVEAL_ROLES`, and audited."""
    row = _get(session, persona)
    if reveal:
        if role not in REVEAL_ROLES:
            raise Conflict("personas.only_users_may_reveal_persona",
                           or_join_reveal_roles=' or '.join(REVEAL_ROLES))
        session.add(AuditEvent(actor=actor, action="persona.reveal", object_type="buyer_persona",
                               object_id=str(row.id), detail={"alias": row.alias}))
    platform = session.get(Platform, row.platform_id)
    assert platform is not None
    return _view(row, platform, Vault(settings), reveal=reveal)


def set_active(session: Session, persona: int | str, active: bool, *, actor: str = "system"
               ) -> BuyerPersona:
    """Retire (or bring back) a persona, e.g. after a platform flagged the account."""
    row = _get(session, persona)
    row.active = active
    session.add(AuditEvent(actor=actor, action="persona.enable" if active else "persona.disable",
                           object_type="buyer_persona", object_id=str(row.id), detail={}))
    return row


def secrets_of(session: Session, persona_id: int, settings: Settings) -> PersonaSecrets:
    """Decrypted secrets for the buying code; never print or log the fields."""
    row = _get(session, persona_id)
    vault = Vault(settings)
    return PersonaSecrets(
        persona_id=row.id, alias=row.alias, account=vault.decrypt(row.account_enc),
        password=vault.decrypt(row.password_enc) if row.password_enc else None,
        address=DropAddress.parse(json.loads(vault.decrypt(row.address_enc))),
        payment_ref=vault.decrypt(row.payment_ref_enc))

