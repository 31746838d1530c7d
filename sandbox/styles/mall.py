"""Style (a) "mall": a classic server-rendered marketplace (think Taobao/JD desktop pages).

URLs: ``/`` home, ``/c/<slug>?page=N`` category pages (20 per page), ``/item/<id>.html``
detail (also ``/i/<id>`` and any ``?spm=...&utm_*`` variant: same listing, rel=canonical),
``/store/<id>?page=N`` seller pages, ``/sitemap.xml``. Removed listings answer 404.
Quirks: a few detail pages are truncated mid-document; a few are GB18030 declared only in <meta>.
"""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.catalog import Listing
from sandbox.checkout import buy_form, checkout_routes
from sandbox.data import CATEGORIES, CATEGORY_BY_SLUG, SECTOR_ZH
from sandbox.paths import listing_path, seller_path
from sandbox.state import SandboxState
from sandbox.web import (
    esc,
    html_response,
    int_param,
    lazy_img,
    not_found,
    page,
    shared_routes,
    sitemap_routes,
)

STYLE = "mall"
PAGE_SIZE = 20
CSS = (".item-card{display:inline-block;width:240px;vertical-align:top;margin:6px}"
       ".price{color:#e4393c;font-weight:bold}.topbar a{margin-right:1em}")


def routes(state: SandboxState) -> list[Route]:
    cat = state.catalog

    def resolve(ext: str) -> Listing | None:
        i = cat.parse_external_id(STYLE, ext)
        return None if i is None or i % 3 != 0 else cat.listing(i, state.day)

    links = "".join(f'<a class="cat-link" href="/c/{c.slug}">{esc(c.zh)}</a> ' for c in CATEGORIES)
    header_html = ('<header class="topbar"><a class="logo" href="/">SBX商城</a> '
                '<a href="/cart">购物车</a> <a href="/login">登录</a></header>'
                f'<nav class="categories">{links}</nav>')

    def card(li: Listing, k: int) -> str:
        b = li.base
        href = listing_path(b)
        if k % 3 == 1:  # tracking-parameter duplicates, as real category pages emit them
            href += f"?spm=a1z10.3-c.w4002-{k}.{b.pos % 97}&utm_source=category&utm_medium=list"
        elif k % 3 == 2:
            href = f"/i/{b.external_id}?scm=1007.{b.pos % 13}"
        return (f'<div class="item-card" data-id="{b.external_id}">'
                f'<a class="item-link" href="{esc(href)}">{lazy_img(STYLE, b.external_id, 1, li.title)}'
                f'<div class="item-title">{esc(li.title)}</div></a>'
                f'<div class="price">{esc(li.price_display)}</div>'
                f'<a class="shop-link" href="{seller_path(STYLE, b.seller.seller_id)}">{esc(b.seller.name)}</a></div>')

    def cards(indices: list[int]) -> str:
        out = []
        for k, i in enumerate(indices):
            li = cat.listing(i, state.day)
            if li is not None and li.status == "active":
                out.append(card(li, k))
        return "".join(out)

    def pager(base: str, pg: int, pages: int) -> str:
        parts = []
        if pg > 1:
            parts.append(f'<a class="prev" rel="prev" href="{base}?page={pg - 1}">上一页</a>')
        for n in range(max(1, pg - 3), min(pages, pg + 3) + 1):
            cls = "page current" if n == pg else "page"
            parts.append(f'<a class="{cls}" href="{base}?page={n}">{n}</a>')
        if pg < pages:
            parts.append(f'<a class="next" rel="next" href="{base}?page={pg + 1}">下一页</a>')
        return f'<div class="pagination">{" ".join(parts)}</div>'

    async def home(request: Request) -> Response:
        featured = cards([cat.index_of(STYLE, j) for j in range(PAGE_SIZE)])
        body = f'{header_html}<h1>SBX商城 跨境好物</h1><div class="item-list">{featured}</div>'
        return html_response(page("SBX商城 - 跨境进口好物", body, request, css=CSS))

    async def category(request: Request) -> Response:
        c = CATEGORY_BY_SLUG.get(request.path_params["slug"])
        if c is None:
            return not_found(request)
        k = CATEGORIES.index(c)
        total = cat.category_count(STYLE, k, state.day)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        pg = int_param(request, "page", 1, 1, 10**6)
        if pg > pages:
            return not_found(request)
        idx = cat.category_slice(STYLE, k, (pg - 1) * PAGE_SIZE, pg * PAGE_SIZE, state.day)
        base = f"/c/{c.slug}"
        body = (f'{header_html}<div class="breadcrumb"><a href="/">首页</a> &gt; {esc(SECTOR_ZH[c.sector])} &gt; '
                f'<span class="cat-name">{esc(c.zh)}</span></div><h1>{esc(c.zh)} <small>{esc(c.en)}</small></h1>'
                f'<p class="count">共 <span id="total">{total}</span> 件商品</p>'
                f'<div class="item-list">{cards(idx)}</div>{pager(base, pg, pages)}')
        head = f'<link rel="canonical" href="{base}?page={pg}">'
        if pg < pages:
            head += f'<link rel="next" href="{base}?page={pg + 1}">'
        return html_response(page(f"{c.zh} - SBX商城", body, request, css=CSS, head=head))

    def detail_html(li: Listing, request: Request, charset: str) -> str:
        b = li.base
        s = b.seller
        imgs = "".join(lazy_img(STYLE, b.external_id, n, li.title) for n in range(1, b.images + 1))
        marks = "".join(f'<span class="cert-mark">{esc(m)}</span>' for m in b.cert_marks) or '<span class="none">无</span>'
        body = (
            f'{header_html}<div class="breadcrumb"><a href="/">首页</a> &gt; '
            f'<a href="/c/{b.category.slug}">{esc(b.category.zh)}</a></div>'
            f'<div class="detail" data-id="{b.external_id}"><div class="gallery">{imgs}</div>'
            f'<h1 class="item-title">{esc(li.title)}</h1>'
            f'<div class="price-box">价格 <span class="price" id="price">{esc(li.price_display)}</span></div>'
            '<table class="attrs">'
            f'<tr><th>品牌</th><td class="brand">{esc(b.brand.zh)} / {esc(b.brand.en)}</td></tr>'
            f'<tr><th>型号</th><td class="model">{esc(b.model)}</td></tr>'
            f'<tr><th>产地</th><td class="origin">{esc(b.origin)}</td></tr>'
            f'<tr><th>认证</th><td class="certs">{marks}</td></tr>'
            f'<tr><th>商品编号</th><td class="item-id">{b.external_id}</td></tr></table>'
            f'<div class="seller-box">店铺：<a class="shop-link" href="{seller_path(STYLE, s.seller_id)}">'
            f'{esc(s.name)}</a></div>{buy_form(li)}</div>'
        )
        head = f'<link rel="canonical" href="{listing_path(b)}">'
        return page(f"{li.title} - SBX商城", body, request, css=CSS, head=head, charset=charset)

    async def detail(request: Request) -> Response:
        li = resolve(request.path_params["ext_id"])
        if li is None or li.status != "active":
            return not_found(request, "商品不存在或已下架 This item does not exist or was removed")
        quirk = li.base.quirk
        if quirk == "gb18030":
            return html_response(detail_html(li, request, "gb18030"), encoding="gb18030")
        text = detail_html(li, request, "utf-8")
        if quirk == "truncated":
            cut = text.index("</table>") + len("</table>")
            return Response(text[:cut].encode("utf-8"), media_type="text/html; charset=utf-8")
        return html_response(text)

    async def store(request: Request) -> Response:
        s_idx = cat.parse_seller_id(STYLE, request.path_params["seller_id"])
        if s_idx is None:
            return not_found(request, "店铺不存在 Store not found")
        s = cat.seller(STYLE, s_idx)
        total = cat.seller_count(STYLE, s_idx, state.day)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        pg = int_param(request, "page", 1, 1, 10**6)
        idx = cat.seller_slice(STYLE, s_idx, (pg - 1) * PAGE_SIZE, pg * PAGE_SIZE, state.day)
        filing = (f'<li>跨境电商企业备案号：<span class="filing-number">{esc(s.filing_number)}</span></li>'
                  if s.filing_number else "")
        licence = (f'<li>营业执照注册号：<span class="licence-number">{esc(s.licence_number)}</span></li>'
                   if s.licence_number else "")
        body = (f'{header_html}<div class="store-info" data-seller-id="{s.seller_id}">'
                f'<h1 class="store-name">{esc(s.name)}</h1><ul class="qualifications">{filing}{licence}'
                f'<li>客服电话：<span class="phone">{esc(s.phone)}</span></li>'
                f'<li>邮箱：<span class="email">{esc(s.email)}</span></li>'
                f'<li>微信：<span class="wechat">{esc(s.wechat)}</span></li>'
                f'<li>地址：<span class="address">{esc(s.address)}</span></li></ul></div>'
                f'<div class="item-list">{cards(idx)}</div>{pager(seller_path(STYLE, s.seller_id), pg, pages)}')
        head = f'<link rel="canonical" href="{seller_path(STYLE, s.seller_id)}">'
        return html_response(page(f"{s.name} - SBX商城", body, request, css=CSS, head=head))

    return [
        Route("/", home),
        Route("/c/{slug}", category),
        Route("/item/{ext_id}.html", detail),
        Route("/i/{ext_id}", detail),
        Route("/store/{seller_id}", store),
        *sitemap_routes(state, STYLE),
        *checkout_routes(state, STYLE, resolve),
        *shared_routes(state, STYLE),
    ]
