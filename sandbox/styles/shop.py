"""Style (c) "shop": a storefront publishing schema.org Product data, with "load more".

URLs: ``/`` home, ``/collections/<slug>`` (24 per page, ``?page=N`` HTML with <link rel=next>,
``/collections/<slug>.json?page=N`` for the "load more" button / infinite scroll; ``all`` is
every product), ``/products/<slug>-<id>`` product pages (any slug and the alias
``/collections/<c>/products/<slug>-<id>`` serve the same product: rel=canonical tells),
``/sellers/<vendor-id>``. Product data is JSON-LD on most pages and microdata on every fifth
(``pos % 5 == 0``). A removed product answers **200** with a "此商品已下架 / no longer
available" page and no Product data. Quirks: broken JSON-LD, GB18030 declared only in <meta>.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.catalog import Listing
from sandbox.checkout import buy_form, checkout_routes
from sandbox.data import CATEGORIES, CATEGORY_BY_SLUG
from sandbox.money import price_str
from sandbox.paths import listing_path, seller_path
from sandbox.state import SandboxState
from sandbox.web import (
    esc,
    html_response,
    image_path,
    int_param,
    json_ld,
    lazy_img,
    not_found,
    page,
    shared_routes,
    sitemap_routes,
)

STYLE = "shop"
PAGE_SIZE = 24
CSS = (".product-card{display:inline-block;width:240px;margin:6px;vertical-align:top}"
       ".money{font-weight:bold}#load-more{display:block;margin:1em auto}")


def uses_microdata(li: Listing) -> bool:
    return li.base.pos % 5 == 0


def routes(state: SandboxState) -> list[Route]:
    cat = state.catalog

    def resolve(ext: str) -> Listing | None:
        i = cat.parse_external_id(STYLE, ext)
        return None if i is None or i % 3 != 2 else cat.listing(i, state.day)

    links = "".join(f'<a href="/collections/{c.slug}">{esc(c.en)}</a> ' for c in CATEGORIES)
    header_html = (f'<header class="site-header"><a href="/" class="brand-logo">SBX Boutique 精品店</a> '
                f'<a href="/cart">Cart</a></header><nav class="collections">{links}</nav>')

    def card_json(li: Listing) -> dict[str, Any]:
        b = li.base
        return {"id": b.external_id, "handle": f"{b.slug}-{b.external_id}", "title": li.title,
                "vendor": b.seller.name, "vendor_id": b.seller.seller_id, "brand": b.brand.en,
                "price": price_str(li.price, b.currency), "currency": b.currency,
                "price_formatted": li.price_display, "url": listing_path(b),
                "image": image_path(b.external_id, 1)}

    def card(li: Listing) -> str:
        b = li.base
        href = listing_path(b)
        if b.pos % 4 == 1:
            href += f"?utm_source=collection&utm_medium=grid&utm_campaign=c{b.pos % 11}"
        return (f'<div class="product-card" data-product-id="{b.external_id}">'
                f'<a class="product-link" href="{esc(href)}">{lazy_img(STYLE, b.external_id, 1, li.title)}'
                f'<span class="product-title">{esc(li.title)}</span></a>'
                f'<span class="money">{esc(li.price_display)}</span></div>')

    def collection_indices(slug: str, pg: int) -> tuple[list[int], int] | None:
        start, stop = (pg - 1) * PAGE_SIZE, pg * PAGE_SIZE
        if slug == "all":
            total = cat.platform_count(STYLE, state.day)
            return [cat.index_of(STYLE, j) for j in range(start, min(stop, total))], total
        c = CATEGORY_BY_SLUG.get(slug)
        if c is None:
            return None
        k = CATEGORIES.index(c)
        return cat.category_slice(STYLE, k, start, stop, state.day), cat.category_count(STYLE, k, state.day)

    def active(indices: list[int]) -> list[Listing]:
        out = []
        for i in indices:
            li = cat.listing(i, state.day)
            if li is not None and li.status == "active":
                out.append(li)
        return out

    async def home(request: Request) -> Response:
        cols = "".join(f'<li><a class="collection-link" href="/collections/{c.slug}">{esc(c.en)} {esc(c.zh)}</a></li>'
                       for c in CATEGORIES)
        body = (f'{header_html}<h1>SBX Boutique</h1><ul class="collection-list">'
                f'<li><a class="collection-link" href="/collections/all">All products</a></li>{cols}</ul>')
        return html_response(page("SBX Boutique", body, request, lang="en", css=CSS))

    async def collection(request: Request) -> Response:
        slug = request.path_params["slug"]
        pg = int_param(request, "page", 1, 1, 10**7)
        found = collection_indices(slug, pg)
        if found is None:
            return not_found(request)
        idx, total = found
        pages = max(1, math.ceil(total / PAGE_SIZE))
        name = "All products" if slug == "all" else CATEGORY_BY_SLUG[slug].en
        grid = "".join(card(li) for li in active(idx))
        more = ""
        head = f'<link rel="canonical" href="/collections/{slug}?page={pg}">'
        if pg < pages:
            more = (f'<button id="load-more" type="button" data-next="/collections/{slug}.json?page={pg + 1}">'
                    f'加载更多 Load more</button><noscript><a href="/collections/{slug}?page={pg + 1}">Next page</a></noscript>')
            head += f'<link rel="next" href="/collections/{slug}?page={pg + 1}">'
        if pg > 1:
            head += f'<link rel="prev" href="/collections/{slug}?page={pg - 1}">'
        body = (f'{header_html}<h1 class="collection-title">{esc(name)}</h1>'
                f'<div id="product-grid" class="product-grid" data-total="{total}">{grid}</div>{more}'
                '<script src="/static/shop.js" defer></script>')
        return html_response(page(f"{name} – SBX Boutique", body, request, lang="en", css=CSS, head=head))

    async def collection_json(request: Request) -> Response:
        slug = request.path_params["slug"]
        pg = int_param(request, "page", 1, 1, 10**7)
        found = collection_indices(slug, pg)
        if found is None:
            return JSONResponse({"error": "not_found"}, 404)
        idx, total = found
        pages = max(1, math.ceil(total / PAGE_SIZE))
        nxt = f"/collections/{slug}.json?page={pg + 1}" if pg < pages else None
        return JSONResponse({"page": pg, "total": total, "next_page": nxt,
                             "products": [card_json(li) for li in active(idx)]})

    def product_data(li: Listing, canonical: str) -> dict[str, Any]:
        b = li.base
        return {
            "@context": "https://schema.org", "@type": "Product", "name": li.title,
            "sku": b.model, "mpn": b.model, "brand": {"@type": "Brand", "name": b.brand.en},
            "category": b.category.en, "countryOfOrigin": b.origin,
            "image": [image_path(b.external_id, n) for n in range(1, b.images + 1)],
            "productID": b.external_id,
            "offers": {"@type": "Offer", "price": price_str(li.price, b.currency),
                       "priceCurrency": b.currency, "availability": "https://schema.org/InStock",
                       "url": canonical,
                       "seller": {"@type": "Organization", "name": b.seller.name,
                                  "identifier": b.seller.seller_id}},
        }

    def product_html(li: Listing, request: Request, charset: str) -> str:
        b = li.base
        canonical = listing_path(b)
        imgs = "".join(lazy_img(STYLE, b.external_id, n, li.title) for n in range(1, b.images + 1))
        marks = ", ".join(b.cert_marks) or "—"
        seller_link = (f'<a class="vendor" href="{seller_path(STYLE, b.seller.seller_id)}">'
                       f'{esc(b.seller.name)}</a>')
        head = f'<link rel="canonical" href="{canonical}"><meta name="description" content="{esc(li.title)}">'
        if uses_microdata(li):
            body = (
                f'{header_html}<div class="product" itemscope itemtype="https://schema.org/Product" '
                f'data-product-id="{b.external_id}"><div class="gallery">{imgs}</div>'
                f'<h1 class="product-title" itemprop="name">{esc(li.title)}</h1>'
                f'<div itemprop="brand" itemscope itemtype="https://schema.org/Brand">Brand: '
                f'<span itemprop="name" class="brand">{esc(b.brand.en)}</span></div>'
                f'<div>SKU: <span itemprop="sku" class="sku">{esc(b.model)}</span></div>'
                f'<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
                f'<meta itemprop="price" content="{price_str(li.price, b.currency)}">'
                f'<meta itemprop="priceCurrency" content="{b.currency}">'
                f'<link itemprop="availability" href="https://schema.org/InStock">'
                f'<span class="money">{esc(li.price_display)}</span> '
                f'<span itemprop="seller" itemscope itemtype="https://schema.org/Organization">Sold by '
                f'<span itemprop="name">{seller_link}</span></span></div>'
                f'<div class="certs">Certifications: {esc(marks)}</div>'
                f'<div class="origin">Origin: {esc(b.origin)}</div>{buy_form(li)}</div>')
        else:
            data = json_ld(product_data(li, canonical))
            if b.quirk == "broken_jsonld":
                data = data[:-1] + ",}"  # trailing comma + missing brace: invalid JSON, as seen in the wild
            head += f'<script type="application/ld+json">{data}</script>'
            body = (
                f'{header_html}<div class="product" data-product-id="{b.external_id}">'
                f'<div class="gallery">{imgs}</div><h1 class="product-title">{esc(li.title)}</h1>'
                f'<div class="brand">Brand: {esc(b.brand.en)}</div><div class="sku">SKU: {esc(b.model)}</div>'
                f'<div class="price"><span class="money">{esc(li.price_display)}</span></div>'
                f'<div>Sold by {seller_link}</div><div class="certs">Certifications: {esc(marks)}</div>'
                f'<div class="origin">Origin: {esc(b.origin)}</div>{buy_form(li)}</div>')
        return page(f"{li.title} – SBX Boutique", body, request, lang="en", css=CSS, head=head,
                    charset=charset)

    async def product(request: Request) -> Response:
        handle: str = request.path_params["handle"]
        ext = handle.rsplit("-", 1)[-1]
        li = resolve(ext)
        if li is None:
            return not_found(request, "Product not found")
        if li.status != "active":
            body = (f'{header_html}<div class="product-removed"><h1>此商品已下架</h1>'
                    '<p>This product is no longer available.</p>'
                    '<a href="/collections/all">Continue shopping</a></div>')
            head = f'<link rel="canonical" href="{listing_path(li.base)}">'
            return html_response(page("Product unavailable – SBX Boutique", body, request, lang="en",
                                      css=CSS, head=head))
        if li.base.quirk == "gb18030":
            return html_response(product_html(li, request, "gb18030"), encoding="gb18030")
        return html_response(product_html(li, request, "utf-8"))

    async def seller(request: Request) -> Response:
        s_idx = cat.parse_seller_id(STYLE, request.path_params["seller_id"])
        if s_idx is None:
            return not_found(request)
        s = cat.seller(STYLE, s_idx)
        pg = int_param(request, "page", 1, 1, 10**7)
        idx = cat.seller_slice(STYLE, s_idx, (pg - 1) * PAGE_SIZE, pg * PAGE_SIZE, state.day)
        total = cat.seller_count(STYLE, s_idx, state.day)
        facts = [f'<p class="vendor-name-en">{esc(s.name_en)}</p>']
        if s.filing_number:
            facts.append(f'<p>Cross-border e-commerce filing 备案编号: <span class="filing-number">{esc(s.filing_number)}</span></p>')
        if s.licence_number:
            facts.append(f'<p>Business licence 营业执照: <span class="licence-number">{esc(s.licence_number)}</span></p>')
        facts.append(f'<address><span class="phone">{esc(s.phone)}</span> · <span class="email">{esc(s.email)}</span>'
                     f' · WeChat <span class="wechat">{esc(s.wechat)}</span> · <span class="address">{esc(s.address)}</span></address>')
        head = ""
        if pg * PAGE_SIZE < total:
            head = f'<link rel="next" href="{seller_path(STYLE, s.seller_id)}?page={pg + 1}">'
        body = (f'{header_html}<div class="vendor-profile" data-seller-id="{s.seller_id}">'
                f'<h1 class="vendor-name">{esc(s.name)}</h1>{"".join(facts)}</div>'
                f'<div class="product-grid">{"".join(card(li) for li in active(idx))}</div>')
        return html_response(page(f"{s.name} – SBX Boutique", body, request, lang="en", css=CSS, head=head))

    return [
        Route("/", home),
        Route("/collections/{slug}.json", collection_json),
        Route("/collections/{slug}", collection),
        Route("/collections/{slug}/products/{handle}", product),
        Route("/products/{handle}", product),
        Route("/sellers/{seller_id}", seller),
        *sitemap_routes(state, STYLE),
        *checkout_routes(state, STYLE, resolve),
        *shared_routes(state, STYLE),
    ]
