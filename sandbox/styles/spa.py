"""Style (b) "spa": a JavaScript single-page app; listing data only arrives via a JSON API.

Every HTML path (``/``, ``/c/<slug>``, ``/item/<id>``, ``/store/<id>``) returns the same
shell with no listing data; ``/static/app.js`` (vanilla JS, no CDN) fetches the API and
renders client-side, so plain HTTP on HTML pages sees nothing but the shell.

API: ``/api/v1/categories``, ``/api/v1/items?page=N&size=M[&category=slug]`` (size <= 100),
``/api/v1/items/<id>`` (404 ``{"error": "removed"}`` for removed listings),
``/api/v1/sellers/<id>``, ``/api/v1/sellers/<id>/items?page=N&size=M``.
Titles are raw (unescaped) in the JSON. Quirk "sparse_json": a few items carry the price
amount as a JSON number and omit the brand in list results.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.catalog import Listing
from sandbox.checkout import checkout_routes
from sandbox.data import CATEGORIES, CATEGORY_BY_SLUG
from sandbox.money import price_str
from sandbox.paths import listing_path
from sandbox.state import SandboxState
from sandbox.web import (
    consent_block,
    html_response,
    image_path,
    int_param,
    shared_routes,
    sitemap_routes,
)

STYLE = "spa"

SHELL_HEAD = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1"><title>SBX Global</title>'
    "<style>.card{display:inline-block;width:240px;margin:6px;vertical-align:top}"
    ".price{color:#c00;font-weight:bold}</style></head><body>"
    '<header><a href="/" data-link>SBX Global</a> <a href="/cart">Cart</a> <a href="/login">Sign in</a></header>'
    '<div id="app"><p class="loading">Loading…</p></div>'
    "<noscript>This shop needs JavaScript. 请启用JavaScript。</noscript>"
)
SHELL_TAIL = '<script src="/static/lazy.js"></script><script src="/static/app.js"></script></body></html>'


def routes(state: SandboxState) -> list[Route]:
    cat = state.catalog

    def resolve(ext: str) -> Listing | None:
        i = cat.parse_external_id(STYLE, ext)
        return None if i is None or i % 3 != 1 else cat.listing(i, state.day)

    def summary(li: Listing) -> dict[str, Any]:
        b = li.base
        sparse = b.quirk == "sparse_json"
        amount: Any = float(li.price) if sparse else price_str(li.price, b.currency)
        d: dict[str, Any] = {
            "id": b.external_id, "title": li.title,
            "price": {"amount": amount, "currency": b.currency, "formatted": li.price_display},
            "seller": {"id": b.seller.seller_id, "name": b.seller.name},
            "category": b.category.slug, "url": listing_path(b),
            "image": image_path(b.external_id, 1),
        }
        if not sparse:
            d["brand"] = b.brand.en
        return d

    def detail_json(li: Listing) -> dict[str, Any]:
        b = li.base
        d = summary(li)
        d.update({
            "brand": b.brand.en, "brand_local": b.brand.zh, "model": b.model, "origin": b.origin,
            "certifications": list(b.cert_marks), "category_name": b.category.en,
            "images": [image_path(b.external_id, n) for n in range(1, b.images + 1)],
            "status": li.status, "title_alt": b.title_zh if b.lang == "en" else b.title_en,
        })
        return d

    def page_of(indices: list[int]) -> list[dict[str, Any]]:
        out = []
        for i in indices:
            li = cat.listing(i, state.day)
            if li is not None and li.status == "active":
                out.append(summary(li))
        return out

    async def shell(request: Request) -> Response:
        return html_response(SHELL_HEAD + consent_block(request) + SHELL_TAIL)

    async def categories(request: Request) -> Response:
        return JSONResponse([{"slug": c.slug, "name": c.en, "name_zh": c.zh, "sector": c.sector,
                              "count": cat.category_count(STYLE, k, state.day)}
                             for k, c in enumerate(CATEGORIES)])

    async def items(request: Request) -> Response:
        size = int_param(request, "size", 20, 1, 100)
        pg = int_param(request, "page", 1, 1, 10**7)
        slug = request.query_params.get("category")
        start, stop = (pg - 1) * size, pg * size
        if slug:
            c = CATEGORY_BY_SLUG.get(slug)
            if c is None:
                return JSONResponse({"error": "unknown category"}, 404)
            k = CATEGORIES.index(c)
            total = cat.category_count(STYLE, k, state.day)
            idx = cat.category_slice(STYLE, k, start, stop, state.day)
        else:
            total = cat.platform_count(STYLE, state.day)
            idx = [cat.index_of(STYLE, j) for j in range(start, min(stop, total))]
        pages = max(1, math.ceil(total / size))
        nxt = None
        if pg < pages:
            nxt = f"/api/v1/items?page={pg + 1}&size={size}" + (f"&category={slug}" if slug else "")
        return JSONResponse({"page": pg, "size": size, "total": total, "pages": pages,
                             "next": nxt, "items": page_of(idx)})

    async def item(request: Request) -> Response:
        li = resolve(request.path_params["ext_id"])
        if li is None:
            return JSONResponse({"error": "not_found", "message": "No such item"}, 404)
        if li.status != "active":
            return JSONResponse({"error": "removed", "message": "This item has been removed",
                                 "id": li.base.external_id}, 404)
        return JSONResponse(detail_json(li))

    def seller_or_none(request: Request) -> int | None:
        return cat.parse_seller_id(STYLE, request.path_params["seller_id"])

    async def seller(request: Request) -> Response:
        s_idx = seller_or_none(request)
        if s_idx is None:
            return JSONResponse({"error": "not_found"}, 404)
        s = cat.seller(STYLE, s_idx)
        return JSONResponse({
            "id": s.seller_id, "name": s.name, "name_en": s.name_en,
            "filing_number": s.filing_number, "business_licence": s.licence_number,
            "contact": {"phone": s.phone, "email": s.email, "wechat": s.wechat, "address": s.address},
            "item_count": cat.seller_count(STYLE, s_idx, state.day),
            "items_url": f"/api/v1/sellers/{s.seller_id}/items",
        })

    async def seller_items(request: Request) -> Response:
        s_idx = seller_or_none(request)
        if s_idx is None:
            return JSONResponse({"error": "not_found"}, 404)
        size = int_param(request, "size", 20, 1, 100)
        pg = int_param(request, "page", 1, 1, 10**7)
        total = cat.seller_count(STYLE, s_idx, state.day)
        idx = cat.seller_slice(STYLE, s_idx, (pg - 1) * size, pg * size, state.day)
        return JSONResponse({"page": pg, "size": size, "total": total,
                             "pages": max(1, math.ceil(total / size)), "items": page_of(idx)})

    return [
        Route("/", shell),
        Route("/c/{slug}", shell),
        Route("/item/{ext_id}", shell),
        Route("/store/{seller_id}", shell),
        Route("/api/v1/categories", categories),
        Route("/api/v1/items", items),
        Route("/api/v1/items/{ext_id}", item),
        Route("/api/v1/sellers/{seller_id}", seller),
        Route("/api/v1/sellers/{seller_id}/items", seller_items),
        *sitemap_routes(state, STYLE),
        *checkout_routes(state, STYLE, resolve),
        *shared_routes(state, STYLE),
    ]
