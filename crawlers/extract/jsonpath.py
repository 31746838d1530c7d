"""Dotted paths into JSON (``price.amount``, ``images.0``), for API profiles."""

from __future__ import annotations

from typing import Any


def get_path(data: Any, path: str) -> Any:
    """The value at a dotted *path* (list indices allowed), or None when any step is missing."""
    if not path:
        return data
    cur = data
    for step in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(step)
        elif isinstance(cur, list) and step.lstrip("-").isdigit():
            idx = int(step)
            cur = cur[idx] if -len(cur) <= idx < len(cur) else None
        else:
            return None
        if cur is None:
            return None
    return cur


def map_fields(data: Any, mapping: dict[str, str]) -> dict[str, Any]:
    """Listing field -> value, by a profile's mapping (alternatives separated by ``||``)."""
    out: dict[str, Any] = {}
    for name, paths in mapping.items():
        value = None
        for path in paths.split("||"):
            value = get_path(data, path.strip())
            if value not in (None, "", []):
                break
        out[name] = value
    return out
