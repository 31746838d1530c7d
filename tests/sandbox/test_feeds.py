"""Foreign notices: CPSC Recalls API JSON and a Safety Gate XML export naming sandbox products."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import httpx

from sandbox import Sandbox

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def test_cpsc_feed_has_the_api_shape_and_names_recalled_listings(sb: Sandbox, truth: dict[str, Any]) -> None:
    records = httpx.get(sb.cpsc_url).json()
    assert isinstance(records, list) and records
    for rec in records:
        assert {"RecallID", "RecallNumber", "RecallDate", "Title", "Products", "Manufacturers",
                "Hazards", "Remedies"} <= rec.keys()
        assert rec["Products"][0]["Model"]
    by_model = {r["model"]: r for r in truth["listings"]}
    recalled = truth["planted"]["recalled"]
    named = [rec for rec in records if rec["Products"][0]["Model"] in by_model]
    assert named and len(named) < len(records)  # some decoys name nothing we sell
    for rec in named:
        row = by_model[rec["Products"][0]["Model"]]
        assert row["brand"] == rec["Manufacturers"][0]["Name"]
        assert f"cpsc:{rec['RecallNumber']}" in recalled[row["key"]]
    first = records[0]["RecallDate"][:10]
    filtered = httpx.get(sb.cpsc_url, params={"RecallDateStart": first, "RecallDateEnd": first}).json()
    assert filtered and all(r["RecallDate"].startswith(first) for r in filtered)


def test_safety_gate_export_uses_xsi_nil_and_names_recalled_listings(sb: Sandbox, truth: dict[str, Any]) -> None:
    root = ET.fromstring(httpx.get(sb.safety_gate_url).content)
    notes = root.findall("notification")
    assert notes
    assert any(el.get(XSI_NIL) == "true" and not el.text for n in notes for el in n)
    by_model = {r["model"]: r for r in truth["listings"]}
    hits = 0
    for n in notes:
        model = n.findtext("typeNumberOfModel")
        if model in by_model:
            hits += 1
            row = by_model[model]
            assert n.findtext("brand") == row["brand"]
            assert f"safetygate:{n.findtext('reference')}" in truth["planted"]["recalled"][row["key"]]
    assert hits
    assert len(truth["planted"]["recalled"]) == sum(1 for n in truth["notices"] if n["listing"])
