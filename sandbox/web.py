"""HTML building blocks and routes every style shares (admin, images, static files, robots).

Pages are built with f-strings and `esc` (html.escape) of everything generated: faster than a
template engine, and the escaping is visible at each use. Hostile listing text is escaped in
HTML like a well-behaved shop would; structured channels (JSON-LD, API JSON) carry it raw.
"""

from __future__ import annotations

import html
import json
import math
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.catalog import Listing
from sandbox.state import SandboxState

esc = html.escape
SITEMAP_CHUNK = 5000


def static_text(name: str) -> str:
    return resources.files("sandbox").joinpath("static", name).read_text(encoding="utf-8")


def html_response(body: str, status: int = 200, encoding: str = "utf-8",
                  headers: dict[str, str] | None = None) -> Response:
    """An HTML response; a non-UTF-8 `encoding` is declared in <meta> only (a real-world quirk)."""
    if encoding == "utf-8":
        return Response(body.encode("utf-8"), status, headers, "text/html; charset=utf-8")
    # Starlette would append "; charset=utf-8" to a text/* media type: set the header ourselves.
    return Response(body.encode(encoding, errors="replace"), status,
                    {**(headers or {}), "content-type": "text/html"})


def json_ld(obj: Any) -> str:
    """JSON for a <script> element: raw values, with `<`, `>`, `&` escaped as \\uXXXX so hostile
    text cannot close the element (what careful shops do); decoding gives the raw text back."""
    s = json.dumps(obj, ensure_ascii=False)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


CONSENT = (
    '<div id="consent-overlay" class="consent" role="dialog" aria-modal="true" '
    'style="position:fixed;inset:0;background:rgba(0,0,0,.6);z-index:9999;display:flex;'
    'align-items:center;justify-content:center">'
    '<div style="background:#fff;padding:2em;max-width:30em">'
    "<p>我们使用Cookie来改善您的购物体验。We use cookies to improve your shopping experience.</p>"
    '<button id="consent-accept" type="button">同意 Accept all</button> '
    '<button id="consent-reject" type="button">仅必要 Reject</button></div></div>'
    '<script src="/static/consent.js"></script>'
)


def consent_block(request: Request) -> str:
    """The cookie overlay, unless the visitor already answered (cookie `sbx_consent`)."""
    return "" if request.cookies.get("sbx_consent") else CONSENT


def image_path(ext_id: str, n: int) -> str:
    """A listing's image n: the first is its product photo (sandbox.photos), the others are
    drawings."""
    return f"/img/{ext_id}/1.jpg" if n == 1 else f"/img/{ext_id}/{n}.svg"


def lazy_img(platform: str, ext_id: str, n: int, alt: str, cls: str = "lazy") -> str:
    """A lazy image: the real URL sits in data-src; /static/lazy.js swaps it in when visible."""
    return (f'<img class="{cls}" src="/static/blank.svg" data-src="{esc(image_path(ext_id, n))}" '
            f'loading="lazy" width="240" height="240" alt="{esc(alt)}">')


def page(title: str, body: str, request: Request, *, lang: str = "zh-CN", head: str = "",
         charset: str = "utf-8", css: str = "") -> str:
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="{charset}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>{head}<style>{css}</style></head><body>{body}"
        f'{consent_block(request)}<script src="/static/lazy.js" defer></script></body></html>'
    )


def not_found(request: Request, message: str = "页面不存在 Page not found") -> Response:
    return html_response(page("404", f'<h1 class="error">{esc(message)}</h1>', request), 404)


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    try:
        v = int(request.query_params.get(name, default))
    except ValueError:
        return default
    return min(max(v, lo), hi)


def svg_image(ext_id: str, n: int) -> str:
    hue = (sum(map(ord, ext_id)) * 37 + n * 61) % 360
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="240" height="240">'
            f'<rect width="240" height="240" fill="hsl({hue},60%,70%)"/>'
            f'<text x="20" y="130" font-size="22">{esc(ext_id)} #{n}</text></svg>')


def listing_page_ok(listing: Listing | None) -> bool:
    return listing is not None and listing.status == "active"


