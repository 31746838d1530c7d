"""The sandbox's planted truth loaded straight into the database (no crawl).

Platforms, sellers (with their published contacts) and listings become Platform, Seller and
Listing rows as a crawler would write them; a Chinese-language listing carries the Chinese
brand name, as its page shows it, so matching must bridge zh and en.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from store.db import Database
from store.models import Listing, Platform, Seller
from store.settings import get_settings

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def load_truth(db: Database, truth: dict[str, Any]) -> dict[str, int]:
    """Insert the truth's platforms, sellers and listings; return listing key -> listing id."""
    rates = get_settings().rates
    with db.session() as s:
        platform_ids: dict[str, int] = {}
        for code in sorted({r["platform"] for r in truth["listings"]}):
            p = Platform(code=code, name=f"Sandbox {code}", jurisdiction_bureau="深圳海关")
            s.add(p)
            s.flush()
            platform_ids[code] = p.id
        seller_rows = [{
            "platform_id": platform_ids[x["platform"]], "external_id": x["seller_id"],
            "name": x["name"], "filing_number": x["filing_number"],
            "licence_number": x["licence_number"], "contacts": x["contacts"],
            "first_seen": T0, "last_seen": T0} for x in truth["sellers"]
            if x["platform"] in platform_ids]
        s.execute(insert(Seller), seller_rows)
        seller_ids = {(platform_ids_rev, ext): sid for sid, platform_ids_rev, ext in s.execute(
            select(Seller.id, Seller.platform_id, Seller.external_id))}
        rows = []
        for r in truth["listings"]:
            price = Decimal(r["price"])
            rate = rates.get(r["currency"])
            pid = platform_ids[r["platform"]]
            rows.append({
                "platform_id": pid, "external_id": r["external_id"], "url": r["url"],
                "title": r["title"], "brand": r["brand_zh"] if r["lang"] == "zh" else r["brand"],
                "model": r["model"], "price": price, "currency": r["currency"],
                "price_cny": (price * rate).quantize(Decimal("0.01")) if rate else None,
                "seller_id": seller_ids.get((pid, r["seller_id"])), "category": r["category"],
                "sector": r["sector"], "supervision_class": r["supervision_class"],
                "cert_marks": r["cert_marks"], "status": r["status"], "origin": r["origin"],
                "first_seen": T0, "last_seen": T0})
        s.execute(insert(Listing), rows)
        return {f"{code}:{ext}": lid for lid, code, ext in s.execute(
            select(Listing.id, Platform.code, Listing.external_id).join(Platform))}


def write_feeds(seed: int, listings: int, folder: Path) -> tuple[Path, Path]:
    """The sandbox's CPSC JSON and Safety Gate XML, as files to import."""
    import json

    from sandbox.catalog import get_catalog
    from sandbox.feeds import cpsc_records, safety_gate_xml

    cat = get_catalog(seed, listings)
    cpsc = folder / "cpsc.json"
    cpsc.write_text(json.dumps(cpsc_records(cat), indent=2), "utf-8")
    sg = folder / "safety_gate.xml"
    sg.write_text(safety_gate_xml(cat), "utf-8")
    return cpsc, sg
