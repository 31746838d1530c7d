"""The same product everywhere: links between listings (any platform) and foreign notices,
and the product clusters they make.

Why: a failed product is rarely sold once.  The link builder collects the evidence that two
listings — or a listing and a notice — are one product, each piece a ``product_link`` with its
kind, strength (0-1) and evidence:

=============  ========  ===================================================================
kind           strength  evidence
=============  ========  ===================================================================
gtin           0.95      the same valid GTIN (store.gtin), on the listing or in the notice
brand_model    0.85      the same brand key and model code (sampler.risk.normalise)
photo          0.75-0.9  the same photo file (0.9) or a near-identical one (PDQ distance d of
                         the radius R: 0.9 − 0.15·d/R; store.photoindex)
notice_match   score     the notice matcher's match (sampler.risk.matching), its status kept
title          ≤ 0.6     similar titles within one brand (rapidfuzz token sort ratio ≥ 90)
manual         1.0       an inspector linked them
=============  ========  ===================================================================

A link is *accepted* when an inspector confirmed it, or when it is proposed and at least
:data:`ACCEPT_STRENGTH` strong (so a similar title alone never merges two products, but a
confirmed one does).  A rejected link is never accepted and is kept through rebuilds, so an
inspector's split stays split.  Clusters are the connected parts of the accepted links
(union-find), named ``P<smallest listing id>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from sampler.risk.normalise import brand_key, is_model_code, model_key
from store.errors import InvalidInput, NotFound
from store.images import set_notice_photos
from store.models import (
    ForeignNotice,
    Listing,
    ListingImage,
    ListingStatus,
    NoticeImage,
    NoticeKey,
    NoticeMatch,
    ProductImage,
    ProductLink,
    utcnow,
)
from store.photoindex import PhotoIndex
from store.photos import NEAR_DUPLICATE_BITS

KINDS = ("gtin", "brand_model", "photo", "title", "notice_match", "manual")
STATUSES = ("proposed", "confirmed", "rejected")
STRENGTH = {"gtin": 0.95, "brand_model": 0.85, "photo": 0.9, "manual": 1.0}
#: A proposed link at least this strong joins a cluster without review.
ACCEPT_STRENGTH = 0.75
#: Title similarity (rapidfuzz token sort ratio, 0-100) from which a title link is proposed.
TITLE_MIN_RATIO = 90.0
#: Brand blocks larger than this are not compared title by title (n² pairs).
TITLE_MAX_BLOCK = 400
#: A notice links to at most this many listings per kind (a notice names one product).
MAX_NOTICE_LINKS = 500


@dataclass(frozen=True)
class Proposal:
    """A link the builder found: listing *a* is the same product as listing *b* or notice."""

    kind: str
    a: int
    b: int | None
    notice: int | None
    strength: float
    evidence: dict[str, Any]

    @property
    def key(self) -> str:
        if self.notice is not None:
            return f"{self.kind}:L{self.a}:N{self.notice}"
        lo, hi = sorted((self.a, self.b or 0))
        return f"{self.kind}:L{lo}:L{hi}"


def _pair(kind: str, a: int, b: int, strength: float, evidence: dict[str, Any]) -> Proposal:
    lo, hi = sorted((a, b))
    return Proposal(kind, lo, hi, None, round(strength, 3), evidence)


def _star(kind: str, ids: Iterable[int], strength: float,
          evidence: dict[str, Any]) -> list[Proposal]:
    """Links joining every listing of a group to its first (the group is one product)."""
    ordered = sorted(set(ids))
    return [_pair(kind, ordered[0], other, strength, evidence) for other in ordered[1:]]


# -- finding the evidence ---------------------------------------------------------------------

def _live_listings() -> Any:
    return select(Listing.id, Listing.gtin, Listing.brand, Listing.model, Listing.title) \
        .where(Listing.status != ListingStatus.REMOVED)


def gtin_links(session: Session) -> list[Proposal]:
    """Listings sharing a GTIN; listings showing a GTIN a notice names."""
    groups: dict[str, list[int]] = defaultdict(list)
    for lid, gtin, *_ in session.execute(_live_listings().where(Listing.gtin.is_not(None))):
        groups[gtin].append(lid)
    out: list[Proposal] = []
    for gtin, ids in groups.items():
        out += _star("gtin", ids, STRENGTH["gtin"], {"gtin": gtin})
    if groups:
        for notice_id, gtin in session.execute(select(NoticeKey.notice_id, NoticeKey.value)
                                               .where(NoticeKey.kind == "gtin")):
            for lid in sorted(groups.get(gtin, []))[:MAX_NOTICE_LINKS]:
                out.append(Proposal("gtin", lid, None, notice_id, STRENGTH["gtin"],
                                    {"gtin": gtin}))
    return out


def product_key(brand: str | None, model: str | None) -> str | None:
    """``brand|model`` when both are there and the model looks like a model code."""
    b, m = brand_key(brand), model_key(model)
    return f"{b}|{m}" if b and m and is_model_code(m) else None


def brand_model_links(session: Session) -> list[Proposal]:
    """Listings of the same brand and model code; notices naming that brand and model."""
    groups: dict[str, list[int]] = defaultdict(list)
    for lid, _, brand, model, _ in session.execute(_live_listings()):
        key = product_key(brand, model)
        if key:
            groups[key].append(lid)
    out: list[Proposal] = []
    for key, ids in groups.items():
        out += _star("brand_model", ids, STRENGTH["brand_model"], {"key": key})
    for notice_id, brand, models in session.execute(
            select(ForeignNotice.id, ForeignNotice.brand, ForeignNotice.models)):
        for model in models or []:
            key = product_key(brand, model)
            for lid in sorted(groups.get(key or "", []))[:MAX_NOTICE_LINKS]:
                out.append(Proposal("brand_model", lid, None, notice_id,
                                    STRENGTH["brand_model"], {"key": key}))
    return out


def photo_strength(distance: int, radius: int = NEAR_DUPLICATE_BITS) -> float:
    """0.9 for the same picture, down to 0.75 at the edge of the near-duplicate radius."""
    return round(STRENGTH["photo"] - 0.15 * min(distance, radius) / max(radius, 1), 3)


def photo_links(session: Session, *, full: bool = False) -> list[Proposal]:
    """Listings showing the same or a near-identical photo; notices whose picture is one.

    The photo pairs come from store.photopairs: photos added since the last build are searched
    (every photo when *full*) in one bulk join, and the pairs kept between builds."""
    from store.photopairs import stored_pairs, update_photo_pairs

    by_image: dict[int, set[int]] = defaultdict(set)
    live = {lid for lid, *_ in session.execute(_live_listings())}
    for lid, image_id in session.execute(select(ListingImage.listing_id, ListingImage.image_id)
                                         .where(ListingImage.image_id.is_not(None))):
        if lid in live and image_id is not None:
            by_image[image_id].add(lid)
    notice_images: dict[int, set[int]] = defaultdict(set)
    for nid, image_id in session.execute(select(NoticeImage.notice_id, NoticeImage.image_id)
                                         .where(NoticeImage.image_id.is_not(None))):
        if image_id is not None:
            notice_images[image_id].add(nid)
    if not by_image:
        return []
    update_photo_pairs(session, full=full)
    pairs = stored_pairs(session)
    out: list[Proposal] = []
    for image_id, ids in by_image.items():
        out += _star("photo", ids, STRENGTH["photo"], {"images": [image_id, image_id],
                                                       "distance": 0})
    first = {image_id: min(ids) for image_id, ids in by_image.items()}
    near: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for lo, hi, d in sorted(zip(pairs.a.tolist(), pairs.b.tolist(), pairs.distance.tolist(),
                                strict=True)):
        if lo in first and hi in first:
            out.append(_pair("photo", first[lo], first[hi], photo_strength(d),
                             {"images": [lo, hi], "distance": d}))
        if lo in notice_images:
            near[lo].append((hi, d))
        if hi in notice_images:
            near[hi].append((lo, d))
    for image_id, notices in notice_images.items():
        for other, distance in [(image_id, 0), *sorted(near[image_id])]:
            for lid in sorted(by_image.get(other, ()))[:MAX_NOTICE_LINKS]:
                for nid in notices:
                    out.append(Proposal("photo", lid, None, nid, photo_strength(distance),
                                        {"images": [other, image_id], "distance": distance}))
    return out


def title_links(session: Session) -> list[Proposal]:
    """Listings of one brand with near-identical titles (weak alone: below acceptance):
    rapidfuzz's token sort ratio of the case-folded titles at least :data:`TITLE_MIN_RATIO`."""
    from rapidfuzz import fuzz, process

    blocks: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for lid, _, brand, _, title in session.execute(_live_listings()):
        b = brand_key(brand)
        if b and title:
            blocks[b].append((lid, title[:300]))
    out: list[Proposal] = []
    for rows in blocks.values():
        if len(rows) < 2 or len(rows) > TITLE_MAX_BLOCK:
            continue
        # token_sort_ratio is the plain ratio of the titles with their words sorted: sorting
        # each title once here, not once per pair inside the scorer, is 8 times faster.
        titles = [" ".join(sorted(t.casefold().split())) for _, t in rows]
        scores = process.cdist(titles, titles, scorer=fuzz.ratio, score_cutoff=TITLE_MIN_RATIO,
                               dtype=np.float32)
        # The pairs above the diagonal that reach the cutoff, read at once (a Python loop
        # over every cell of every block was most of the cost: 2 × 10⁸ cells at 10⁶ listings).
        ii, jj = np.nonzero(np.triu(scores >= TITLE_MIN_RATIO, 1))
        for i, j, ratio in zip(ii.tolist(), jj.tolist(), scores[ii, jj].tolist(), strict=True):
            out.append(_pair("title", rows[i][0], rows[j][0], 0.6 * ratio / 100,
                             {"ratio": round(ratio, 1)}))
    return out


