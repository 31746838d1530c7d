"""Foreign notices in their real shapes, naming some sandbox products (for risk matching).

- US CPSC Recalls API: ``GET /RestWebServices/Recall?format=json`` answers a JSON array of
  recall records shaped like saferproducts.gov's (RecallID, RecallNumber, RecallDate, Title,
  Description, Products[{Name, Model, Type, ...}], Manufacturers, Hazards, Remedies, ...),
  with the real filters ``RecallDateStart``/``RecallDateEnd`` (YYYY-MM-DD).
- EU Safety Gate, in the layout the Commission publishes today (issue 22):
  ``GET /safety-gate-alerts/api/download/weeklyReport/list/xml/en`` the weekly index
  (``<Safety-Gate>`` with one ``<weeklyReport>`` per week: reference ``Report-YYYY-W``,
  publicationDate DD/MM/YYYY, the detail's URL with the trailing comma the export writes) and
  ``GET /safety-gate-alerts/api/download/weeklyReport/detail/xml/{id}`` one week's report
  (``<Safety-Gate>`` header ``report_language``/``report_date``/``report_year``/``report_week``/
  ``report_addendum``, one ``<notifications xsi:type="webReportXmlWeeklyReportDetail…Dto">`` per
  alert: ``caseNumber``, ``reference`` (the alert's URL), ``category``, ``product``, ``brand``,
  ``name``, ``type_numberOfModel``, ``riskType``, run-together ``measures`` …, values in CDATA,
  a missing one ``xsi:nil="true"``).  ``GET /safety-gate/alerts.xml`` is every alert in one such
  report (what the demo downloads and imports as a file).

Each notice naming a catalogue listing repeats that listing's brand and model exactly; a few
decoy notices name products that are not sold in the sandbox.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.catalog import Catalog, Notice
from sandbox.state import SandboxState

XSI = "http://www.w3.org/2001/XMLSchema-instance"
INDEX_PATH = "/safety-gate-alerts/api/download/weeklyReport/list/xml/en"
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
            # The product photo of the listing the recall names (sandbox.photos); a decoy's
            # picture is a drawing no listing shows.
            "Images": [{"URL": f"/img/p/{n.index}.jpg" if n.index is not None
                        else f"/img/{n.model}/1.svg", "Caption": n.product}],
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


def _cdata(value: str) -> str:
    """*value* as CDATA (a "]]>" inside is split across two sections, as XML requires)."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _el(name: str, value: str | None, nil_style: int = 0) -> str:
    """One field; a missing value written in one of the styles exports use."""
    if value is None or value == "":
        return (f'<{name} xsi:nil="true"/>', f"<{name}><![CDATA[]]></{name}>",
                f"<{name}/>")[nil_style % 3]
    return f"<{name}>{_cdata(value)}</{name}>"


SG_BASE = "http://safety-gate.sandbox.test/screen/webReport/alertDetail/"
MEASURE = ("Type of economic operator taking notified measure(s): {op}"
           "Category of measure(s): {measure}Date of entry into force: {date}")


def _week(n: Notice) -> tuple[int, int]:
    iso = dt.date.fromisoformat(n.date).isocalendar()
    return iso.year, iso.week


def _publication(year: int, week: int) -> dt.date:
    """Reports are published on the Friday of their week."""
    return dt.date.fromisocalendar(year, week, 5)


def report_id(year: int, week: int) -> int:
    return 10_000_000 + year * 100 + week


