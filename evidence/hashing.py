"""SHA-256 of bytes, files and zip members, and canonical JSON.

Everything evidence signs or chains is hashed over *canonical* JSON (sorted keys, no spaces,
UTF-8), so that the same content always gives the same digest on any machine.
"""

from __future__ import annotations

import hashlib
import json
import mmap
from pathlib import Path
from typing import Any

#: Read size for hashing files: large reads keep hashlib (which releases the GIL) busy.
CHUNK = 8 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, through mmap (no copies) when it is not empty."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size == 0:
            return h.hexdigest()
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            for start in range(0, size, CHUNK):
                h.update(mm[start:start + CHUNK])
    return h.hexdigest()


def canonical_json(data: Any) -> bytes:
    """The one byte form of *data* that is hashed and signed."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str).encode("utf-8")


def pretty_json(data: Any) -> bytes:
    """JSON for people (files in packs); hashes are taken over these exact bytes."""
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, default=str)
            + "\n").encode("utf-8")