def notice_match_links(session: Session) -> list[tuple[Proposal, str]]:
    """The notice matcher's matches, with their review status."""
    out = []
    for nid, lid, score, status in session.execute(
            select(NoticeMatch.notice_id, NoticeMatch.listing_id, NoticeMatch.score,
                   NoticeMatch.status)):
        out.append((Proposal("notice_match", lid, None, nid, round(float(score), 3),
                             {"match_score": round(float(score), 3)}), status))
    return out


# -- storing links ----------------------------------------------------------------------------

@dataclass
class BuildResult:
    """What a rebuild did, per kind."""

    proposed: dict[str, int] = field(default_factory=dict)
    added: int = 0
    updated: int = 0
    removed: int = 0
    kept_reviewed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"proposed": self.proposed, "added": self.added, "updated": self.updated,
                "removed": self.removed, "kept_reviewed": self.kept_reviewed}


def build_links(session: Session, kinds: Iterable[str] | None = None, *,
                full_photos: bool = False) -> BuildResult:
    """Find every link of *kinds* (default: all) and store them: new ones proposed, existing
    ones updated, ones no longer found removed — unless a person reviewed them (kept).

    Photos are searched incrementally (only those added since the last build) unless
    *full_photos*."""
    wanted = list(kinds or ("gtin", "brand_model", "photo", "title", "notice_match"))
    for kind in wanted:
        if kind not in KINDS or kind == "manual":
            raise InvalidInput("products.unknown_link_kind", kind=str(kind)[:60],
                               kinds=", ".join(KINDS[:-1]))
    found: dict[str, tuple[Proposal, str | None]] = {}
    makers = {"gtin": gtin_links, "brand_model": brand_model_links, "title": title_links}
    result = BuildResult()
    for kind in wanted:
        if kind == "photo":
            props: list[tuple[Proposal, str | None]] = [(p, None) for p in
                                                        photo_links(session,
                                                                    full=full_photos)]
        elif kind == "notice_match":
            props = [(p, s) for p, s in notice_match_links(session)]
        else:
            props = [(p, None) for p in makers[kind](session)]
        for p, status in props:
            old = found.get(p.key)
            if old is None or p.strength > old[0].strength:
                found[p.key] = (p, status)
        result.proposed[kind] = sum(1 for p, _ in found.values() if p.kind == kind)
    now = utcnow()
    # Rows, not ORM objects, and bulk statements: at 10⁶ listings a kind has ~10⁶ links, and
    # an object per link costs gigabytes and minutes (bench/bench_products.py).
    session.flush()
    existing = {row.key: row for row in session.execute(
        select(ProductLink.id, ProductLink.key, ProductLink.status, ProductLink.reviewed_by,
               ProductLink.strength, ProductLink.evidence)
        .where(ProductLink.kind.in_(wanted)))}
    new_rows: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for key, (p, status) in found.items():
        row = existing.pop(key, None)
        if row is None:
            new_rows.append({"key": key, "kind": p.kind, "listing_id": p.a,
                             "other_listing_id": p.b, "notice_id": p.notice,
                             "strength": p.strength, "evidence": p.evidence,
                             "status": status if status in STATUSES else "proposed",
                             "created_at": now, "updated_at": now})
            continue
        change: dict[str, Any] = {}
        if status in STATUSES and row.reviewed_by is None and row.status != status:
            change["status"] = status  # the notice matcher's own review travels with it
        evidence = dict(p.evidence)
        if (row.evidence or {}).get("note"):
            evidence["note"] = row.evidence["note"]  # an inspector's note stays
        if row.strength != p.strength or row.evidence != evidence:
            change.update(strength=p.strength, evidence=evidence, updated_at=now)
            result.updated += 1
        if change:
            changes.append({"id": row.id, **change})
    gone = []
    for row in existing.values():
        if row.status == "proposed" and row.reviewed_by is None:
            gone.append(row.id)
        else:
            result.kept_reviewed += 1
    result.added, result.removed = len(new_rows), len(gone)
    batch = 20_000
    for start in range(0, len(new_rows), batch):
        session.execute(insert(ProductLink), new_rows[start:start + batch])
    for start in range(0, len(changes), batch):
        session.execute(update(ProductLink), changes[start:start + batch])
    for start in range(0, len(gone), batch):
        session.execute(delete(ProductLink).where(ProductLink.id.in_(gone[start:start + batch])),
                        execution_options={"synchronize_session": False})
    # Links this session holds as objects are read again after the bulk statements.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, ProductLink):
            session.expire(obj)
    return result


