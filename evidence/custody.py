"""The chain of custody: an append-only log where each event hashes the one before it.

``hash = SHA-256(canonical JSON of the event's fields, including prev_hash)``.  Editing,
deleting or reordering any event breaks every hash after it, so the log checks itself
without the database.  Appends are serialised per database (PostgreSQL: a transaction-level
advisory lock; SQLite: taking the write lock first), so concurrent writers never fork the chain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from evidence.hashing import canonical_json, sha256_bytes
from store.messages import phrase, render
from store.models import CustodyEvent, utcnow

GENESIS = "0" * 64
#: Arbitrary constant naming the custody log's advisory lock on PostgreSQL.
_PG_LOCK_KEY = 0x5C0C_7E11
ACTIONS = ("created", "capture_failed", "viewed", "annotated", "exported", "export_failed",
           "verified", "key_exported", "key_rotated")


def _iso(at: dt.datetime) -> str:
    if at.tzinfo is None:  # SQLite returns naive datetimes; they are UTC
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def event_body(seq: int, at: dt.datetime | str, actor: str, action: str,
               capture_id: int | None, case_id: int | None, detail: dict[str, Any] | None,
               prev_hash: str) -> dict[str, Any]:
    """The fields an event's hash covers, in their portable form."""
    return {"seq": seq, "at": at if isinstance(at, str) else _iso(at), "actor": actor,
            "action": action, "capture_id": capture_id, "case_id": case_id,
            "detail": detail or {}, "prev_hash": prev_hash}


def event_hash(body: dict[str, Any]) -> str:
    return sha256_bytes(canonical_json(body))


def _lock(session: Session) -> None:
    """Serialise appends: only one writer may read the head and add the next event."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    elif dialect == "sqlite":
        # A write statement takes SQLite's write lock for the rest of the transaction, so
        # the head read below is the newest and no other writer can append meanwhile.
        session.execute(text("UPDATE custody_event SET seq = seq WHERE id = -1"))


def record(session: Session, action: str, actor: str, capture_id: int | None = None,
           case_id: int | None = None, detail: dict[str, Any] | None = None) -> CustodyEvent:
    """Append one custody event in *session*'s transaction (it commits with the caller)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown custody action {action!r}")
    session.flush()
    _lock(session)
    head = session.execute(
        select(CustodyEvent.seq, CustodyEvent.hash).order_by(CustodyEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
    at = utcnow()
    body = event_body(seq, at, actor, action, capture_id, case_id, detail, prev)
    event = CustodyEvent(seq=seq, at=at, actor=actor, action=action, capture_id=capture_id,
                         case_id=case_id, detail=detail or {}, prev_hash=prev,
                         hash=event_hash(body))
    session.add(event)
    session.flush()
    return event


def as_dict(event: CustodyEvent) -> dict[str, Any]:
    """An event as exported (its hashed body plus its hash)."""
    body = event_body(event.seq, event.at, event.actor, event.action, event.capture_id,
                      event.case_id, event.detail, event.prev_hash)
    body["hash"] = event.hash
    return body


@dataclass
class ChainCheck:
    ok: bool
    events: int
    #: in English (logs, --json)
    problems: list[str]
    #: the same problems as coded phrases (``verify_said.custody_*``), for the reader's language
    said: list[dict[str, Any]] = field(default_factory=list)


def check_chain(events: Sequence[dict[str, Any]], *, from_genesis: bool = False) -> ChainCheck:
    """Check exported events: each hash, each link, and increasing sequence numbers.

    Events may be *redacted* (only seq, prev_hash, hash: other cases' events in a pack);
    their hash cannot be recomputed but they keep the chain contiguous.
    """
    said: list[dict[str, Any]] = []
    prev: dict[str, Any] | None = None
    for i, ev in enumerate(events):
        where = {"n": i + 1, "seq": str(ev.get("seq"))}
        seq = ev.get("seq")
        if not ev.get("redacted"):
            body = {k: ev.get(k) for k in ("seq", "at", "actor", "action", "capture_id",
                                           "case_id", "detail", "prev_hash")}
            if event_hash(body) != ev.get("hash"):
                said.append(phrase("verify_said.custody_edited", **where))
        if prev is None:
            if from_genesis and ev.get("prev_hash") != GENESIS:
                said.append(phrase("verify_said.custody_not_first", **where))
        else:
            if not isinstance(seq, int) or seq != prev.get("seq", 0) + 1:
                said.append(phrase("verify_said.custody_out_of_order", **where,
                                   after=str(prev.get("seq"))))
            if ev.get("prev_hash") != prev.get("hash"):
                said.append(phrase("verify_said.custody_unlinked", **where))
        prev = ev
    problems = [render(p["code"], p["params"], "en") for p in said]
    return ChainCheck(not problems, len(events), problems, said)


def check_database(session: Session) -> ChainCheck:
    """Check the whole custody log in the database, from its first event."""
    rows = session.scalars(select(CustodyEvent).order_by(CustodyEvent.seq)).all()
    return check_chain([as_dict(e) for e in rows], from_genesis=True)


def excerpt(session: Session, relevant: Iterable[int]) -> list[dict[str, Any]]:
    """The log from the first to the last relevant event (by id), others redacted.

    A pack carries the events about its captures and case in full; events in between that
    belong to other work keep only (seq, prev_hash, hash), so the chain stays checkable
    without revealing other investigations.
    """
    wanted = set(relevant)
    rows = session.scalars(select(CustodyEvent).where(CustodyEvent.id.in_(wanted))
                           .order_by(CustodyEvent.seq)).all() if wanted else []
    if not rows:
        return []
    lo, hi = rows[0].seq, rows[-1].seq
    out: list[dict[str, Any]] = []
    for ev in session.scalars(select(CustodyEvent).where(CustodyEvent.seq.between(lo, hi))
                              .order_by(CustodyEvent.seq)):
        if ev.id in wanted:
            out.append(as_dict(ev))
        else:
            out.append({"seq": ev.seq, "redacted": True, "prev_hash": ev.prev_hash,
                        "hash": ev.hash})
    return out
