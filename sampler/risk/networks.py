"""Seller networks: storefronts linked by a shared normalised contact, grouped transitively.

Two storefronts are linked when they publish the same phone number (WhatsApp numbers count as
phones), e-mail address, WeChat id, street address or licence number, after normalisation
(normalise.contact_keys).  Links are transitive — A shares a phone with B, B an address with C:
one network — computed as connected components of a sparse seller graph (scipy), across
platforms.  A network's history (failed samples, cases, complaints) then counts for all its
storefronts.

A contact shared by very many sellers (a marketplace's own hotline, a registered-agent address)
says nothing about who runs a shop: such keys are ignored (``max_shared``).

Storefronts showing the very same product photo file (store.images: one row per content) are
linked too, like a shared contact: copied photos give away one operator behind several shops.
A photo shown by more than :data:`PHOTO_MAX_SHARED` sellers is a brand's official picture that
every reseller uses, and links nobody.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sampler.risk.normalise import contact_keys
from store.models import Seller

#: A contact key shared by more sellers than this is treated as a platform-wide placeholder.
MAX_SHARED = 50
#: A product photo shown by more sellers than this is a brand's official (common) picture.
PHOTO_MAX_SHARED = 5


@dataclass
class NetworkSummary:
    """Result of a network build: sellers, networks with >= 2 storefronts, their sizes."""

    sellers: int = 0
    networks: int = 0
    networked_sellers: int = 0
    largest: int = 0
    ignored_keys: list[str] = field(default_factory=list)
    changed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def cluster(sellers: list[tuple[int, dict[str, Any] | None, str | None]],
            max_shared: int = MAX_SHARED, extra_keys: dict[int, set[str]] | None = None
            ) -> tuple[dict[int, str], list[str]]:
    """seller id -> cluster id ("net-<smallest member id>") for (id, contacts, licence) rows,
    with *extra_keys* (seller id -> keys such as shared photos) linking like contacts.

    Singletons get ``solo-<id>`` so that every seller has a cluster to count history by.
    """
    ids = [s[0] for s in sellers]
    index = {sid: i for i, sid in enumerate(ids)}
    members: dict[str, list[int]] = defaultdict(list)
    for sid, contacts, licence in sellers:
        for key in contact_keys(contacts, licence) | (extra_keys or {}).get(sid, set()):
            members[key].append(index[sid])
    rows: list[int] = []
    cols: list[int] = []
    ignored: list[str] = []
    for key, group in members.items():
        if len(group) < 2:
            continue
        if len(group) > max_shared:
            ignored.append(key.split(":", 1)[0] + ":…")
            continue
        first = group[0]
        rows.extend([first] * (len(group) - 1))
        cols.extend(group[1:])
    n = len(ids)
    if n == 0:
        return {}, ignored
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    size = np.bincount(labels)
    smallest: dict[int, int] = {}
    for sid, label in zip(ids, labels.tolist(), strict=True):
        smallest[label] = min(smallest.get(label, sid), sid)
    out = {}
    for sid, label in zip(ids, labels.tolist(), strict=True):
        out[sid] = f"net-{smallest[label]}" if size[label] > 1 else f"solo-{sid}"
    return out, sorted(set(ignored))


def photo_keys(session: Session) -> dict[int, set[str]]:
    """seller id -> ``photo:<image id>`` for each product photo the seller shares with at least
    one and at most :data:`PHOTO_MAX_SHARED` - 1 other sellers."""
    from store.models import Listing, ListingImage

    by_image: dict[int, set[int]] = defaultdict(set)
    for sid, image_id in session.execute(
            select(Listing.seller_id, ListingImage.image_id)
            .join(ListingImage, ListingImage.listing_id == Listing.id)
            .where(Listing.seller_id.is_not(None), ListingImage.image_id.is_not(None))):
        if sid is not None and image_id is not None:
            by_image[image_id].add(sid)
    keys: dict[int, set[str]] = defaultdict(set)
    for image_id, sids in by_image.items():
        if 2 <= len(sids) <= PHOTO_MAX_SHARED:
            for sid in sids:
                keys[sid].add(f"photo:{image_id}")
    return keys


def build_seller_networks(session: Session, max_shared: int = MAX_SHARED) -> NetworkSummary:
    """Recompute every seller's cluster_id from the contacts on record."""
    rows = session.execute(select(Seller.id, Seller.contacts, Seller.licence_number,
                                  Seller.cluster_id)).all()
    mapping, ignored = cluster([(r[0], r[1], r[2]) for r in rows], max_shared,
                               photo_keys(session))
    old = {r[0]: r[3] for r in rows}
    changed = [{"sid": sid, "cid": cid} for sid, cid in mapping.items() if old.get(sid) != cid]
    if changed:
        from sqlalchemy import bindparam

        table: Any = Seller.__table__
        stmt = update(table).where(table.c.id == bindparam("sid")) \
            .values(cluster_id=bindparam("cid"))
        session.connection().execute(stmt, changed)
    sizes: dict[str, int] = defaultdict(int)
    for cid in mapping.values():
        if cid.startswith("net-"):
            sizes[cid] += 1
    return NetworkSummary(sellers=len(rows), networks=len(sizes),
                          networked_sellers=sum(sizes.values()),
                          largest=max(sizes.values(), default=0), ignored_keys=ignored,
                          changed=len(changed))