def review_link(session: Session, link_id: int, status: str, actor: str,
                note: str | None = None) -> ProductLink:
    """Confirm or reject a link (kept through rebuilds)."""
    if status not in ("confirmed", "rejected"):
        raise InvalidInput("products.review_status", status=str(status)[:60])
    link = session.get(ProductLink, link_id)
    if link is None:
        raise NotFound("products.no_link", link_id=link_id)
    link.status, link.reviewed_by, link.reviewed_at = status, actor[:100], utcnow()
    if note:
        link.evidence = {**(link.evidence or {}), "note": note[:500]}
    session.flush()
    return link


def split_off(session: Session, listing_id: int, actor: str, note: str | None = None) -> int:
    """Take a listing out of its product: reject every accepted link that touches it (the
    rejections are remembered like any other).  Returns how many links were rejected."""
    rows = session.scalars(select(ProductLink).where(
        (ProductLink.listing_id == listing_id) | (ProductLink.other_listing_id == listing_id)))
    done = 0
    for link in rows:
        if accepted(link.status, link.strength):
            review_link(session, link.id, "rejected", actor, note)
            done += 1
    return done


def link_manually(session: Session, listing_id: int, *, other_listing_id: int | None = None,
                  notice_id: int | None = None, actor: str, note: str = "") -> ProductLink:
    """An inspector's own link (confirmed at once): these two are one product."""
    if (other_listing_id is None) == (notice_id is None):
        raise InvalidInput("products.link_one_target")
    for lid in (listing_id, other_listing_id):
        if lid is not None and session.get(Listing, lid) is None:
            raise NotFound("products.no_listing", listing_id=lid)
    if notice_id is not None and session.get(ForeignNotice, notice_id) is None:
        raise NotFound("products.no_notice", notice_id=notice_id)
    p = Proposal("manual", listing_id, other_listing_id, notice_id, 1.0, {"note": note[:500]})
    if notice_id is None and other_listing_id is not None:
        p = _pair("manual", listing_id, other_listing_id, 1.0, {"note": note[:500]})
    link = session.scalar(select(ProductLink).where(ProductLink.key == p.key))
    if link is None:
        link = ProductLink(key=p.key, kind="manual", listing_id=p.a, other_listing_id=p.b,
                           notice_id=p.notice, strength=1.0, evidence=p.evidence)
        session.add(link)
    link.status, link.reviewed_by, link.reviewed_at = "confirmed", actor[:100], utcnow()
    session.flush()
    return link


