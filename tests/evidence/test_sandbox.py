"""Captures of the sandbox marketplace checked against its ground truth (real Chromium).

One listing per case is chosen from ``sb.truth()`` — a mall page (server-rendered markup), a
shop product (JSON-LD) and a spa item (rendered client-side from a JSON API) — all behind
the sandbox's cookie-consent overlay.  They are captured on day 0 and again after
``sb.set_day(d)``, where the truth says the price changed, the listing was removed (mall:
404; shop: 200 "此商品已下架"; spa: the app shows "removed"), or nothing changed; the diff
must say exactly that.  Twelve captures in all.
"""

from __future__ import annotations

import asyncio
import html
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image, ImageChops, ImageStat
from sqlalchemy import select

from evidence.capture import capture_urls
from evidence.capture_browser import LOCALE, TIMEZONE, VIEWPORT
from evidence.diff import diff_captures, page_gone, visual_diff
from sandbox import Sandbox
from store import chromium
from store.artifacts import ArtifactStore
from store.db import Database
from store.models import Artifact, Capture, CaptureStatus
from store.settings import Settings

pytestmark = pytest.mark.browser

#: (platform, what the truth says happens to the listing by day d)
CASES = [("mall", "price"), ("mall", "removed"), ("shop", "price"), ("shop", "removed"),
         ("spa", "same"), ("spa", "removed")]


def _clean(li: dict[str, Any]) -> bool:
    """Not a hostile title or malformed page (other tests cover those); shop: JSON-LD."""
    if li["flags"]["hostile_title"] or li["flags"]["page_quirk"]:
        return False
    return li["platform"] != "shop" or (int(li["external_id"]) - 7000000) % 5 != 0


def _fate(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    if after["status"] == "removed":
        return "removed"
    if after["title"] != before["title"]:
        return None
    return "same" if after["price"] == before["price"] else "price"


def choose(sb: Sandbox) -> tuple[int, dict[tuple[str, str], tuple[dict[str, Any],
                                                                    dict[str, Any]]]]:
    """The first day on which every case has a listing, and (day-0, day-d) truth for each."""
    day0 = {li["key"]: li for li in sb.truth(day=0)["listings"]
            if li["status"] == "active" and _clean(li)}
    for d in range(1, 31):
        later = {li["key"]: li for li in sb.truth(day=d)["listings"]}
        picks: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        for key, li in day0.items():
            case = (li["platform"], _fate(li, later[key]) or "")
            if case in CASES and case not in picks:
                picks[case] = (li, later[key])
        if len(picks) == len(CASES):
            return d, picks
    raise AssertionError("the sandbox's truth has no day with every case")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory,
          chromium_path: str | None) -> Iterator[dict[str, Any]]:
    home = tmp_path_factory.mktemp("evsandbox")
    settings = Settings(home=home, db="", capture_allow_networks=["127.0.0.0/8"],
                        capture_timeout=20.0)
    settings.ensure_home()
    db = Database.open(settings.database_url, settings=settings)
    with Sandbox(seed=7, listings=300, obstacles=False) as sb:
        day, picks = choose(sb)
        urls = [picks[c][0]["url"] for c in CASES]
        raw = {c: httpx.get(picks[c][0]["url"], timeout=10).text for c in CASES}
        before = capture_urls(db, urls, operator="调查员甲", purpose="沙箱取证", settings=settings)
        sb.set_day(day)
        after = capture_urls(db, urls, operator="调查员甲", purpose="沙箱复查", settings=settings)
        yield {"db": db, "settings": settings, "day": day, "picks": picks, "raw": raw,
               "before": dict(zip(CASES, before, strict=True)),
               "after": dict(zip(CASES, after, strict=True)),
               "store": ArtifactStore(settings.artifacts_dir)}
    db.dispose()


def _load(world: dict[str, Any], cid: int) -> tuple[Capture, dict[str, bytes]]:
    with world["db"].session() as s:
        cap = s.get(Capture, cid)
        assert cap is not None
        assert cap.status == CaptureStatus.OK, cap.meta.get("error")
        arts = {a.role: world["store"].read(a.sha256)
                for a in s.scalars(select(Artifact).where(Artifact.capture_id == cid))}
        s.expunge(cap)
        return cap, arts


