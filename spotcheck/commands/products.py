"""``spotcheck products``: the same product on every platform — link listings and notices by
identifiers, photos and titles, list and show product clusters, find copies of a listing,
confirm, reject or split links (sampler.products)."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy import select

from spotcheck.context import current
from spotcheck.output import console, heading, print_json, said, say, table
from store.labels import text_label
from store.models import AuditEvent, ForeignNotice, Listing, Platform, Seller
from store.vocabulary import Availability

app = typer.Typer(help="Product clusters: the same product across platforms and notices.",
                  no_args_is_help=True)

JSON_OPT = typer.Option(False, "--json", help="Machine-readable output.")


def _audit(session: Any, action: str, object_id: str, detail: dict[str, Any]) -> None:
    session.add(AuditEvent(actor=current().actor(), action=action, object_type="product_link",
                           object_id=object_id, detail=detail))


def _listing_rows(session: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = session.execute(
        select(Listing.id, Platform.code, Listing.title, Listing.price, Listing.currency,
               Listing.availability, Listing.gtin, Listing.url, Seller.name)
        .join(Platform, Platform.id == Listing.platform_id)
        .outerjoin(Seller, Seller.id == Listing.seller_id).where(Listing.id.in_(ids))).all()
    return {r[0]: {"listing_id": r[0], "platform": r[1], "title": r[2][:200],
                   "price": None if r[3] is None else str(r[3]), "currency": r[4],
                   "availability": r[5], "gtin": r[6], "url": r[7], "seller": r[8]}
            for r in rows}


def _notice_rows(session: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    rows = session.execute(select(ForeignNotice.id, ForeignNotice.source,
                                  ForeignNotice.reference, ForeignNotice.title,
                                  ForeignNotice.hazard).where(ForeignNotice.id.in_(ids))).all()
    return {r[0]: {"notice_id": r[0], "source": r[1], "reference": r[2],
                   "title": (r[3] or "")[:200], "hazard": (r[4] or "")[:200]} for r in rows}


@app.command("build")
def build_cmd(
    kind: list[str] = typer.Option([], "--kind",
                                   help="gtin | brand_model | photo | title | notice_match "
                                        "(repeat; default: all)."),
    full_photos: bool = typer.Option(False, "--full-photos",
                                     help="Search every photo again, not only those added "
                                          "since the last build."),
    json_out: bool = JSON_OPT,
) -> None:
    """Find the links between listings and notices again (reviewed links are kept)."""
    from sampler.products import build_links

    with current().db.session() as s:
        result = build_links(s, kind or None, full_photos=full_photos)
        _audit(s, "products.build", "-", result.as_dict())
    data = result.as_dict()
    if json_out:
        print_json(data)
        return
    say("cli_said.links_built", added=data["added"], updated=data["updated"],
        removed=data["removed"], kept=data["kept_reviewed"])
    for k, n in data["proposed"].items():
        say("cli_said.links_of_kind", product_link_kind=k, count=n)


@app.command("list")
def list_cmd(
    min_size: int = typer.Option(2, "--min-size", help="Clusters with at least this many "
                                                       "listings and notices."),
    limit: int = typer.Option(100, "--limit", help="Show at most this many."),
    json_out: bool = JSON_OPT,
) -> None:
    """Product clusters, largest first."""
    from sampler.products import clusters

    with current().db.session() as s:
        found = clusters(s, min_size=min_size)[:limit]
        platforms = _listing_rows(s, [i for c in found for i in c.listing_ids])
    rows: list[dict[str, Any]] = [{"cluster": c.id, "listings": len(c.listing_ids), "notices": len(c.notice_ids),
             "platforms": sorted({platforms[i]["platform"] for i in c.listing_ids
                                  if i in platforms}),
             "links": len(c.links),
             "kinds": sorted({x["kind"] for x in c.links})} for c in found]
    if json_out:
        print_json(rows)
        return
    console.print(table("product clusters", ["cluster", "listings", "notices", "platforms",
                                             "linked by"],
                        [(r["cluster"], r["listings"], r["notices"], ", ".join(r["platforms"]),
                          ", ".join(text_label("product_link_kind", k, current().reader_locale())
                                    for k in r["kinds"])) for r in rows]))


@app.command("show")
def show_cmd(
    cluster: str = typer.Argument(..., help="P<n> (a cluster) or a listing id."),
    json_out: bool = JSON_OPT,
) -> None:
    """A product: every listing (platform, seller, price, availability), every notice, and
    the links with their kind, strength and evidence."""
    from sampler.products import cluster_of, image_shas
    from store.errors import NotFound

    with current().db.session() as s:
        found = cluster_of(s, cluster)
        if found is None:
            raise NotFound("product_commands.no_cluster", cluster=cluster)
        listings = _listing_rows(s, found.listing_ids)
        notices = _notice_rows(s, found.notice_ids)
        shas = image_shas(s, [i for x in found.links for i in x["evidence"].get("images", [])])
    links = []
    for x in found.links:
        ev = dict(x["evidence"])
        if "images" in ev:
            ev["image_sha256"] = [shas.get(i) for i in ev["images"]]
        links.append({**x, "evidence": ev})
    data: dict[str, Any] = {"cluster": found.id, "listings": [listings[i] for i in found.listing_ids
                                              if i in listings],
            "notices": [notices[i] for i in found.notice_ids if i in notices], "links": links}
    if json_out:
        print_json(data)
        return
    console.print(table(f"{heading('product')} {found.id}: {heading('listings')}", ["listing", "platform", "seller",
                                                          "price", "availability", "title"],
                        [(r["listing_id"], r["platform"], r["seller"] or "—",
                          f"{r['price'] or '—'} {r['currency'] or ''}",
                          r["availability"] or "—", r["title"][:60])
                         for r in data["listings"]],
                        codes={"availability": Availability}))
    if data["notices"]:
        console.print(table("notices", ["notice", "source", "reference", "title"],
                            [(r["notice_id"], r["source"], r["reference"], r["title"][:60])
                             for r in data["notices"]],
                            codes={"source": "notice_source"}))
    console.print(table("links", ["link", "kind", "strength", "status", "between", "evidence"],
                        [(x["id"], x["kind"], f"{x['strength']:.2f}", x["status"],
                          f"L{x['listing_id']} – " + (f"N{x['notice_id']}" if x["notice_id"]
                                                      else f"L{x['other_listing_id']}"),
                          _evidence_text(x["evidence"])) for x in links],
                        codes={"kind": "product_link_kind", "status": "product_link_status"}))


def _evidence_text(ev: dict[str, Any]) -> str:
    """Why two listings are one product, in the reader's language (the JSON keeps *ev*)."""
    if "gtin" in ev:
        return f"GTIN {ev['gtin']}"
    if "key" in ev:
        return said("cli_said.link_key", key=ev["key"])
    if "images" in ev:
        return said("cli_said.link_photos", a=ev["images"][0], b=ev["images"][1],
                    distance=ev["distance"])
    if "ratio" in ev:
        return said("cli_said.link_title", ratio=ev["ratio"])
    if "match_score" in ev:
        return said("cli_said.link_notice", score=ev["match_score"])
    return str(ev.get("note") or "")[:60]


