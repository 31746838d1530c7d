"""The console's calls into the domain packages (sampler, evidence), found at run time.

Those packages are written alongside the console; a function that is not there (yet) makes
its action unavailable — the page still renders, the button says why — instead of breaking
the console.  Where the console needs the same fact the domain computes (a plan's diff), it
uses the domain function when present and a read-only equivalent otherwise.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from store.settings import Settings

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def find(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` if both exist, else None (other import errors propagate)."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise
    fn = getattr(mod, name, None)
    return fn if callable(fn) else None


def is_sha256(value: str) -> bool:
    return bool(_SHA256.match(value))


def artifact_file(settings: Settings, sha256: str) -> Path | None:
    """The file of a content-addressed artifact, or None when it is not on disk.

    Uses the evidence package's own resolver when it has one; otherwise looks in the usual
    content-addressed layouts under the artifacts folder.
    """
    if not is_sha256(sha256):
        return None
    try:
        from evidence.storage import ArtifactStore
    except ModuleNotFoundError:
        ArtifactStore = None  # type: ignore[assignment,misc]
    if ArtifactStore is not None:
        path = ArtifactStore(settings.artifacts_dir).path(sha256)
        return path if path.is_file() else None
    base = settings.artifacts_dir
    for candidate in (base / sha256[:2] / sha256, base / sha256[:2] / sha256[2:4] / sha256,
                      base / sha256):
        if candidate.is_file():
            return candidate
    return None
