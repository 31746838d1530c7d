"""Foreign notices: CPSC Recalls API JSON and a Safety Gate XML export naming sandbox products."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import httpx

from sandbox import Sandbox

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


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
    """The current weekly layout: <Safety-Gate> header, <notifications> per alert, CDATA."""
    body = httpx.get(sb.safety_gate_url).content
    root = ET.fromstring(body)
    assert root.tag == "Safety-Gate" and root.findtext("report_language") == "en"
    assert b"<![CDATA[" in body and root.find("notification") is None
    notes = root.findall("notifications")
    assert notes and all(n.get(XSI_TYPE, "").startswith("webReportXmlWeeklyReportDetail")
                         for n in notes)
    assert any(el.get(XSI_NIL) == "true" and not el.text for n in notes for el in n)
    by_model = {r["model"]: r for r in truth["listings"]}
    hits = 0
    for n in notes:
        model = n.findtext("type_numberOfModel")
        assert (n.findtext("reference") or "").startswith("http")  # the alert's URL
        assert "Category of measure(s): " in (n.findtext("measures") or "")
        if model in by_model:
            hits += 1
            row = by_model[model]
            assert n.findtext("brand") == row["brand"]
            assert f"safetygate:{n.findtext('caseNumber')}" in truth["planted"]["recalled"][row["key"]]
    assert hits
    assert len(truth["planted"]["recalled"]) == sum(1 for n in truth["notices"] if n["listing"])


def test_safety_gate_weekly_index_and_reports(sb: Sandbox) -> None:
    """The index lists one report per week; each detail holds that week's alerts; together
    they hold every alert of the one-file export."""
    index = ET.fromstring(httpx.get(sb.safety_gate_index_url).content)
    assert index.tag == "Safety-Gate"
    refs = index.findall("weeklyReport")
    assert refs and all(r.findtext("reference", "").startswith("Report-") for r in refs)
    cases: list[str] = []
    for ref in refs:
        url = ref.findtext("URL", "")
        assert url.endswith("?language=en,")  # the trailing comma the real export writes
        report = ET.fromstring(httpx.get(url.rstrip(",")).content)
        assert report.findtext("report_week") == ref.findtext("reference", "").split("-")[-1]
        cases += [n.findtext("caseNumber", "") for n in report.findall("notifications")]
    everything = ET.fromstring(httpx.get(sb.safety_gate_url).content)
    assert sorted(cases) == sorted(n.findtext("caseNumber", "")
                                   for n in everything.findall("notifications"))
    missing = sb.safety_gate_index_url.replace("list/xml/en", "detail/xml/1")
    assert httpx.get(missing).status_code == 404
