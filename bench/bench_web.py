"""Console benchmark: server time of the plan review page (2,000 items) and of listings search
over 200,000 listings, against a trivial page and the login page measured in the same run.

    .venv/bin/python bench/bench_web.py [--listings 200000] [--items 2000] [--runs 15]
                                        [--db postgresql+psycopg://root@127.0.0.1:5432/test]

The console runs in uvicorn on 127.0.0.1 and is timed over real HTTP (httpx, keep-alive),
median of --runs requests after a warm-up.  Targets: plan review ≤ 300 ms, listings search
≤ 300 ms.  The plan review is also timed with its reason texts not yet remembered (a plan's
first view).  The load average is printed with the figures: on a busy machine wall times grow.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).parent))

import httpx
from _report import record
from sqlalchemy import insert, select, text

from sampler.campaign_scope import create_campaign
from sampler.plans import draw_plan, submit_plan
from spotcheck import users
from spotcheck.web import planview
from spotcheck.web.app import create_app
from store.db import Database
from store.models import (
    Listing,
    ListingRisk,
    Platform,
    RiskReasonSet,
    Sector,
    Seller,
    SupervisionClass,
)
from store.settings import Settings
from tests.web.conftest import csrf_of, serve

WORDS = ("儿童", "保温杯", "充电器", "连体衣", "台灯", "电吹风", "毛绒玩具", "耳机", "USB", "Kids",
         "Bottle", "Adapter", "纯棉", "婴儿", "LED", "Silk", "Scarf", "便携", "暖手宝", "降噪")
PASSWORD = "benchmark password"


def load(db: Database, listings: int, frame: int) -> None:
    """Bulk-load *listings* listings; the first *frame* are on the campaign's platform."""
    rng = random.Random(1)
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with db.session() as s:
        shop = Platform(code="shop", name="Shop")
        mall = Platform(code="mall", name="Mall")
        s.add_all([shop, mall])
        s.flush()
        sellers = [Seller(platform_id=(shop if i % 2 else mall).id, external_id=f"s{i}",
                          name=f"店铺 {i}") for i in range(2000)]
        s.add_all(sellers)
        s.flush()
        seller_ids = [(x.id, x.platform_id) for x in sellers]
        shop_id, mall_id = shop.id, mall.id
    batch: list[dict[str, object]] = []
    with db.engine.begin() as conn:
        for i in range(listings):
            platform = shop_id if i < frame else mall_id
            sid = rng.choice([x for x in seller_ids[:50] if x[1] == platform])[0]
            price = Decimal(rng.randrange(500, 50000)) / 100
            batch.append({
                "platform_id": platform, "external_id": f"L{i}", "url": f"http://x/{i}",
                "title": " ".join(rng.sample(WORDS, 4)) + f" #{i}", "brand": f"B{i % 300}",
                "model": f"M{i}", "price": price, "currency": "CNY", "price_cny": price,
                "seller_id": sid, "category": "kids",
                "sector": [Sector.ELECTRICAL, Sector.TEXTILES, Sector.LIGHT_INDUSTRY][i % 3],
                "supervision_class": SupervisionClass.KEY if i % 5 == 0
                else SupervisionClass.GENERAL,
                "prn": rng.random(), "content_hash": "",
                "first_seen": now, "last_seen": now})
            if len(batch) == 5000:
                conn.execute(insert(Listing), batch)
                batch.clear()
        if batch:
            conn.execute(insert(Listing), batch)
        reasons = conn.execute(insert(RiskReasonSet).returning(RiskReasonSet.id), [{"reasons": [
            {"code": "unfiled_seller", "points": 0.3, "params": {},
             "en": "seller has no filing number", "zh": "卖家未备案"}]}]).scalar_one()
        ids = conn.execute(select(Listing.id)).scalars().all()
        for start in range(0, len(ids), 5000):
            conn.execute(insert(ListingRisk), [
                {"listing_id": lid, "score": rng.random(), "reason_set_id": reasons,
                 "scored_at": now} for lid in ids[start:start + 5000]])