def forget_links(session: Session, kind: str) -> int:
    """Remove the unreviewed links of one kind (e.g. after changing its rule)."""
    result = session.execute(delete(ProductLink).where(ProductLink.kind == kind,
                                                       ProductLink.reviewed_by.is_(None)))
    return int(getattr(result, "rowcount", 0) or 0)


# -- clusters ---------------------------------------------------------------------------------

Node = tuple[str, int]  # ("L", listing id) or ("N", notice id)


def accepted(status: str, strength: float) -> bool:
    """Whether a link joins its two ends into one product."""
    return status == "confirmed" or (status == "proposed" and strength >= ACCEPT_STRENGTH)


@dataclass
class Cluster:
    """One product: its listings and notices and the accepted links between them."""

    id: str
    listing_ids: list[int]
    notice_ids: list[int]
    links: list[dict[str, Any]]

    @property
    def size(self) -> int:
        return len(self.listing_ids) + len(self.notice_ids)

    def strength_from(self, source: Node) -> dict[Node, float]:
        """For every member, the strength of the strongest chain of links from *source*: the
        weakest link on the best path (a widest-path search), 1.0 for *source* itself."""
        adj: dict[Node, list[tuple[Node, float]]] = defaultdict(list)
        for link in self.links:
            a, b = _ends(link)
            adj[a].append((b, link["strength"] if link["status"] != "confirmed" else 1.0))
            adj[b].append((a, link["strength"] if link["status"] != "confirmed" else 1.0))
        best = {source: 1.0}
        frontier = [source]
        while frontier:  # clusters are small: relax until nothing improves
            nxt = []
            for node in frontier:
                for other, s in adj[node]:
                    cand = min(best[node], s)
                    if cand > best.get(other, 0.0) + 1e-12:
                        best[other] = cand
                        nxt.append(other)
            frontier = nxt
        return best


