"""The one JSON serialiser: how the project writes dates, money, enumerations and paths.

The CLI's ``--json``, plan exports, recorded job results and the demo's summary all go
through here, so a date is an ISO 8601 string, a Decimal a string (no float rounding of
money), an enumeration its code and a set a list everywhere.  Canonical bytes for hashing
and signing stay in ``evidence.hashing.canonical_json`` (sorted keys, no spaces: a
different job).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from decimal import Decimal
from typing import Any

__all__ = ["dumps", "json_default", "jsonable"]


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)``: the project's types as JSON; anything else is an error."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any, *, indent: int | None = 2) -> str:
    """*data* as JSON text (UTF-8 characters kept, not escaped)."""
    return json.dumps(data, default=json_default, ensure_ascii=False, indent=indent)


def jsonable(value: Any) -> Any:
    """*value* as plain JSON types (dicts with string keys, lists, str, numbers, None), for a
    JSON column; what :func:`json_default` does not know becomes its ``str``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if value is None or (isinstance(value, bool | int | float | str) \
            and not isinstance(value, enum.Enum)):
        return value
    try:
        return json_default(value)
    except TypeError:
        return str(value)
