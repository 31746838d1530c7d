"""Sample-chain steps signed as they happen: an append-only, signed hash chain per purchase.

A failed sample's pack seals its chain (purchase, order, receipt, seal, lab, result) when it
is exported; that proves the pack was not changed after export, not that the database said
the same the day each step was recorded.  So each entry of ``Purchase.history`` is sealed
when it is appended (:func:`seal_entry`): it names the hash of the entry before it
(``prev``, :data:`GENESIS` for the first), its own ``hash`` (SHA-256 of its canonical JSON
without ``hash`` and ``sig``) and ``sig``, the installation key's Ed25519 signature of that
hash, by the key named in ``key``.  Changing, removing or reordering an entry breaks its hash
or the next entry's ``prev``; forging one needs the key.  (Removing the *newest* entries
leaves a valid shorter chain: the steps the pack shows from the sample's own records — a
lab result with no signed entry for it — are what catches that.)

The pack carries the chain in :func:`pack_form`: every entry's hash, ``prev``, key and
signature, and its body where the body may be shown (entries naming a buyer persona keep
only their hashes, the links still check); :func:`check_pack_form` checks it offline.
Entries recorded before this existed carry no signature: they are counted and reported as
unsigned, never as tampered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from evidence.hashing import canonical_json, sha256_bytes
from evidence.keys import PRIVATE_NAME, InstallationKey, load_or_create, verify_signature
from store.messages import phrase

GENESIS = "0" * 64
_SEAL_FIELDS = ("hash", "sig")


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of the entry's canonical JSON, its own ``hash`` and ``sig`` left out."""
    return sha256_bytes(canonical_json({k: v for k, v in entry.items()
                                        if k not in _SEAL_FIELDS}))


def head(history: Sequence[dict[str, Any]]) -> str:
    """The hash the next entry links to: the last entry's (computed for an unsigned one)."""
    if not history:
        return GENESIS
    last = history[-1]
    return str(last.get("hash") or entry_hash(last))


@lru_cache(maxsize=8)
def _key(keys_dir: str, _mtime_ns: int) -> InstallationKey:
    return load_or_create(Path(keys_dir))


def installation_key(keys_dir: Path) -> InstallationKey:
    """The installation key, read once per key file version (a rotation is seen at once)."""
    path = keys_dir / PRIVATE_NAME
    mtime = path.stat().st_mtime_ns if path.exists() else 0
    if not mtime:
        load_or_create(keys_dir)
        mtime = path.stat().st_mtime_ns
    return _key(str(keys_dir), mtime)


def seal_entry(history: Sequence[dict[str, Any]], entry: dict[str, Any],
               key: InstallationKey) -> dict[str, Any]:
    """*entry* linked to *history* and signed: the dict to append."""
    out = {k: v for k, v in entry.items() if k not in (*_SEAL_FIELDS, "prev", "key")}
    out["prev"] = head(history)
    out["key"] = key.fingerprint
    out["hash"] = entry_hash(out)
    out["sig"] = key.sign(out["hash"].encode("ascii"))
    return out


def pack_form(history: Sequence[dict[str, Any]],
              shown: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The chain as a pack carries it: links and signatures of every entry, the body of
    those *shown* allows (the rest are checked by their links alone)."""
    out = []
    for e in history:
        signed = "sig" in e
        item: dict[str, Any] = {"hash": e.get("hash") if signed else entry_hash(e),
                                "signed": signed,
                                "entry": ({k: v for k, v in e.items() if k not in _SEAL_FIELDS}
                                          if shown(e) else None)}
        if signed:
            item.update(prev=e.get("prev"), key=e.get("key"), sig=e.get("sig"))
        out.append(item)
    return out


def check_pack_form(items: Sequence[dict[str, Any]],
                    key_for: Callable[[str], tuple[Any, Any]]
                    ) -> tuple[list[dict[str, Any]], int]:
    """Problems of a carried chain (coded phrases, ``verify_said.entry_*``), and how many
    entries are unsigned (recorded before steps were signed).  *key_for(fingerprint)* gives
    (public key or None, why not: a coded phrase or a text)."""
    problems: list[dict[str, Any]] = []
    unsigned = 0
    expected = GENESIS
    for n, item in enumerate(items, 1):
        h = str(item.get("hash") or "")
        body = item.get("entry")
        if body is not None and entry_hash(body) != h:
            problems.append(phrase("verify_said.entry_changed", n=n))
        if not item.get("signed"):
            unsigned += 1
            expected = h
            continue
        if item.get("prev") != expected or (body is not None and body.get("prev") != expected):
            problems.append(phrase("verify_said.entry_out_of_order", n=n))
        if body is not None and body.get("key") != item.get("key"):
            problems.append(phrase("verify_said.entry_other_key", n=n))
        fp = str(item.get("key") or "")
        key, why = key_for(fp)
        if key is None:
            problems.append(phrase("verify_said.entry_key", n=n, why=why))
        elif not verify_signature(key, h.encode("ascii"), str(item.get("sig") or "")):
            problems.append(phrase("verify_said.entry_signature_invalid", n=n))
        expected = h
    return problems, unsigned


def find(items: Sequence[dict[str, Any]], h: str | None) -> dict[str, Any] | None:
    """The shown body of the carried entry with hash *h*."""
    if not h:
        return None
    for item in items:
        if item.get("hash") == h:
            return item.get("entry")
    return None
