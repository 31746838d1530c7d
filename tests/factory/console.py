"""The console's multi-role world, written straight into the database: users of every role
with passwords, a campaign with two plan versions (the second submitted by the sampler),
listings with the sandbox's hostile titles, captures with real PNG screenshots in the
artifact store, purchases, a case.

Written once per session by ``tests/web/conftest.py`` and copied as a data folder into each
console test (argon2 hashes and two plan draws take seconds).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
from dataclasses import dataclass, field
from decimal import Decimal

from PIL import Image, ImageDraw
from sqlalchemy import insert, select, update

from evidence import custody
from sampler.campaign_scope import create_campaign
from sampler.plans import draw_plan, reject_plan, submit_plan
from scheduler.personas import create_persona
from spotcheck import users
from store.artifacts import ArtifactStore
from store.db import Database
from store.models import (
    Artifact,
    BuyerPersona,
    Capture,
    Listing,
    ListingRisk,
    ListingSnapshot,
    Measure,
    MeasureKind,
    Notification,
    PlanItem,
    Platform,
    Purchase,
    PurchaseStatus,
    RiskReasonSet,
    RiskSignal,
    Sector,
    SupervisionClass,
)
from store.settings import Settings
from tests.factory import rows

PASSWORD = "correct horse battery"
HOSTILE_TITLES = (
    '<script>window.__pwned=1;alert("sbx")</script> 儿童保温杯',
    '"><img src=x onerror="window.__pwned=1;alert(1)"> USB charger 充电器',
    "<svg onload=alert(3)>婴儿连体衣</svg>",
    "'; DROP TABLE listings; -- 电热水壶",
    "\u202eعرض خاص 🔥🔥限时特价🔥💯",
)
TITLES = ("儿童电动牙刷 USB充电", "纯棉婴儿连体衣 3件装", "便携式暖手宝 充电款", "LED 护眼台灯",
          "Kids Water Bottle 500ml", "Travel Adapter EU/UK/US", "毛绒玩具 泰迪熊 30cm",
          "家用电吹风 负离子", "Silk Scarf 100% Mulberry", "蓝牙耳机 降噪 TWS")


@dataclass
class Seeded:
    campaign_id: int = 0
    plan_ids: list[int] = field(default_factory=list)  # [v1 (rejected), v2 (submitted)]
    listing_ids: list[int] = field(default_factory=list)
    hostile_listing_ids: list[int] = field(default_factory=list)
    capture_ids: list[int] = field(default_factory=list)
    order_capture_id: int = 0
    case_id: int = 0
    order_screenshot_sha: str = ""
    html_sha: str = ""


def screenshot_png(text: str, seed: int) -> bytes:
    """A small, distinct PNG standing in for a page screenshot."""
    rng = random.Random(seed)
    img = Image.new("RGB", (480, 640), (rng.randrange(180, 255), rng.randrange(180, 255), 240))
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 20, 460, 90), fill=(40, 70, 120))
    draw.text((30, 40), text[:40].encode("ascii", "replace").decode(), fill=(255, 255, 255))
    for i in range(6):
        draw.rectangle((30, 120 + i * 80, 450, 180 + i * 80), outline=(90, 90, 90))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def store_artifact(settings: Settings, data: bytes) -> str:
    """Store *data* in the installation's artifact store (the store's own layout, not a
    copy of it); returns its SHA-256."""
    return ArtifactStore(settings.artifacts_dir).put(data).sha256


def add_users(db: Database) -> None:
    """Users of every role who can log in with :data:`PASSWORD` (sid: a second supervisor)."""
    for name, role in (("sam", "sampler"), ("sue", "supervisor"), ("ian", "investigator"),
                       ("ada", "admin"), ("sid", "supervisor")):
        users.add_user(db, name, role, PASSWORD, actor="test")


def world(db: Database, settings: Settings, *, items: int | None = None, listings: int = 60,
         with_users: bool = True, captures: int = 12, budget: int | None = 4000) -> Seeded:
    """Write the console's test world over *listings* listings; the campaign draws *items*
    plan items, or as many as *budget* (CNY) buys."""
    rng = random.Random(7)
    out = Seeded()
    if with_users:
        add_users(db)
    now = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
    with db.session() as s:
        platform = rows.platform(s, "mall", name="Sandbox Mall 沙盒商城",
                                 base_url="http://mall.test", company_name="沙盒科技",
                                 jurisdiction_bureau="深圳海关")
        sellers = [rows.seller(s, platform.id, f"s{i}",
                               name=f"旗舰店 {i}" if i else '<b onmouseover="alert(9)">Evil Store</b>',
                               filing_number=None if i % 3 == 0 else f"F{i:04d}", flush=False)
                   for i in range(8)]
        s.flush()
        listing_rows = []
        for i in range(listings):
            hostile = i < len(HOSTILE_TITLES)
            title = HOSTILE_TITLES[i] if hostile else f"{TITLES[i % len(TITLES)]} #{i}"
            price = Decimal(rng.randrange(1500, 40000)) / 100
            sector = [Sector.ELECTRICAL, Sector.TEXTILES, Sector.LIGHT_INDUSTRY][i % 3]
            listing_rows.append({
                "platform_id": platform.id, "external_id": f"L{i:06d}",
                "url": f"http://mall.test/item/{i}", "title": title,
                "brand": ["Acme", "星光", "<i>Brand</i>", None][i % 4], "model": f"M-{i}",
                "price": price, "currency": "CNY", "price_cny": price,
                "seller_id": sellers[i % len(sellers)].id, "category": "kids",
                "sector": sector,
                "supervision_class": SupervisionClass.KEY if i % 4 == 0 else
                SupervisionClass.GENERAL,
                "class_reasons": [{"rule": "ccc", "matched": "充电"}],
                "prn": rng.random(), "content_hash": f"{i:064x}",
                "first_seen": now - dt.timedelta(days=30), "last_seen": now,
            })
        ids = list(s.scalars(insert(Listing).returning(Listing.id), listing_rows))
        # Where the generic extractor took each field of the first listing from (crawled
        # text: the source names are hostile too).
        s.execute(update(Listing).where(Listing.id == ids[0]).values(raw={
            "sources": {"title": "dom:h1", "price": "jsonld",
                        "brand": '<img src=x onerror=alert(6)>'},
            "fields": {"price": "9.90", "availability": "in_stock"}}))
        reasons = RiskReasonSet(reasons=[
            {"code": "unfiled_seller", "points": 0.3, "params": {},
             "en": "seller has no filing number", "zh": "卖家未备案"},
            {"code": "x", "points": 0.1, "params": {},
             "en": '<img src=x onerror=alert(5)>', "zh": '<img src=x onerror=alert(5)>'}])
        s.add(reasons)
        s.flush()
        s.execute(insert(ListingRisk), [
            {"listing_id": lid, "score": round(rng.random(), 3), "reason_set_id": reasons.id,
             "scored_at": now} for lid in ids])
        out.listing_ids = ids
        out.hostile_listing_ids = ids[:len(HOSTILE_TITLES)]
        for lid in ids[:10]:
            for v in range(1, 4):
                s.add(ListingSnapshot(listing_id=lid, version=v, content_hash=f"{lid}-{v}",
                                      seen_at=now - dt.timedelta(days=10 - 3 * v),
                                      changes=(["price", "availability"] if v == 3 else
                                               ["price"] if v > 1 else []),
                                      data={"title": listing_rows[ids.index(lid)]["title"],
                                            "price": str(20 + 5 * v),
                                            "availability": "out_of_stock" if v == 3
                                            else "in_stock"}))
            s.add(RiskSignal(key=f"complaint:{lid}", kind="complaint", source="csv",
                             listing_id=lid, value=1.0,
                             detail={"text": "<script>alert(7)</script> 消费者投诉"}))

    # The campaign and its plans through the sampler's own API: v1 drawn, submitted and sent
    # back by a supervisor; v2 drawn again and submitted by the sampler, awaiting review.
    with db.session() as s:
        campaign = create_campaign(s, "2026下半年 儿童用品抽检", actor="sam", platforms=["mall"],
                                   n=items, budget=None if items else budget, method="pivotal",
                                   allocation="risk", strata=["sector", "supervision_class"],
                                   team="抽样一组")
        campaign.period_start, campaign.period_end = dt.date(2026, 7, 1), dt.date(2026, 12, 31)
        out.campaign_id = campaign.id
        v1 = draw_plan(s, campaign.id, seed=1, actor="sam", settings=settings)
        submit_plan(s, v1.id, "sam")
        reject_plan(s, v1.id, "sue", "supervisor", "电子电器类太少，请重抽")
        v2 = draw_plan(s, campaign.id, seed=2, actor="sam", settings=settings)
        submit_plan(s, v2.id, "sam")
        out.plan_ids = [v1.id, v2.id]
    with db.session() as s:
        platform = s.scalars(select(Platform)).one()
        for k, lid in enumerate(ids[:captures]):
            png = screenshot_png(f"listing {lid}", k)
            sha = store_artifact(settings, png)
            cap = rows.capture(s, f"http://mall.test/item/{k}", kind="listing", listing_id=lid,
                               operator="ian", started_at=now + dt.timedelta(minutes=k),
                               manifest_sha256=hashlib.sha256(f"m{k}".encode()).hexdigest(),
                               meta={"user_agent": "Chromium", "server_ip": "127.0.0.1"})
            s.add(Artifact(capture_id=cap.id, role="screenshot_full", sha256=sha,
                           size=len(png), media_type="image/png"))
            out.capture_ids.append(cap.id)
        html = b'<html><body><script>alert("captured")</script>captured page</body></html>'
        out.html_sha = store_artifact(settings, html)
        s.add(Artifact(capture_id=out.capture_ids[0], role="dom", sha256=out.html_sha,
                       size=len(html), media_type="text/html"))
        for action in ("created", "viewed"):
            custody.record(s, action, "ian", capture_id=out.capture_ids[0])

        view = create_persona(s, platform.id, "买家小王", "wang.buyer@example.cn", "pw-2026",
                              {"name": "王小明", "phone": "13800138000",
                               "address": "深圳市南山区某路1号"}, "PAY-6222-0000-1111",
                              settings, actor="sam")
        persona = s.get(BuyerPersona, view.id)
        assert persona is not None
        old_items = list(s.scalars(select(PlanItem.id)
                                   .where(PlanItem.plan_id == out.plan_ids[0])
                                   .order_by(PlanItem.seq)))
        statuses = [PurchaseStatus.PLANNED, PurchaseStatus.ORDERED, PurchaseStatus.RECEIVED,
                    PurchaseStatus.SENT_TO_LAB, PurchaseStatus.RESULT, PurchaseStatus.CLOSED]
        first_purchase = None
        for k, item_id in enumerate(old_items[:12]):
            p = Purchase(idempotency_key=f"p{k}", plan_item_id=item_id, persona_id=persona.id,
                         status=statuses[k % len(statuses)],
                         deadline=now + dt.timedelta(days=k), order_number=f"ORD{k:05d}",
                         price_paid=Decimal("99.50") if k % 6 else None, currency="CNY")
            s.add(p)
            s.flush()
            first_purchase = first_purchase or p
        png = screenshot_png("order page with persona address", 99)
        out.order_screenshot_sha = store_artifact(settings, png)
        order = rows.capture(s, "http://mall.test/order/1", kind="order", persona_id=persona.id,
                             purchase_id=first_purchase.id if first_purchase else None,
                             operator="sam", meta={"persona": "买家小王", "address": "深圳市某路1号"})
        out.order_capture_id = order.id
        s.add(Artifact(capture_id=order.id, role="screenshot_full",
                       sha256=out.order_screenshot_sha, size=len(png), media_type="image/png"))

        case = rows.case(s, "CASE-2026-001", kind="counterfeit",
                         title='<script>alert("case")</script> 假冒 充电器', listing_id=ids[1],
                         platform_id=platform.id, jurisdiction_bureau="深圳海关",
                         opened_by="ian", summary="抽检不合格，线索移交属地。")
        out.case_id = case.id
        s.add(Measure(case_id=case.id, kind=MeasureKind.TAKEDOWN, by="ian",
                      due=dt.date(2026, 12, 15)))
        s.add(Notification(case_id=case.id, bureau="深圳海关", reference="通报〔2026〕12号",
                           by="ian"))
        s.get(Capture, out.capture_ids[1]).case_id = case.id  # type: ignore[union-attr]
    return out