def _norm(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("case", CASES, ids=[f"{p}-{w}" for p, w in CASES])
def test_facts_match_the_truth_on_both_days(world: dict[str, Any], case: tuple[str, str]) -> None:
    then, now = world["picks"][case]
    cap, _ = _load(world, world["before"][case])
    assert cap.facts["title"] == _norm(then["title"])
    assert cap.facts["price"] == then["price"]
    assert not page_gone(cap.meta, cap.facts)
    if case[0] == "shop":  # JSON-LD offers carry the ISO currency and availability
        assert cap.facts["currency"] == then["currency"]
        assert cap.facts["availability"] == "in_stock"
    later, _ = _load(world, world["after"][case])
    assert page_gone(later.meta, later.facts) == (now["status"] == "removed")
    if now["status"] == "active":
        assert later.facts["title"] == _norm(now["title"])
        assert later.facts["price"] == now["price"]
    else:
        assert later.facts["price"] is None


@pytest.mark.parametrize("case", CASES, ids=[f"{p}-{w}" for p, w in CASES])
def test_recapture_diff_reports_exactly_what_changed(world: dict[str, Any],
                                                     case: tuple[str, str]) -> None:
    then, now = world["picks"][case]
    a, b = world["before"][case], world["after"][case]
    with world["db"].session() as s:
        later = s.get(Capture, b)
        assert later is not None and later.previous_capture_id == a
    d = diff_captures(world["db"], a, b, world["settings"])
    fate = case[1]
    if fate == "same":
        assert d.changes == {} and not d.removed and d.status == (200, 200)
    elif fate == "price":
        assert d.changes == {"price": (then["price"], now["price"])}
        assert not d.removed and d.gone == (False, False) and d.status == (200, 200)
        assert d.changed_pixels > 0 and d.bbox is not None  # the new price is on screen
    else:
        assert d.removed and d.gone == (False, True)
        assert "price" in d.changes and d.changes["price"][1] is None
        assert d.status == ((200, 404) if case[0] == "mall" else (200, 200))
        assert d.as_dict()["removed"] is True


@pytest.mark.parametrize("case", CASES, ids=[f"{p}-{w}" for p, w in CASES])
def test_consent_overlay_was_dismissed_and_logged(world: dict[str, Any],
                                                  case: tuple[str, str]) -> None:
    cap, arts = _load(world, world["before"][case])
    assert 'id="consent-overlay"' in world["raw"][case]  # the server sends it
    [clicked] = cap.meta["overlays_dismissed"]
    assert clicked["text"] == "同意 Accept all"
    step = next(s for s in cap.meta["steps"] if s["name"] == "dismiss_overlays")
    assert step["ok"]
    assert 'id="consent-overlay"' not in arts["dom"].decode()  # gone once answered
    share, _, _ = visual_diff(arts["screenshot_before_overlays"],
                              arts["screenshot_after_overlays"])
    assert share > 0.2  # the overlay covered the page


async def _reference_crops(url: str, executable: str | None) -> tuple[Image.Image, Image.Image,
                                                                      Any]:
    """The spa title's box, and the viewport there with the title shown and hidden."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await chromium.launch(pw, Settings())
        try:
            context = await browser.new_context(viewport=VIEWPORT, locale=LOCALE,
                                                timezone_id=TIMEZONE)
            page = await context.new_page()
            await page.goto(url, wait_until="load")
            await page.click("#consent-accept")
            title = page.locator("h1.item-title")
            await title.wait_for()
            box = await title.bounding_box()
            assert box is not None
            shown = await page.screenshot(clip=box)
            await title.evaluate("e => { e.style.visibility = 'hidden'; }")
            hidden = await page.screenshot(clip=box)
        finally:
            await browser.close()
    return (Image.open(io.BytesIO(shown)).convert("RGB"),
            Image.open(io.BytesIO(hidden)).convert("RGB"), box)


def _distance(a: Image.Image, b: Image.Image) -> float:
    return float(sum(ImageStat.Stat(ImageChops.difference(a, b)).mean))


@pytest.mark.parametrize("role", ["screenshot_viewport", "screenshot_full"])
def test_spa_title_exists_only_in_the_browser_and_was_captured(world: dict[str, Any],
                                                               role: str) -> None:
    case = ("spa", "same")
    then, _ = world["picks"][case]
    title = then["title"]
    assert title not in html.unescape(world["raw"][case])  # the server sends an empty shell
    _, arts = _load(world, world["before"][case])
    assert html.escape(title, quote=False) in arts["dom"].decode()
    shown, hidden, box = asyncio.run(_reference_crops(then["url"],
                                                      world["settings"].chromium_path()))
    assert _distance(shown, hidden) > 5  # the title's pixels are distinguishable
    shot = Image.open(io.BytesIO(arts[role])).convert("RGB")
    assert shot.width == VIEWPORT["width"]
    x, y = round(box["x"]), round(box["y"])
    crop = shot.crop((x, y, x + shown.width, y + shown.height))
    assert _distance(crop, shown) < _distance(crop, hidden) / 5