def shared_routes(state: SandboxState, style: str) -> list[Route]:
    """Routes present on every style: robots.txt, admin (clock, orders), images, static JS."""

    async def robots(request: Request) -> Response:
        body = (
            "User-agent: *\nDisallow: /cart\nDisallow: /checkout\nDisallow: /orders\n"
            "Disallow: /admin\nDisallow: /login\nDisallow: /*?*spm=\n"
            f"Crawl-delay: 0.01\n\nSitemap: {request.base_url}sitemap.xml\n"
        )
        return Response(body, media_type="text/plain; charset=utf-8")

    async def admin_orders(request: Request) -> Response:
        orders = state.list_orders()
        if request.query_params.get("all") != "1":
            orders = [o for o in orders if o["platform"] == style]
        return JSONResponse(orders)

    async def admin_day(request: Request) -> Response:
        if request.method == "POST":
            try:
                payload = await request.json()
                state.day = max(0, int(payload["day"]))
            except (ValueError, KeyError, TypeError):
                return JSONResponse({"error": 'expected {"day": <int>}'}, 400)
        elif "set" in request.query_params:
            state.day = max(0, int_param(request, "set", state.day, 0, 10_000))
        return JSONResponse({"day": state.day})

    async def admin_health(request: Request) -> Response:
        return JSONResponse({"ok": True, "style": style, "seed": state.seed, "day": state.day,
                             "listings": state.listings, "obstacles": state.obstacles})

    async def image(request: Request) -> Response:
        ext_id = request.path_params["ext_id"]
        n = request.path_params["n"]
        return Response(svg_image(ext_id, n), media_type="image/svg+xml",
                        headers={"cache-control": "max-age=3600"})

    async def photo(request: Request) -> Response:
        from sandbox.photos import listing_photo

        i = state.catalog.parse_external_id(style, request.path_params["ext_id"])
        if i is None:
            return Response("not found", 404)
        return Response(listing_photo(state.seed, state.listings, i), media_type="image/jpeg",
                        headers={"cache-control": "max-age=3600"})

    async def notice_picture(request: Request) -> Response:
        from sandbox.photos import notice_photo

        index = request.path_params["index"]
        if not 0 <= index < state.catalog.n:
            return Response("not found", 404)
        return Response(notice_photo(state.seed, state.listings, index), media_type="image/jpeg",
                        headers={"cache-control": "max-age=3600"})

    static_cache: dict[str, tuple[str, str]] = {}

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in {"consent.js", "lazy.js", "app.js", "shop.js", "blank.svg"}:
            return Response("not found", 404)
        if name not in static_cache:
            mt = "image/svg+xml" if name.endswith(".svg") else "text/javascript; charset=utf-8"
            static_cache[name] = (static_text(name), mt)
        text, mt = static_cache[name]
        return Response(text, media_type=mt, headers={"cache-control": "max-age=3600"})

    async def hello(request: Request) -> Response:
        return Response("hello", media_type="text/plain")  # benchmark baseline

    return [
        Route("/robots.txt", robots),
        Route("/admin/hello", hello),
        Route("/admin/orders", admin_orders),
        Route("/admin/day", admin_day, methods=["GET", "POST"]),
        Route("/admin/health", admin_health),
        Route("/img/p/{index:int}.jpg", notice_picture),
        Route("/img/{ext_id}/1.jpg", photo),
        Route("/img/{ext_id}/{n:int}.svg", image),
        Route("/static/{name}", static),
    ]


def sitemap_index(base: str, count: int, extra: list[str]) -> Response:
    chunks = max(1, math.ceil(count / SITEMAP_CHUNK))
    locs = [f"{base}sitemap-items-{k}.xml" for k in range(chunks)] + extra
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "".join(f"<sitemap><loc>{esc(u)}</loc></sitemap>\n" for u in locs)
            + "</sitemapindex>\n")
    return Response(body, media_type="application/xml")


def urlset(urls: list[str]) -> Response:
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "".join(f"<url><loc>{esc(u)}</loc></url>\n" for u in urls) + "</urlset>\n")
    return Response(body, media_type="application/xml")


def sitemap_routes(state: SandboxState, style: str) -> list[Route]:
    """``/sitemap.xml`` (an index), ``/sitemap-items-<k>.xml`` (active listings, 5,000 each)
    and ``/sitemap-pages.xml`` (categories and sellers)."""
    from sandbox.data import CATEGORIES, PLATFORMS
    from sandbox.paths import category_path, listing_path, seller_path

    cat = state.catalog
    p = PLATFORMS.index(style)

    async def index(request: Request) -> Response:
        return sitemap_index(str(request.base_url), cat.platform_count(style, state.day),
                             [f"{request.base_url}sitemap-pages.xml"])

    async def items(request: Request) -> Response:
        k = request.path_params["k"]
        base = str(request.base_url).rstrip("/")
        count = cat.platform_count(style, state.day)
        urls = []
        for j in range(k * SITEMAP_CHUNK, min(count, (k + 1) * SITEMAP_CHUNK)):
            li = cat.listing(3 * j + p, state.day)
            if li is not None and li.status == "active":
                urls.append(base + listing_path(li.base))
        return urlset(urls)

    async def pages(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        urls = [base + category_path(style, c.slug) for c in CATEGORIES]
        urls += [base + seller_path(style, cat.seller_external_id(style, s))
                 for s in range(cat.sellers_per_platform)]
        return urlset(urls)

    return [
        Route("/sitemap.xml", index),
        Route("/sitemap-items-{k:int}.xml", items),
        Route("/sitemap-pages.xml", pages),
    ]
