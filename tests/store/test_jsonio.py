"""The one JSON serialiser (store.jsonio)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest

from store.jsonio import dumps, jsonable
from store.vocabulary import SupervisionClass


def test_project_types_have_one_json_form() -> None:
    data = {"at": dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.UTC), "day": dt.date(2026, 1, 2),
            "price": Decimal("12.30"), "class": SupervisionClass.KEY, "tags": {"a"},
            "path": Path("/x/y"), "名称": "店铺"}
    text = dumps(data)
    assert "店铺" in text  # not escaped
    assert json.loads(text) == {"at": "2026-01-02T03:04:00+00:00", "day": "2026-01-02",
                                "price": "12.30", "class": "key", "tags": ["a"],
                                "path": "/x/y", "名称": "店铺"}
    assert jsonable(data) == json.loads(text)
    with pytest.raises(TypeError):
        dumps({"x": object()})
    assert jsonable({1: object()})["1"].startswith("<object")
