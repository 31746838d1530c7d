"""Content-addressed artifact storage: every file lives at ``<sha[:2]>/<sha>``.

Naming files by their SHA-256 deduplicates them for free and makes tampering visible: a file
whose content no longer hashes to its name has been changed.  Writes go to a temporary file
in the same folder and are renamed into place, so a crash never leaves half a file under a
valid name.

The store sits in the bottom layer because every package keeps files this way: evidence
(captures, packs), the sampler (frozen frames), the scheduler (seal photos) and the console
(downloads) all resolve an artifact here, so there is one layout, not three.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from store.errors import NotFound, VerificationFailed

__all__ = ["ArtifactStore", "Stored", "is_sha256"]

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 8 << 20


def is_sha256(value: str) -> bool:
    """Whether *value* names an artifact (64 lowercase hex digits)."""
    return bool(_SHA256.match(value))


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in large chunks (hashlib releases the GIL meanwhile)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Stored:
    """The outcome of storing one file."""

    sha256: str
    size: int
    path: Path
    #: False when an identical file was already there (deduplicated).
    new: bool


class ArtifactStore:
    """The artifacts folder of one installation."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise NotFound("artifacts.sha", sha256=sha256)
        return self.root / sha256[:2] / sha256

    def find(self, sha256: str) -> Path | None:
        """The artifact's file, or None when *sha256* is not a digest or not on disk."""
        if not is_sha256(sha256):
            return None
        path = self.root / sha256[:2] / sha256
        return path if path.is_file() else None

    def put(self, data: bytes) -> Stored:
        """Store *data*; returns its digest and whether it was new."""
        digest = sha256_bytes(data)
        target = self.path(digest)
        if target.exists():
            return Stored(digest, len(data), target, new=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return Stored(digest, len(data), target, new=True)

    def read(self, sha256: str, *, check: bool = True) -> bytes:
        """The bytes of an artifact; with *check*, raise if they no longer match their name."""
        p = self.path(sha256)
        if not p.exists():
            raise NotFound("artifacts.artifact_missing_from", sha256=sha256, self_root=self.root)
        data = p.read_bytes()
        if check and sha256_bytes(data) != sha256:
            raise VerificationFailed("artifacts.artifact_was_altered_disk", sha256=sha256)
        return data

    def check(self, sha256: str) -> bool:
        p = self.path(sha256)
        return p.exists() and sha256_file(p) == sha256

    def discard(self, stored: list[Stored]) -> None:
        """Remove files this run created (undo after a failed capture); shared ones stay."""
        for s in stored:
            if s.new:
                s.path.unlink(missing_ok=True)