@app.command("find-copies")
def find_copies_cmd(
    listing_id: int = typer.Argument(..., help="The listing."),
    json_out: bool = JSON_OPT,
) -> None:
    """Listings on any platform, and notices, that look like the same product as this one
    (same GTIN, brand + model, or near-identical photos), strongest first."""
    from sampler.products import find_copies

    with current().db.session() as s:
        found = find_copies(s, listing_id)
        listings = _listing_rows(s, [c.listing_id for c in found if c.listing_id])
        notices = _notice_rows(s, [c.notice_id for c in found if c.notice_id])
    rows: list[dict[str, Any]] = [
            {"listing": listings.get(c.listing_id) if c.listing_id else None,
             "notice": notices.get(c.notice_id) if c.notice_id else None,
             "kind": c.kind, "strength": c.strength, "evidence": c.evidence} for c in found]
    if json_out:
        print_json(rows)
        return
    console.print(table(f"{heading('copies of listing')} {listing_id}", ["kind", "strength", "where", "what"],
                        [(r["kind"], f"{r['strength']:.2f}",
                          (f"{r['listing']['platform']} L{r['listing']['listing_id']}"
                           if r["listing"] else
                           f"{r['notice']['source']} {r['notice']['reference']}"),
                          (r["listing"] or r["notice"] or {}).get("title", "")[:60])
                         for r in rows],
                        codes={"kind": "product_link_kind"}))