def _alert(catalog: Catalog, n: Notice, order: int) -> str:
    if n.index is not None:
        b = catalog.base(n.index)
        sg_cat = SG_CATEGORY.get(b.category.slug) or SG_CATEGORY[b.category.sector]
    else:
        sg_cat = "Toys"
    day = dt.date.fromisoformat(n.date).strftime("%d/%m/%Y")
    operator = ("Distributor", "Manufacturer", "Importer")[n.seq % 3]
    kind = ("webReportXmlWeeklyReportDetailMotorVehicleContentDto" if n.seq % 2
            else "webReportXmlWeeklyReportDetailContentDto")
    return (f'<notifications xsi:type="{kind}">'
            + f"<order>{order}</order>"
            + _el("caseNumber", n.notice_id)
            + _el("reference", f"{SG_BASE}{10_090_000 + n.seq}")
            + _el("category", sg_cat)
            + _el("product", n.category)
            + _el("brand", n.brand)
            + _el("name", n.product)
            + _el("type_numberOfModel", n.model)
            + _el("batchNumber", None if n.seq % 3 else f"LOT{n.seq:04d}", n.seq)
            + _el("barcode", None, n.seq + 1)
            + _el("riskType", risk_type(n))
            + _el("danger", n.hazard)
            + _el("measures", MEASURE.format(op=operator, date=day, measure=(
                "Withdrawal of the product from the market", "Recall of the product from end "
                "users", "Removal of this product listing by the online marketplace")[n.seq % 3]))
            + _el("URLrecall", None, n.seq)
            + _el("description", None if n.seq % 4 == 0 else f"{n.product}, model {n.model}.",
                  n.seq + 2)
            + _el("notifyingCountry", ("Germany", "France", "Italy", "Spain", "Poland")[n.seq % 5])
            + _el("countryOfOrigin", n.country)
            + _el("type", "Consumer")
            + _el("level", "Serious risk")
            + "<pictures>" + _el("picture", f"{SG_BASE}{10_090_000 + n.seq}/picture/1")
            + "</pictures>"
            + _el("onlineTrader", None, n.seq)
            + _el("companyRecallCode", None, n.seq + 1)
            + _el("productionDates", None, n.seq + 2)
            + "</notifications>")


def weekly_report_xml(catalog: Catalog, notices: list[Notice], year: int, week: int) -> str:
    """One week's alerts as Safety Gate's current weekly detail export."""
    published = _publication(year, week)
    parts = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             f'<Safety-Gate xmlns:xsi="{XSI}">',
             "<report_language>en</report_language>",
             f"<report_date>{published.strftime('%d/%m/%Y')}</report_date>",
             f"<report_year>{year}</report_year>", f"<report_week>{week}</report_week>",
             '<report_addendum xsi:nil="true"/>']
    parts += [_alert(catalog, n, i) for i, n in enumerate(notices, start=1)]
    parts.append("</Safety-Gate>\n")
    return "\n".join(parts)


def safety_gate_weeks(catalog: Catalog) -> dict[tuple[int, int], list[Notice]]:
    """The sandbox's Safety Gate alerts grouped by the ISO week of their date."""
    weeks: dict[tuple[int, int], list[Notice]] = defaultdict(list)
    for n in catalog.notices():
        if n.source == "safetygate":
            weeks[_week(n)].append(n)
    return dict(sorted(weeks.items()))


def safety_gate_xml(catalog: Catalog) -> str:
    """Every alert in one weekly report (dated with the latest week): the file the demo
    imports."""
    weeks = safety_gate_weeks(catalog)
    everything = [n for notes in weeks.values() for n in notes]
    year, week = max(weeks) if weeks else dt.date(2026, 1, 2).isocalendar()[:2]
    return weekly_report_xml(catalog, everything, year, week)


def weekly_index_xml(catalog: Catalog, base_url: str) -> str:
    """The weekly index: one entry per week with alerts, newest first, as the export lists."""
    parts = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>', "<Safety-Gate>"]
    for year, week in sorted(safety_gate_weeks(catalog), reverse=True):
        rid = report_id(year, week)
        parts.append(
            "<weeklyReport>"
            f"<reference>Report-{year}-{week}</reference>"
            f"<publicationDate>{_publication(year, week).strftime('%d/%m/%Y')}</publicationDate>"
            f"<URL>{base_url}/safety-gate-alerts/api/download/weeklyReport/detail/xml/{rid}"
            "?language=en,</URL>"
            "</weeklyReport>")
    parts.append("</Safety-Gate>\n")
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

    async def sg_index(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return Response(weekly_index_xml(state.catalog, base), media_type="application/xml")

    async def sg_detail(request: Request) -> Response:
        wanted = request.path_params["report"]
        for (year, week), notes in safety_gate_weeks(state.catalog).items():
            if report_id(year, week) == wanted:
                return Response(weekly_report_xml(state.catalog, notes, year, week),
                                media_type="application/xml")
        return Response("no such weekly report", 404)

    async def index(request: Request) -> Response:
        return JSONResponse({"cpsc": "/RestWebServices/Recall?format=json",
                             "safety_gate": "/safety-gate/alerts.xml",
                             "safety_gate_index": INDEX_PATH})

    return [
        Route("/", index),
        Route("/RestWebServices/Recall", cpsc),
        Route("/safety-gate/alerts.xml", safety_gate),
        Route(INDEX_PATH, sg_index),
        Route("/safety-gate-alerts/api/download/weeklyReport/detail/xml/{report:int}",
              sg_detail),
    ]