def _ends(link: dict[str, Any]) -> tuple[Node, Node]:
    a: Node = ("L", link["listing_id"])
    b: Node = ("N", link["notice_id"]) if link["notice_id"] is not None \
        else ("L", link["other_listing_id"])
    return a, b


def _link_dict(link: Any) -> dict[str, Any]:
    return {"id": link.id, "kind": link.kind, "listing_id": link.listing_id,
            "other_listing_id": link.other_listing_id, "notice_id": link.notice_id,
            "strength": link.strength, "status": link.status, "evidence": link.evidence,
            "reviewed_by": link.reviewed_by}


def clusters(session: Session, min_size: int = 2) -> list[Cluster]:
    """Every product cluster of at least *min_size* members, largest first."""
    parent: dict[Node, Node] = {}

    def find(x: Node) -> Node:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # Only the accepted links, as rows (a title link never joins anything by itself, and at
    # 10⁶ listings there are millions of them).
    keep = [_link_dict(x) for x in session.execute(
        select(ProductLink.id, ProductLink.kind, ProductLink.listing_id,
               ProductLink.other_listing_id, ProductLink.notice_id, ProductLink.strength,
               ProductLink.status, ProductLink.evidence, ProductLink.reviewed_by)
        .where(or_(ProductLink.status == "confirmed",
                   and_(ProductLink.status == "proposed",
                        ProductLink.strength >= ACCEPT_STRENGTH))))]
    keep = [x for x in keep if accepted(x["status"], x["strength"])]
    for link in keep:
        a, b = _ends(link)
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[Node, list[Node]] = defaultdict(list)
    for node in list(parent):
        members[find(node)].append(node)
    by_root: dict[Node, list[dict[str, Any]]] = defaultdict(list)
    for link in keep:
        by_root[find(_ends(link)[0])].append(link)
    out = []
    for root, nodes in members.items():
        listings = sorted(i for k, i in nodes if k == "L")
        notices = sorted(i for k, i in nodes if k == "N")
        if len(nodes) < min_size or not listings:
            continue
        out.append(Cluster(f"P{listings[0]}", listings, notices,
                           sorted(by_root[root], key=lambda x: x["id"])))
    return sorted(out, key=lambda c: (-c.size, c.id))