def timed(client: httpx.Client, path: str, runs: int, cold: bool = False) -> tuple[float, int]:
    """Median milliseconds of GET *path* over *runs* requests (after one warm-up), and size;
    *cold*: the plan review's remembered reason texts forgotten before each request."""
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code, r.text[:300])
    times = []
    for _ in range(runs):
        if cold:
            planview.clear_cache()
        t0 = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200
    return statistics.median(times), len(r.content)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listings", type=int, default=200_000)
    ap.add_argument("--items", type=int, default=2000)
    ap.add_argument("--frame", type=int, default=20_000, help="listings in the campaign's scope")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--db", default="", help="database URL (default: SQLite in a temp folder)")
    ap.add_argument("--quick", action="store_true",
                    help="20,000 listings and 5 runs (the plan keeps its 2,000 items)")
    args = ap.parse_args()
    if args.quick:
        args.listings, args.frame, args.runs = 20_000, 10_000, 5

    home = Path(tempfile.mkdtemp(prefix="bench-web-"))
    settings = Settings(home=home, db=args.db)
    settings.ensure_home()
    db = Database.open(settings.database_url, settings=settings)
    if args.db:
        from store.models import Base

        with db.engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    t0 = time.perf_counter()
    load(db, args.listings, args.frame)
    for name, role in (("sam", "sampler"), ("sue", "supervisor")):
        users.add_user(db, name, role, PASSWORD, actor="bench")
    with db.session() as s:
        campaign = create_campaign(s, "bench", actor="sam", platforms=["shop"], n=args.items,
                                   strata=["sector", "supervision_class"])
        draw_plan(s, campaign.id, seed=1, actor="sam", settings=settings)
        v2 = draw_plan(s, campaign.id, seed=2, actor="sam", settings=settings)
        submit_plan(s, v2.id, "sam")
        plan_id = v2.id
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"setup: {args.listings:,} listings, plan of {args.items:,} items (v2 against v1) "
          f"on {db.dialect} in {time.perf_counter() - t0:.1f} s")

    app = create_app(settings, db)
    load_before = os.getloadavg()
    for url in serve(app):
        with httpx.Client(base_url=url, timeout=60) as c:
            token = csrf_of(c.get("/login").text)
            r = c.post("/login", data={"name": "sue", "password": PASSWORD, "csrf": token})
            assert r.status_code == 303
            rare = f"%23{args.listings - 1}"
            rows = [
                ("baseline: /healthz (no database, no template)", "/healthz"),
                ("baseline: campaigns page (small page, session + user lookup)", "/campaigns"),
                (f"plan review, {args.items:,} items", f"/plans/{plan_id}"),
                (f"listings search, no text (page 1 by risk) over {args.listings:,}", "/listings"),
                ("listings search, text '保温杯'", "/listings?q=%E4%BF%9D%E6%B8%A9%E6%9D%AF"),
                ("listings search, text + sector + class filters",
                 "/listings?q=USB&sector=electrical&cls=key"),
                (f"listings search, rare text '#{args.listings - 1}'", f"/listings?q={rare}"),
                ("listings search, 2-character text '台灯' (LIKE fallback)",
                 "/listings?q=%E5%8F%B0%E7%81%AF"),
                ("listings search, platform + class filters", "/listings?platform=shop&cls=key"),
                ("listings search, page 200", "/listings?page=200"),
            ]
            results = [(label, *timed(c, path, args.runs)) for label, path in rows]
            results.insert(3, (f"plan review, {args.items:,} items, first view (reasons read)",
                               *timed(c, f"/plans/{plan_id}", args.runs, cold=True)))
    load_after = os.getloadavg()
    base = results[1][1]
    print("\n| page | median ms | ×campaigns page | KiB |\n|---|---:|---:|---:|")
    for label, ms, size in results:
        print(f"| {label} | {ms:.1f} | {ms / base:.1f} | {size / 1024:.0f} |")
    plan_ms = results[2][1]
    verdict = "meets" if plan_ms <= 300 else "MISSES"
    print(f"\nplan review: {plan_ms:.0f} ms for {args.items:,} items — {verdict} the 300 ms target")
    print(f"load average (1, 5, 15 min) before the timings: "
          f"{', '.join(f'{x:.2f}' for x in load_before)}; after: "
          f"{', '.join(f'{x:.2f}' for x in load_after)}; {os.cpu_count()} cores\n")
    for label, ms, _size in results[2:]:
        record(label, ms, "ms", baseline=base, baseline_label="campaigns page",
               higher_is_better=False, target="≤ 300 ms", ok=ms <= 300)
    record("load average (1 min) during the timings", max(load_before[0], load_after[0]),
           f"on {os.cpu_count()} cores")
    db.dispose()


if __name__ == "__main__":
    main()
