"""Covert-purchase flow shared by all styles: sign in, cart, checkout, order confirmation.

Real HTML forms and a cookie session (``sbx_session``) so a browser can click through it.
Accounts are open: any account name with password ``sandbox``. One order is created per cart
line (platforms split orders per seller); numbers look like ``SBX-<day>-<seq>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sandbox.catalog import Listing
from sandbox.money import format_price, price_str
from sandbox.paths import listing_path, seller_path
from sandbox.state import SandboxState, Session
from sandbox.web import esc, html_response, page

PASSWORD = "sandbox"
COOKIE = "sbx_session"
FORM_CSS = "form label{display:block;margin:.4em 0}input{min-width:20em}"


async def form_data(request: Request) -> dict[str, str]:
    """URL-encoded form fields (all the forms here post urlencoded)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def checkout_routes(state: SandboxState, style: str,
                    resolve: Callable[[str], Listing | None]) -> list[Route]:
    """Routes of the purchase flow for one style; `resolve` maps an external id to a listing."""

    def session_of(request: Request) -> Session | None:
        tok = request.cookies.get(COOKIE)
        return state.sessions.get(tok) if tok else None

    def with_session(resp: Response, sess: Session) -> Response:
        resp.set_cookie(COOKIE, sess.token, httponly=True, samesite="lax", path="/")
        return resp

    def shell(title: str, body: str, request: Request, status: int = 200) -> Response:
        sess = session_of(request)
        who = (f'<span class="account">{esc(sess.account)}</span> <a href="/logout">退出</a>'
               if sess and sess.account else '<a href="/login">登录 Sign in</a>')
        nav = f'<nav class="topbar"><a href="/">首页 Home</a> <a href="/cart">购物车 Cart</a> {who}</nav>'
        return html_response(page(title, nav + body, request, css=FORM_CSS), status)

    async def login_form(request: Request) -> Response:
        nxt = esc(request.query_params.get("next", "/"))
        err = '<p class="error">账号或密码错误 Wrong account or password</p>' if request.query_params.get("error") else ""
        body = (f'<h1>登录 Sign in</h1>{err}<form id="login-form" method="post" action="/login">'
                f'<input type="hidden" name="next" value="{nxt}">'
                '<label>账号 Account <input name="account" id="account" autocomplete="username"></label>'
                '<label>密码 Password <input name="password" id="password" type="password"></label>'
                '<button type="submit" id="login-submit">登录 Sign in</button></form>'
                f'<p class="hint">Test accounts: any name, password "{PASSWORD}".</p>')
        return shell("登录 Sign in", body, request)

    async def login(request: Request) -> Response:
        f = await form_data(request)
        nxt = f.get("next") or "/"
        if not nxt.startswith("/") or nxt.startswith("//"):
            nxt = "/"
        account = f.get("account", "").strip()
        if not account or f.get("password") != PASSWORD:
            return RedirectResponse(f"/login?error=1&next={quote(nxt)}", 303)
        sess = session_of(request) or state.new_session()
        sess.account = account[:64]
        return with_session(RedirectResponse(nxt, 303), sess)

    async def logout(request: Request) -> Response:
        sess = session_of(request)
        if sess:
            sess.account = None
        return RedirectResponse("/", 303)

    async def cart_add(request: Request) -> Response:
        f = await form_data(request)
        ext = f.get("item_id", "")
        listing = resolve(ext)
        if listing is None or listing.status != "active":
            return shell("下架", '<h1 class="error">商品已下架 Item unavailable</h1>', request, 409)
        try:
            qty = min(max(int(f.get("qty", "1")), 1), 99)
        except ValueError:
            qty = 1
        sess = session_of(request) or state.new_session()
        sess.cart.append((style, ext, qty))
        return with_session(RedirectResponse("/cart", 303), sess)

    def cart_lines(sess: Session | None) -> list[tuple[Listing, int]]:
        out = []
        for _, ext, qty in sess.cart if sess else []:
            listing = resolve(ext)
            if listing is not None:
                out.append((listing, qty))
        return out

    async def cart(request: Request) -> Response:
        lines = cart_lines(session_of(request))
        rows = "".join(
            f'<tr class="cart-line" data-id="{esc(li.base.external_id)}"><td class="title">{esc(li.title)}</td>'
            f'<td class="qty">{q}</td><td class="price">{esc(li.price_display)}</td>'
            f'<td class="seller">{esc(li.base.seller.name)}</td></tr>'
            for li, q in lines)
        if not lines:
            body = '<h1>购物车 Cart</h1><p class="empty">购物车是空的 Your cart is empty</p>'
        else:
            body = (f'<h1>购物车 Cart</h1><table id="cart">{rows}</table>'
                    '<a id="go-checkout" class="button" href="/checkout">去结算 Checkout</a>')
        return shell("购物车 Cart", body, request)

    async def checkout_form(request: Request) -> Response:
        sess = session_of(request)
        if not sess or not sess.account:
            return RedirectResponse("/login?next=/checkout", 303)
        if not sess.cart:
            return RedirectResponse("/cart", 303)
        body = ('<h1>结算 Checkout</h1><form id="checkout-form" method="post" action="/checkout">'
                '<label>收货人 Name <input name="name" id="ship-name" required></label>'
                '<label>电话 Phone <input name="phone" id="ship-phone" required></label>'
                '<label>收货地址 Address <input name="address" id="ship-address" required></label>'
                '<label>支付流水号 Payment reference <input name="payment_ref" id="payment-ref" required></label>'
                '<button type="submit" id="place-order">提交订单 Place order</button></form>')
        return shell("结算 Checkout", body, request)

    async def checkout(request: Request) -> Response:
        sess = session_of(request)
        if not sess or not sess.account:
            return RedirectResponse("/login?next=/checkout", 303)
        f = await form_data(request)
        missing = [k for k in ("name", "phone", "address", "payment_ref") if not f.get(k, "").strip()]
        if missing:
            return shell("结算", f'<p class="error">缺少 missing: {esc(", ".join(missing))}</p>', request, 400)
        lines = cart_lines(sess)
        if any(li.status != "active" for li, _ in lines):
            return shell("下架", '<h1 class="error">商品已下架 Item unavailable</h1>', request, 409)
        numbers = []
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        for li, qty in lines:
            b = li.base
            paid = li.price * qty
            no = state.next_order_no()
            base = state.base_urls.get(style, "")
            order: dict[str, Any] = {
                "order_no": no, "platform": style, "account": sess.account, "day": state.day,
                "created_at": now, "external_id": b.external_id,
                "url": base + listing_path(b), "title": li.title, "quantity": qty,
                "unit_price": price_str(li.price, b.currency), "price_paid": price_str(paid, b.currency),
                "currency": b.currency, "price_paid_display": format_price(paid, b.currency, b.price_variant),
                "seller_id": b.seller.seller_id, "seller_name": b.seller.name,
                "shipping": {"name": f["name"], "phone": f["phone"], "address": f["address"]},
                "payment_ref": f["payment_ref"], "status": "paid",
            }
            state.add_order(order)
            numbers.append(no)
        sess.cart.clear()
        if len(numbers) == 1:
            return RedirectResponse(f"/orders/{numbers[0]}", 303)
        return RedirectResponse("/orders", 303)

    def own_orders(sess: Session | None) -> list[dict[str, Any]]:
        if not sess or not sess.account:
            return []
        return [o for o in state.list_orders() if o["account"] == sess.account and o["platform"] == style]

    async def order_page(request: Request) -> Response:
        no = request.path_params["order_no"]
        found = [o for o in own_orders(session_of(request)) if o["order_no"] == no]
        if not found:
            return shell("404", '<h1 class="error">订单不存在 Order not found</h1>', request, 404)
        o = found[0]
        body = (
            '<h1>下单成功 Order confirmed</h1><dl id="order-confirmation">'
            f'<dt>订单号 Order number</dt><dd id="order-no">{esc(o["order_no"])}</dd>'
            f'<dt>下单时间 Time</dt><dd id="order-time">{esc(o["created_at"])}</dd>'
            f'<dt>商品 Item</dt><dd id="order-item">{esc(o["title"])} × {o["quantity"]}</dd>'
            f'<dt>实付金额 Price paid</dt><dd id="order-paid" data-amount="{esc(o["price_paid"])}" '
            f'data-currency="{esc(o["currency"])}">{esc(o["price_paid_display"])}</dd>'
            f'<dt>卖家 Seller</dt><dd id="order-seller"><a href="{esc(seller_path(style, o["seller_id"]))}">'
            f'{esc(o["seller_name"])}</a></dd>'
            f'<dt>收货地址 Ship to</dt><dd id="order-address">{esc(o["shipping"]["address"])}</dd>'
            f'<dt>支付流水号 Payment reference</dt><dd id="order-payment">{esc(o["payment_ref"])}</dd></dl>')
        return shell(f"订单 {no}", body, request)

    async def orders(request: Request) -> Response:
        mine = own_orders(session_of(request))
        items = "".join(f'<li><a class="order-link" href="/orders/{esc(o["order_no"])}">{esc(o["order_no"])}</a> '
                        f'{esc(o["title"][:80])} {esc(o["price_paid_display"])}</li>' for o in mine)
        return shell("我的订单 Orders", f'<h1>我的订单 My orders</h1><ul id="orders">{items}</ul>', request)

    return [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout),
        Route("/cart/add", cart_add, methods=["POST"]),
        Route("/cart", cart),
        Route("/checkout", checkout_form, methods=["GET"]),
        Route("/checkout", checkout, methods=["POST"]),
        Route("/orders", orders),
        Route("/orders/{order_no}", order_page),
    ]


def buy_form(listing: Listing) -> str:
    """The add-to-cart form a detail page shows (a real form, so a browser can submit it)."""
    return ('<form class="buy" method="post" action="/cart/add">'
            f'<input type="hidden" name="item_id" value="{esc(listing.base.external_id)}">'
            '<label>数量 Qty <input name="qty" value="1" size="2"></label>'
            '<button type="submit" class="add-to-cart" id="add-to-cart">加入购物车 Add to cart</button></form>')