def cluster_of(session: Session, cluster_or_listing: str | int) -> Cluster | None:
    """The cluster named ``P<n>``, or the cluster of listing *n* (None: in none)."""
    text = str(cluster_or_listing)
    listing_id = int(text[1:] if text[:1] in "Pp" else text) if text.lstrip("Pp").isdigit() \
        else None
    if listing_id is None:
        raise InvalidInput("products.not_cluster_or_listing", text=text[:60])
    for c in clusters(session, min_size=1):
        if listing_id in c.listing_ids:
            return c
    return None


# -- find copies of one listing ---------------------------------------------------------------

@dataclass(frozen=True)
class CopyFound:
    """Another listing or notice that looks like the same product as a listing, and why."""

    listing_id: int | None
    notice_id: int | None
    kind: str
    strength: float
    evidence: dict[str, Any]


def find_copies(session: Session, listing_id: int, index: PhotoIndex | None = None
                ) -> list[CopyFound]:
    """Listings (any platform) and notices that share this listing's GTIN, brand + model or
    (near-identical) photos — found now, without a link rebuild.  Strongest first."""
    listing = session.get(Listing, listing_id)
    if listing is None:
        raise NotFound("products.no_listing", listing_id=listing_id)
    found: dict[tuple[str, int], CopyFound] = {}

    def put(c: CopyFound) -> None:
        key = ("L", c.listing_id) if c.listing_id is not None else ("N", c.notice_id or 0)
        if key != ("L", listing_id) and (key not in found or c.strength > found[key].strength):
            found[key] = c

    if listing.gtin:
        for lid in session.scalars(select(Listing.id).where(Listing.gtin == listing.gtin)):
            put(CopyFound(lid, None, "gtin", STRENGTH["gtin"], {"gtin": listing.gtin}))
        for nid in session.scalars(select(NoticeKey.notice_id).where(
                NoticeKey.kind == "gtin", NoticeKey.value == listing.gtin)):
            put(CopyFound(None, nid, "gtin", STRENGTH["gtin"], {"gtin": listing.gtin}))
    key = product_key(listing.brand, listing.model)
    if key:
        brand = brand_key(listing.brand)
        for lid, b, m in session.execute(select(Listing.id, Listing.brand, Listing.model)
                                         .where(Listing.model.is_not(None))):
            if brand_key(b) == brand and product_key(b, m) == key:
                put(CopyFound(lid, None, "brand_model", STRENGTH["brand_model"], {"key": key}))
    own = [i for i in session.scalars(select(ListingImage.image_id).where(
        ListingImage.listing_id == listing_id, ListingImage.image_id.is_not(None)))
        if i is not None]
    if own:
        index = index or PhotoIndex.of_store(session)
        near: dict[int, tuple[int, int]] = {}
        for mine_id in own:
            near.setdefault(mine_id, (0, mine_id))
            for c in index.copies_of(mine_id):
                if c.image_id not in near or c.distance < near[c.image_id][0]:
                    near[c.image_id] = (c.distance, mine_id)
        # the listings, then the notices, that show one of those photos
        for owner, image, of_listing in ((ListingImage.listing_id, ListingImage.image_id, True),
                                         (NoticeImage.notice_id, NoticeImage.image_id, False)):
            for oid, image_id in session.execute(select(owner, image)
                                                 .where(image.in_(list(near)))):
                if image_id is None:
                    continue
                d, mine = near[image_id]
                put(CopyFound(oid if of_listing else None, None if of_listing else oid,
                              "photo", photo_strength(d),
                              {"images": [mine, image_id], "distance": d}))
    return sorted(found.values(), key=lambda c: (-c.strength, c.listing_id or 0,
                                                 c.notice_id or 0))


