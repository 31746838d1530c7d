"""Benchmark: the cost of building product links and clusters at 10⁶ listings (issue 25).

What ``sampler.products.build_links`` and ``clusters`` cost on a store of ``--listings``
listings, each with one product photo: time per link kind, the photo index's build, the
clusters' union-find, and the process's peak memory.  The listings are **synthetic** (a cost
measure, not a quality one; quality is bench/bench_images.py's, on real photos):

* every listing sells one of ``listings / 3`` products (a product sold ~3 times), of 5 000
  brands (brand blocks of ~200 titles); the listing shows the product's model code (half of
  them) and its GTIN (40 %), titles "<brand> <noun> <three words of the product> <model>";
* one photo per listing: random 256-bit PDQ codes (crop variants a few bits off the whole
  photo, as real ones are), 10 % of them near-copies (10-40 bits off) of another listing's.

The photo links are measured on ``--photo-queries`` photos (each photo's whole-photo hash
searched against every stored hash, as ``PhotoIndex.pairs`` does for every photo when
``photo_links`` rebuilds) and the full pass extrapolated from their mean:
at 10⁶ photos a full pass is the cost the nightly ``score`` job would pay.  Targets: every kind
and the clusters within 30 minutes together (a nightly slot), peak memory < 4 GB.

    .venv/bin/python bench/bench_products.py [--listings 1000000] [--photo-queries 2000]
        [--kinds gtin,brand_model,title]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import record

TARGET_S = 30 * 60
TARGET_MB = 4096


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def populate(db: object, n: int, rng: np.random.Generator) -> None:
    """Platforms, *n* listings, their photos (bulk inserts: this is set-up, not measured)."""
    from sqlalchemy import insert

    from store.models import Listing as L
    from store.models import ListingImage, Platform, ProductImage

    engine = db.engine  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(insert(Platform), [{"id": i + 1, "code": c, "name": c}
                                        for i, c in enumerate(("mall", "spa", "shop"))])
    products = max(1, n // 3)
    nouns = ["kettle", "lamp", "toy car", "charger", "helmet", "blender", "doll", "heater"]
    words = [f"{a}{b}" for a in ("red", "blue", "mini", "pro", "max", "eco", "kid", "usb",
                                 "smart", "steel") for b in ("", "x", "plus", "go", "one")]
    pdq = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    copies = rng.random(n) < 0.10
    src = rng.integers(0, n, size=n)
    bits = np.unpackbits(pdq, axis=1)
    for i in np.nonzero(copies)[0]:
        row = np.unpackbits(pdq[src[i]]).copy()
        row[rng.choice(256, size=int(rng.integers(10, 41)), replace=False)] ^= 1
        bits[i] = row
    pdq = np.packbits(bits, axis=1)
    chunk = 50_000
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        listings, images, links = [], [], []
        for i in range(start, stop):
            product = int(rng.integers(0, products))
            brand = f"Brand{product % 5000}"
            model = f"MX{product}" if rng.random() < 0.5 else None
            listings.append({
                "id": i + 1, "platform_id": 1 + i % 3, "external_id": str(i),
                "url": f"http://example.test/{i}", "brand": brand, "model": model,
                # A product's own words: titles of one product agree, another's differ.
                "title": " ".join([brand, nouns[product % len(nouns)],
                                   *(words[(product * 2654435761 >> (8 * k)) % len(words)]
                                     for k in range(3)), model or ""]).strip(),
                "gtin": f"{4000000000000 + product:014d}" if rng.random() < 0.4 else None})
            whole = pdq[i]
            crops = []
            for _ in range(9):
                v = np.unpackbits(whole).copy()
                v[rng.choice(256, size=20, replace=False)] ^= 1
                crops.append(np.packbits(v).tobytes().hex())
            images.append({"id": i + 1, "sha256": f"{i:064x}", "size": 1, "width": 1,
                           "height": 1, "format": "JPEG", "pdq": whole.tobytes().hex(),
                           "pdq_quality": 100, "pdq_crops": crops,
                           "phash": rng.integers(0, 256, 8, dtype=np.uint8).tobytes().hex()})
            links.append({"listing_id": i + 1, "position": 0, "url": f"http://img.test/{i}",
                          "image_id": i + 1})
        with engine.begin() as conn:
            conn.execute(insert(L), listings)
            conn.execute(insert(ProductImage), images)
            conn.execute(insert(ListingImage), links)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listings", type=int, default=1_000_000)
    ap.add_argument("--photo-queries", type=int, default=2000)
    ap.add_argument("--kinds", default="gtin,brand_model,title",
                    help="identifier and title kinds to build (photos and clusters always)")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores; {args.listings:,} synthetic "
          "listings")
    from sampler.products import build_links, clusters, photo_links
    from store.db import Database
    from store.photoindex import PhotoIndex

    rng = np.random.default_rng(25)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(f"sqlite:///{tmp}/bench.db")
        t = time.perf_counter()
        populate(db, args.listings, rng)
        print(f"set-up (not measured): {time.perf_counter() - t:.0f} s")
        total = 0.0
        for kind in [k for k in args.kinds.split(",") if k]:
            t = time.perf_counter()
            with db.session() as s:
                result = build_links(s, [kind])
            dt = time.perf_counter() - t
            total += dt
            record(f"links by {kind}, {args.listings:,} listings", dt, "s",
                   higher_is_better=False)
            print(f"  {kind}: {result.proposed.get(kind, 0):,} links")
        t = time.perf_counter()
        with db.session() as s:
            index = PhotoIndex.of_store(s)
        dt = time.perf_counter() - t
        total += dt
        record(f"photo index build, {args.listings:,} photos × 10 hashes", dt, "s",
               higher_is_better=False)
        sample = rng.choice(np.arange(1, args.listings + 1), size=min(args.photo_queries,
                                                                      args.listings),
                            replace=False)
        from store.photos import CONFIRM_BITS, NEAR_DUPLICATE_BITS

        t = time.perf_counter()
        found = sum(len(index.index.search(index.hashes[int(i)][0], CONFIRM_BITS,
                                           probe=NEAR_DUPLICATE_BITS)) for i in sample)
        per = (time.perf_counter() - t) / len(sample)
        full = per * args.listings
        total += full
        record(f"photo search per photo (whole hash), {args.listings:,} photos", per * 1000,
               "ms", higher_is_better=False)
        record(f"photo links, full pass over {args.listings:,} photos (extrapolated from "
               f"{len(sample):,})", full, "s", target=f"< {TARGET_S}", ok=full < TARGET_S,
               higher_is_better=False)
        print(f"  hashes within reach of the sampled photos: {found}")
        if args.listings <= 20_000:  # small enough to run the real pass: checks the estimate
            t = time.perf_counter()
            with db.session() as s:
                n_links = len(photo_links(s, index))
            record(f"photo links, real pass ({n_links:,} links)", time.perf_counter() - t,
                   "s", higher_is_better=False)
        t = time.perf_counter()
        with db.session() as s:
            made = clusters(s)
        dt = time.perf_counter() - t
        total += dt
        record(f"clusters (union-find over stored links), {len(made):,} clusters", dt, "s",
               higher_is_better=False)
        record("links and clusters, total", total, "s", target=f"< {TARGET_S}",
               ok=total < TARGET_S, higher_is_better=False)
        record("peak memory (RSS)", peak_mb(), "MB", target=f"< {TARGET_MB}",
               ok=peak_mb() < TARGET_MB, higher_is_better=False)
        db.dispose()
    record("load average during the run", load, "", higher_is_better=False)


if __name__ == "__main__":
    main()
