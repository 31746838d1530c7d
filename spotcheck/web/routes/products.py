"""Product pages in the console: one product (cluster) with every listing on every platform,
its notices and lab results, and the links that join them — the two photos side by side for a
photo link; "find copies" of any listing; the stored product photos themselves.

The clusters and copies come from the CLI's own functions (:mod:`sampler.products`). Photos are
served from the content-addressed artifacts only when a ``product_image`` row names them (so
this route serves images the crawl decoded and hashed, nothing else), with their own media type
and ``nosniff``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from sampler.products import cluster_of, find_copies
from spotcheck.web.deps import CurrentUser, Permission, console, render
from store.artifacts import ArtifactStore
from store.errors import InvalidInput, NotFound
from store.models import (
    ForeignNotice,
    LabResult,
    Listing,
    PlanItem,
    Platform,
    ProductImage,
    Purchase,
    Sample,
    Seller,
)

router = APIRouter()

MEDIA = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp",
         "GIF": "image/gif", "BMP": "image/bmp", "TIFF": "image/tiff"}


def _listings(s: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = s.execute(select(Listing, Platform.code, Seller.name)
                     .join(Platform, Platform.id == Listing.platform_id)
                     .outerjoin(Seller, Seller.id == Listing.seller_id)
                     .where(Listing.id.in_(ids))).all()
    labs: dict[int, list[str]] = {}
    for lid, outcome in s.execute(
            select(PlanItem.listing_id, LabResult.outcome)
            .join(Purchase, Purchase.plan_item_id == PlanItem.id)
            .join(Sample, Sample.purchase_id == Purchase.id)
            .join(LabResult, LabResult.sample_id == Sample.id)
            .where(PlanItem.listing_id.in_(ids))):
        labs.setdefault(lid, []).append(outcome.value)
    return {row.id: {"listing": row, "platform": code, "seller": seller,
                     "labs": labs.get(row.id, [])} for row, code, seller in rows}


@router.get("/products/copies/{listing_id}", response_class=HTMLResponse)
def copies(request: Request, listing_id: int,
           user: CurrentUser = Permission("listings.view")) -> Response:
    """Listings on any platform, and notices, that look like the same product as this one."""
    with console(request).db.session() as s:
        try:
            found = find_copies(s, listing_id)
        except NotFound:
            raise HTTPException(404) from None
        listings = _listings(s, [listing_id] + [c.listing_id for c in found if c.listing_id])
        notices = {n.id: n for n in s.scalars(select(ForeignNotice).where(
            ForeignNotice.id.in_([c.notice_id for c in found if c.notice_id])))}
        cluster = cluster_of(s, listing_id)
        return render(request, "console/product_copies.html", listing_id=listing_id,
                      me=listings.get(listing_id), copies=found, listings=listings,
                      notices=notices, cluster=cluster)


@router.get("/products/photo/{image_id}")
def photo(request: Request, image_id: int,
          user: CurrentUser = Permission("listings.view")) -> Response:
    """A stored product photo (by its product_image row)."""
    cons = console(request)
    with cons.db.session() as s:
        image = s.get(ProductImage, image_id)
        if image is None:
            raise HTTPException(404)
        sha, fmt = image.sha256, image.format
    path = ArtifactStore(cons.settings.artifacts_dir).find(sha)
    if path is None:
        raise HTTPException(404)
    return Response(path.read_bytes(), media_type=MEDIA.get(fmt, "application/octet-stream"),
                    headers={"X-Content-Type-Options": "nosniff",
                             "Content-Security-Policy": "default-src 'none'",
                             "Cache-Control": "private, max-age=3600"})


@router.get("/products/{ref}", response_class=HTMLResponse)
def product(request: Request, ref: str,
            user: CurrentUser = Permission("listings.view")) -> Response:
    """One product cluster: ``P<n>`` or the id of a listing in it."""
    with console(request).db.session() as s:
        try:
            cluster = cluster_of(s, ref[:40])
        except InvalidInput:
            raise HTTPException(404) from None
        if cluster is None:
            raise HTTPException(404)
        listings = _listings(s, cluster.listing_ids)
        notices = {n.id: n for n in s.scalars(select(ForeignNotice).where(
            ForeignNotice.id.in_(cluster.notice_ids)))}
        links = sorted(cluster.links, key=lambda x: (-x["strength"], x["id"]))
        platforms = sorted({v["platform"] for v in listings.values()})
        return render(request, "console/product.html", cluster=cluster, listings=listings,
                      notices=notices, links=links, platforms=platforms)
