"""Foreign notices in their real shapes, naming some sandbox products (for risk matching).

- US CPSC Recalls API: ``GET /RestWebServices/Recall?format=json`` answers a JSON array of
  recall records shaped like saferproducts.gov's (RecallID, RecallNumber, RecallDate, Title,
  Description, Products[{Name, Model, Type, ...}], Manufacturers, Hazards, Remedies, ...),
  with the real filters ``RecallDateStart``/``RecallDateEnd`` (YYYY-MM-DD).
- EU Safety Gate: ``GET /safety-gate/alerts.xml`` an XML export of alert notifications
  (reference, product category, name, brand, type/number of model, risk type, measures);
  values the notifier left empty are ``xsi:nil="true"`` elements, as in the export.

Each notice naming a catalogue listing repeats that listing's brand and model exactly; a few
decoy notices name products that are not sold in the sandbox.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.catalog import Catalog, Notice
from sandbox.state import SandboxState

XSI = "http://www.w3.org/2001/XMLSchema-instance"
SG_CATEGORY = {
    "toys": "Toys",
    "child-car-seats": "Childcare articles and children's equipment",
    "light_industry": "Kitchen/cooking accessories",
    "textiles": "Clothing, textiles and fashion items",
    "electrical": "Electrical appliances and equipment",
}


def cpsc_records(catalog: Catalog) -> list[dict[str, Any]]:
    """Recall records in the CPSC Recalls API JSON shape."""
    out = []
    for n in catalog.notices():
        if n.source != "cpsc":
            continue
        out.append({
            "RecallID": 10_000 + n.seq,
            "RecallNumber": n.notice_id,
            "RecallDate": f"{n.date}T00:00:00",
            "Description": f"This recall involves {n.product}, model {n.model}. {n.hazard}",
            "URL": f"https://www.cpsc.gov/Recalls/2026/{n.brand.replace(' ', '-')}-Recalls-{n.model}",
            "Title": f"{n.brand} Recalls {n.product} Due to {risk_type(n)} Hazard",
            "ConsumerContact": f"{n.brand} toll-free at 888-555-{1000 + n.seq:04d}",
            "LastPublishDate": f"{n.date}T00:00:00",
            "Products": [{"Name": n.product, "Description": f"{n.product} ({n.category})",
                          "Model": n.model, "Type": n.category, "CategoryID": str(1000 + n.seq % 50),
                          "NumberOfUnits": f"About {(n.seq % 9 + 1) * 1200:,}"}],
            "Inconjunctions": [],
            "Images": [{"URL": f"/img/{n.model}/1.svg", "Caption": n.product}],
            "Injuries": [{"Name": "None reported"}],
            "Manufacturers": [{"Name": n.brand, "CompanyID": str(50_000 + n.seq)}],
            "Retailers": [{"Name": "Online marketplaces", "CompanyID": ""}],
            "Importers": [],
            "Distributors": [],
            "ManufacturerCountries": [{"Country": n.country}],
            "ProductUPCs": [],
            "Hazards": [{"Name": n.hazard, "HazardType": risk_type(n), "HazardTypeID": ""}],
            "Remedies": [{"Name": "Refund"}],
            "RemedyOptions": [{"Option": "Refund"}],
        })
    return out


def risk_type(n: Notice) -> str:
    """The CPSC-style hazard word for a notice."""
    for word in ("Fire", "Choking", "Strangulation"):
        if word.lower() in n.hazard.lower():
            return word
    return "Injury"


def _el(name: str, value: str | None) -> str:
    if value is None or value == "":
        return f'<{name} xsi:nil="true"/>'
    return f"<{name}>{escape(value)}</{name}>"


def safety_gate_xml(catalog: Catalog) -> str:
    """Alert notifications as a Safety Gate XML export (xsi:nil marks missing values)."""
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<notifications xmlns:xsi="{XSI}">']
    for n in catalog.notices():
        if n.source != "safetygate":
            continue
        if n.index is not None:
            b = catalog.base(n.index)
            sg_cat = SG_CATEGORY.get(b.category.slug) or SG_CATEGORY[b.category.sector]
        else:
            sg_cat = "Toys"
        parts.append(
            "<notification>"
            + _el("reference", n.notice_id)
            + _el("publicationDate", n.date)
            + _el("alertType", "Consumer products")
            + _el("notifyingCountry", ("Germany", "France", "Italy", "Spain", "Poland")[n.seq % 5])
            + _el("productCategory", sg_cat)
            + _el("productType", n.category)
            + _el("name", n.product)
            + _el("brand", n.brand)
            + _el("typeNumberOfModel", n.model)
            + _el("batchNumber", None if n.seq % 3 else f"LOT{n.seq:04d}")
            + _el("barcode", None)
            + _el("countryOfOrigin", n.country)
            + _el("riskType", risk_type(n))
            + _el("riskLevel", "Serious risk")
            + _el("danger", n.hazard)
            + _el("measuresTaken", "Withdrawal of the product from the market")
            + _el("description", None if n.seq % 4 == 0 else f"{n.product}, model {n.model}.")
            + "</notification>"
        )
    parts.append("</notifications>\n")
    return "\n".join(parts)


def routes(state: SandboxState) -> list[Route]:
    async def cpsc(request: Request) -> Response:
        if request.query_params.get("format", "json").lower() != "json":
            return Response("only format=json is served here", 400)
        records = cpsc_records(state.catalog)
        start = request.query_params.get("RecallDateStart")
        end = request.query_params.get("RecallDateEnd")
        if start:
            records = [r for r in records if r["RecallDate"][:10] >= start]
        if end:
            records = [r for r in records if r["RecallDate"][:10] <= end]
        return JSONResponse(records)

    async def safety_gate(request: Request) -> Response:
        return Response(safety_gate_xml(state.catalog), media_type="application/xml")

    async def index(request: Request) -> Response:
        return JSONResponse({"cpsc": "/RestWebServices/Recall?format=json",
                             "safety_gate": "/safety-gate/alerts.xml"})

    return [
        Route("/", index),
        Route("/RestWebServices/Recall", cpsc),
        Route("/safety-gate/alerts.xml", safety_gate),
    ]