def _review(link_id: int, status: str, note: str | None, json_out: bool) -> None:
    from sampler.products import review_link

    ctx = current()
    with ctx.db.session() as s:
        link = review_link(s, link_id, status, ctx.actor(), note)
        _audit(s, f"products.{status[:-2]}", str(link_id), {"note": note})
        data = {"link_id": link.id, "status": link.status, "reviewed_by": link.reviewed_by}
    if json_out:
        print_json(data)
    else:
        say("cli_said.link_reviewed", id=link_id, product_link_status=status,
            by=data["reviewed_by"])


@app.command("confirm")
def confirm_cmd(link_id: int = typer.Argument(..., help="The link id."),
                note: str | None = typer.Option(None, "--note", help="Why."),
                json_out: bool = JSON_OPT) -> None:
    """Confirm a link: the two are one product (kept through rebuilds)."""
    _review(link_id, "confirmed", note, json_out)


@app.command("reject")
def reject_cmd(link_id: int = typer.Argument(..., help="The link id."),
               note: str | None = typer.Option(None, "--note", help="Why."),
               json_out: bool = JSON_OPT) -> None:
    """Reject a link: not the same product (never proposed again by itself)."""
    _review(link_id, "rejected", note, json_out)


@app.command("split")
def split_cmd(listing_id: int = typer.Argument(..., help="The listing to take out."),
              note: str | None = typer.Option(None, "--note", help="Why."),
              json_out: bool = JSON_OPT) -> None:
    """Take a listing out of its product (rejects its accepted links)."""
    from sampler.products import split_off

    ctx = current()
    with ctx.db.session() as s:
        n = split_off(s, listing_id, ctx.actor(), note)
        _audit(s, "products.split", f"L{listing_id}", {"rejected": n, "note": note})
    if json_out:
        print_json({"listing_id": listing_id, "rejected_links": n})
    else:
        say("cli_said.links_rejected", listing=listing_id, count=n)


@app.command("link")
def link_cmd(listing_id: int = typer.Argument(..., help="A listing."),
             other: int | None = typer.Option(None, "--listing", help="The same product."),
             notice: int | None = typer.Option(None, "--notice", help="The notice naming it."),
             note: str = typer.Option("", "--note", help="Why."),
             json_out: bool = JSON_OPT) -> None:
    """Link a listing to another listing or to a notice by hand (confirmed at once)."""
    from sampler.products import link_manually

    ctx = current()
    with ctx.db.session() as s:
        link = link_manually(s, listing_id, other_listing_id=other, notice_id=notice,
                             actor=ctx.actor(), note=note)
        _audit(s, "products.link", str(link.id), {"note": note})
        data = {"link_id": link.id, "key": link.key, "status": link.status}
    if json_out:
        print_json(data)
    else:
        say("cli_said.link_confirmed", id=data["link_id"], key=data["key"])


@app.command("pictures")
def pictures_cmd(
    base: str | None = typer.Option(None, "--base", help="Resolve relative picture URLs "
                                                         "against this address (the feed's)."),
    again: bool = typer.Option(False, "--again", help="Fetch notices' pictures again."),
    json_out: bool = JSON_OPT,
) -> None:
    """Download the pictures foreign notices publish (Safety Gate, CPSC) when reachable, so
    they find the listings showing the same product photo (then 'products build')."""
    from sampler.products import fetch_notice_pictures
    from store.artifacts import ArtifactStore

    ctx = current()
    with ctx.db.session() as s:
        result = fetch_notice_pictures(s, ArtifactStore(ctx.settings.artifacts_dir),
                                       base_url=base, again=again,
                                       timeout=ctx.settings.signals_fetch_timeout)
        _audit(s, "products.pictures", "-", result.as_dict())
    data = result.as_dict()
    if json_out:
        print_json(data)
        return
    say("cli_said.pictures_fetched", notices=data["notices"], kept=data["kept"],
        failed=data["failed"])
    for line in data["errors"]:
        console.print(f"  {line}")
