"""What Chromium sees per style (run under `flock /tmp/spotcheck-browser.lock`), and a covert
purchase clicked through end to end."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import Sandbox

from .conftest import Pick

pytestmark = pytest.mark.browser


def accept_consent(page: Any) -> None:
    overlay = page.locator("#consent-overlay")
    assert overlay.is_visible()
    page.click("#consent-accept")
    assert overlay.count() == 0


def test_mall_in_chromium_overlay_and_lazy_images(sb: Sandbox, pick: Pick, browser_page: Any) -> None:
    page = browser_page
    row = pick(platform="mall", flag_page_quirk=None, flag_hostile_title=False)
    page.goto(row["url"])
    assert page.inner_text("h1.item-title") == row["title"]
    assert page.inner_text("#price") == row["price_display"]
    # the overlay covers the page: a click on "add to cart" does not get through
    with pytest.raises(Exception, match=r"intercepts pointer events|Timeout"):
        page.click("#add-to-cart", timeout=800)
    accept_consent(page)
    img = page.locator(".gallery img").first
    img.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('.gallery img').src.includes('/img/')")
    assert "sbx_consent" in {c["name"] for c in page.context.cookies()}


def test_spa_renders_only_in_a_browser_and_keeps_hostile_text_inert(
        sb: Sandbox, truth: dict[str, Any], browser_page: Any) -> None:
    page = browser_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    row = next(r for r in truth["listings"] if r["platform"] == "spa" and "<" in r["title"]
               and r["status"] == "active")
    page.goto(row["url"])
    page.wait_for_selector("#app[data-ready='1']")
    assert page.inner_text("h1.item-title") == row["title"]  # rendered, as text
    assert page.locator("#app img[src='x']").count() == 0 and not dialogs
    page.goto(sb.urls["spa"] + "/c/toys")
    page.wait_for_selector("#app[data-ready='1']")
    titles = page.locator(".item-card .item-title").all_inner_texts()
    want = [r["title"] for r in truth["listings"]
            if r["platform"] == "spa" and r["category"] == "toys" and r["status"] == "active"][:20]
    assert titles == want


def test_shop_load_more_appends_products(sb: Sandbox, truth: dict[str, Any], browser_page: Any) -> None:
    page = browser_page
    page.goto(sb.urls["shop"] + "/collections/kitchenware")
    accept_consent(page)
    cards = page.locator(".product-card")
    n0 = cards.count()
    assert n0 == 24
    # The button's own click, dispatched in the page: Playwright's click scrolls it into
    # view first, which fires the infinite scroll too, and when that fetch brings the last
    # page the button is removed while the click still waits for it (a 30 s timeout in CI).
    page.eval_on_selector("#load-more", "b => b.click()")
    page.wait_for_function(f"document.querySelectorAll('.product-card').length > {n0}")
    ids = page.eval_on_selector_all(".product-card", "els => els.map(e => e.dataset.productId)")
    want = [r["external_id"] for r in truth["listings"] if r["platform"] == "shop"
            and r["category"] == "kitchenware" and r["status"] == "active"]
    assert ids == want[: len(ids)]


@pytest.mark.parametrize("platform", ["mall", "spa", "shop"])
def test_covert_purchase_end_to_end_in_chromium(sb: Sandbox, pick: Pick, browser_page: Any,
                                                platform: str) -> None:
    page = browser_page
    row = pick(platform=platform, flag_page_quirk=None, flag_hostile_title=False)
    page.goto(row["url"])
    accept_consent(page)
    page.click("#add-to-cart")
    page.wait_for_url("**/cart")
    assert row["title"] in page.inner_text("#cart")
    page.click("#go-checkout")
    page.wait_for_url("**/login?next=/checkout")
    page.fill("#account", f"persona-{platform}")
    page.fill("#password", "sandbox")
    page.click("#login-submit")
    page.wait_for_url("**/checkout")
    page.fill("#ship-name", "王五")
    page.fill("#ship-phone", "13700000000")
    page.fill("#ship-address", "广州市天河区体育西路1号")
    page.fill("#payment-ref", f"PAY-{platform}")
    page.click("#place-order")
    page.wait_for_url("**/orders/SBX-*")
    order_no = page.inner_text("#order-no")
    assert page.inner_text("#order-seller") == row["seller_name"]
    assert page.get_attribute("#order-paid", "data-amount") == row["price"]
    assert page.inner_text("#order-time")
    order = next(o for o in sb.orders() if o["order_no"] == order_no)
    assert (order["external_id"], order["account"], order["payment_ref"]) == (
        row["external_id"], f"persona-{platform}", f"PAY-{platform}")