def image_shas(session: Session, image_ids: Iterable[int]) -> dict[int, str]:
    """SHA-256 (the artifact) of product images, for showing the linking photos."""
    ids = list(set(image_ids))
    if not ids:
        return {}
    return dict(session.execute(select(ProductImage.id, ProductImage.sha256)
                                .where(ProductImage.id.in_(ids))).all())



# -- carrying a failure to every copy ---------------------------------------------------------

@dataclass(frozen=True)
class Carried:
    """Why a listing is at risk through its product: a failure elsewhere in its cluster."""

    listing_id: int
    cluster: str
    #: "lab_fail" (a failed lab result of a listing of the cluster) or "notice" (a confirmed
    #: foreign notice of the cluster).
    source: str
    #: The failed listing's id, or the notice's "source reference".
    ref: str
    #: The strength of the strongest chain of accepted links between the two (0-1).
    strength: float

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "source": self.source, "ref": self.ref,
                "strength": round(self.strength, 3)}


def failure_sources(session: Session) -> tuple[set[int], dict[int, str]]:
    """(listings with a failed lab result, confirmed notices → "source reference")."""
    from store.models import LabResult, PlanItem, Purchase, Sample
    from store.vocabulary import LabOutcome

    failed = set(session.scalars(
        select(PlanItem.listing_id).join(Purchase, Purchase.plan_item_id == PlanItem.id)
        .join(Sample, Sample.purchase_id == Purchase.id)
        .join(LabResult, LabResult.sample_id == Sample.id)
        .where(LabResult.outcome == LabOutcome.FAIL)))
    confirmed = set(session.scalars(select(NoticeMatch.notice_id)
                                    .where(NoticeMatch.status == "confirmed")))
    confirmed |= {n for n in session.scalars(
        select(ProductLink.notice_id).where(ProductLink.status == "confirmed",
                                            ProductLink.notice_id.is_not(None)))
        if n is not None}
    names = {} if not confirmed else {
        nid: f"{src} {ref}" for nid, src, ref in session.execute(
            select(ForeignNotice.id, ForeignNotice.source, ForeignNotice.reference)
            .where(ForeignNotice.id.in_(sorted(confirmed))))}
    return failed, names


