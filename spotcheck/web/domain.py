"""The console's calls into the domain packages (sampler, evidence), found at run time.

Those packages are written alongside the console; a function that is not there (yet) makes
its action unavailable — the page still renders, the button says why — instead of breaking
the console.  Where the console needs the same fact the domain computes (a plan's diff), it
uses the domain function when present and a read-only equivalent otherwise.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from store.artifacts import ArtifactStore, is_sha256
from store.settings import Settings

__all__ = ["artifact_file", "find", "is_sha256"]


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


def artifact_file(settings: Settings, sha256: str) -> Path | None:
    """The file of a content-addressed artifact, or None when it is not on disk (one layout:
    :class:`store.artifacts.ArtifactStore`)."""
    return ArtifactStore(settings.artifacts_dir).find(sha256)