def carried_failures(session: Session) -> dict[int, Carried]:
    """Every listing whose product failed elsewhere: a lab failure of another listing of its
    cluster, or a confirmed notice of it — with the strongest such reason."""
    failed, notices = failure_sources(session)
    if not failed and not notices:
        return {}
    out: dict[int, Carried] = {}
    for cluster in clusters(session, min_size=2):
        sources: list[tuple[Node, str, str]] = (
            [(("L", lid), "lab_fail", f"L{lid}") for lid in cluster.listing_ids
             if lid in failed]
            + [(("N", nid), "notice", notices[nid]) for nid in cluster.notice_ids
               if nid in notices])
        for node, kind, ref in sources:
            reach = cluster.strength_from(node)
            for lid in cluster.listing_ids:
                if ("L", lid) == node:
                    continue  # its own failure is its own history, not a copy's
                s = reach.get(("L", lid), 0.0)
                old = out.get(lid)
                if s > 0 and (old is None or s > old.strength):
                    out[lid] = Carried(lid, cluster.id, kind, ref, s)
    return out


# -- notice pictures --------------------------------------------------------------------------

@dataclass
class PicturesResult:
    """What fetching notice pictures did."""

    notices: int = 0
    kept: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"notices": self.notices, "kept": self.kept, "failed": self.failed,
                "errors": self.errors[:20]}


def _download(client: Any, url: str) -> tuple[bytes | None, str | None]:
    """The bytes at *url*, at most MAX_PHOTO_BYTES (None and why otherwise)."""
    import httpx

    from store.images import MAX_PHOTO_BYTES

    try:
        with client.stream("GET", url) as r:
            if r.status_code != 200:
                return None, f"http {r.status_code}"
            chunks, size = [], 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > MAX_PHOTO_BYTES:
                    return None, f"more than {MAX_PHOTO_BYTES} bytes"
                chunks.append(chunk)
            return b"".join(chunks), None
    except httpx.HTTPError as exc:
        return None, f"cannot fetch ({type(exc).__name__})"


def fetch_notice_pictures(session: Session, artifacts: Any, *, base_url: str | None = None,
                          notice_ids: Iterable[int] | None = None, timeout: float = 30.0,
                          transport: Any = None, again: bool = False) -> PicturesResult:
    """Download the pictures notices publish (Safety Gate ``pictures``, CPSC ``Images``) when
    reachable, keep them like listing photos (store.images) and link them to their notices.

    Notices whose pictures were fetched already are skipped unless *again*; relative picture
    URLs are resolved against *base_url* (the feed's address), else recorded as not fetched.
    A picture that cannot be fetched or read is recorded with its reason."""
    from urllib.parse import urljoin

    import httpx

    from store.images import MAX_PHOTOS, Photo, keep_photo

    q = select(ForeignNotice)  # pictures is JSON: filtered below (no JSON comparison in SQL)
    if notice_ids is not None:
        q = q.where(ForeignNotice.id.in_(list(notice_ids)))
    done = set() if again else set(session.scalars(select(NoticeImage.notice_id)))
    result = PicturesResult()
    with httpx.Client(timeout=timeout, follow_redirects=True, transport=transport) as client:
        for notice in session.scalars(q.order_by(ForeignNotice.id)):
            if notice.id in done or not notice.pictures:
                continue
            result.notices += 1
            photos = []
            for raw in list(notice.pictures)[:MAX_PHOTOS]:
                url = str(raw)
                if not url.startswith(("http://", "https://")):
                    url = urljoin(base_url, url) if base_url else url
                if not url.startswith(("http://", "https://")):
                    photos.append(Photo(url=url[:2000], error="relative URL: give --base"))
                    continue
                data, error = _download(client, url)
                photo = keep_photo(artifacts, url, data) if data is not None else \
                    Photo(url=url, error=error)
                photos.append(photo)
                if photo.error:
                    result.failed += 1
                    result.errors.append(f"{notice.source} {notice.reference}: {url[:100]} "
                                         f"({photo.error})")
                else:
                    result.kept += 1
            set_notice_photos(session, notice.id, photos)
    return result
