"""Benchmark: the cost of building product links and clusters at 10⁶ listings (issue 25).

What ``sampler.products.build_links`` and ``clusters`` cost on a store of ``--listings``
listings, each with one product photo: wall and CPU time per link kind, the photo pass in its
parts (hashes read, bulk self-join of store.photopairs, links stored), the clusters'
union-find, an incremental photo pass after ``--added`` more listings, and the process's peak
memory.  The listings are **synthetic** (a cost measure, not a quality one; quality is
bench/bench_images.py's, on real photos):

* every listing sells one of ``listings / 3`` products (a product sold ~3 times), of 5 000
  brands (brand blocks of ~200 titles); the listing shows the product's model code (half of
  them) and its GTIN (40 %), titles "<brand> <noun> <three words of the product> <model>";
* one photo per listing: random 256-bit PDQ codes (crop variants ~20 random bits off the
  whole photo), 10 % of them near-copies (10-40 random bits off) of an earlier listing's.

Targets: every kind and the clusters within 30 minutes together (a nightly slot), peak memory
< 4 GB.  No browser: do not take the browser lock.

    .venv/bin/python bench/bench_products.py [--listings 1000000] [--added 0.01]
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


def populate(db: object, n: int, rng: np.random.Generator, start_id: int = 0) -> None:
    """Platforms, *n* listings, their photos (bulk inserts: this is set-up, not measured);
    *start_id*: add them after listings already there (the incremental measure)."""
    from sqlalchemy import insert

    from store.models import Listing as L
    from store.models import ListingImage, Platform, ProductImage

    engine = db.engine  # type: ignore[attr-defined]
    if not start_id:
        with engine.begin() as conn:
            conn.execute(insert(Platform), [{"id": i + 1, "code": c, "name": c}
                                            for i, c in enumerate(("mall", "spa", "shop"))])
    total = start_id + n
    products = max(1, total // 3)
    nouns = ["kettle", "lamp", "toy car", "charger", "helmet", "blender", "doll", "heater"]
    words = [f"{a}{b}" for a in ("red", "blue", "mini", "pro", "max", "eco", "kid", "usb",
                                 "smart", "steel") for b in ("", "x", "plus", "go", "one")]
    chunk = 20_000
    for first in range(start_id, total, chunk):
        stop = min(total, first + chunk)
        m = stop - first
        bits = rng.random((m, 256)) < 0.5
        # 10 % are near-copies (10-40 bits off) of an earlier listing's photo of this chunk.
        copies = np.nonzero(rng.random(m) < 0.10)[0]
        src = (rng.random(len(copies)) * np.maximum(copies, 1)).astype(np.int64)
        flips = rng.random((len(copies), 256)) < rng.integers(10, 41, len(copies))[:, None] / 256
        bits[copies] = bits[src] ^ flips
        whole = np.packbits(bits, axis=1)
        # Crop variants a few bits off the whole photo (~20 of 256), as real ones are.
        crops = np.packbits(bits[:, None, :] ^ (rng.random((m, 9, 256)) < 20 / 256), axis=2)
        listings, images, links = [], [], []
        for k, i in enumerate(range(first, stop)):
            product = int(rng.integers(0, products))
            brand = f"Brand{product % 5000}"
            model = f"MX{product}" if rng.random() < 0.5 else None
            listings.append({
                "id": i + 1, "platform_id": 1 + i % 3, "external_id": str(i),
                "url": f"http://example.test/{i}", "brand": brand, "model": model,
                # A product's own words: titles of one product agree, another's differ.
                "title": " ".join([brand, nouns[product % len(nouns)],
                                   *(words[(product * 2654435761 >> (8 * k2)) % len(words)]
                                     for k2 in range(3)), model or ""]).strip(),
                "gtin": f"{4000000000000 + product:014d}" if rng.random() < 0.4 else None})
            images.append({"id": i + 1, "sha256": f"{i:064x}", "size": 1, "width": 1,
                           "height": 1, "format": "JPEG", "pdq": whole[k].tobytes().hex(),
                           "pdq_quality": 100,
                           "pdq_crops": [c.tobytes().hex() for c in crops[k]],
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
    ap.add_argument("--added", type=float, default=0.01,
                    help="share of listings added after the first build (incremental pass)")
    ap.add_argument("--kinds", default="gtin,brand_model,title",
                    help="identifier and title kinds to build (photos and clusters always)")
    args = ap.parse_args()
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores; {args.listings:,} synthetic "
          "listings")
    from sampler.products import build_links, clusters
    from store.db import Database
    from store.photopairs import PhotoCodes, copy_pairs, flips_for

    rng = np.random.default_rng(25)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(f"sqlite:///{tmp}/bench.db")
        t = time.perf_counter()
        populate(db, args.listings, rng)
        print(f"set-up (not measured): {time.perf_counter() - t:.0f} s; peak so far "
              f"{peak_mb():,.0f} MB")
        total = 0.0

        def step(label: str, dt: float, cpu: float) -> None:
            record(label, dt, "s", higher_is_better=False)
            print(f"    CPU {cpu:.0f} s; peak memory so far {peak_mb():,.0f} MB", flush=True)

        for kind in [k for k in args.kinds.split(",") if k]:
            t, c = time.perf_counter(), time.process_time()
            with db.session() as s:
                result = build_links(s, [kind])
            dt = time.perf_counter() - t
            total += dt
            step(f"links by {kind}, {args.listings:,} listings", dt, time.process_time() - c)
            print(f"  {kind}: {result.proposed.get(kind, 0):,} links")
        # The photo pass in its parts: reading the hashes, the self-join, then the whole build.
        t, c = time.perf_counter(), time.process_time()
        with db.session() as s:
            codes = PhotoCodes.of_store(s)
        step(f"photo hashes read, {len(codes.image_ids):,} photos × 10 hashes",
             time.perf_counter() - t, time.process_time() - c)
        flips = flips_for(len(codes.image_ids), len(codes.hashes))
        t, c = time.perf_counter(), time.process_time()
        pairs = copy_pairs(codes, flips=flips)
        step(f"photo pairs, bulk self-join ({flips} flips), {len(pairs):,} pairs",
             time.perf_counter() - t, time.process_time() - c)
        del codes, pairs
        t, c = time.perf_counter(), time.process_time()
        with db.session() as s:
            result = build_links(s, ["photo"], full_photos=True)
        dt = time.perf_counter() - t
        total += dt
        step(f"photo links, full pass over {args.listings:,} photos "
             f"({result.proposed.get('photo', 0):,} links)", dt, time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        with db.session() as s:
            made = clusters(s)
        dt = time.perf_counter() - t
        total += dt
        step(f"clusters (union-find over stored links), {len(made):,} clusters", dt,
             time.process_time() - c)
        record("links and clusters, total", total, "s", target=f"< {TARGET_S}",
               ok=total < TARGET_S, higher_is_better=False)
        added = int(args.listings * args.added)
        if added:
            populate(db, added, rng, start_id=args.listings)
            t, c = time.perf_counter(), time.process_time()
            with db.session() as s:
                result = build_links(s, ["photo"])
            step(f"photo links, incremental pass after {added:,} listings added",
                 time.perf_counter() - t, time.process_time() - c)
        record("peak memory (RSS)", peak_mb(), "MB", target=f"< {TARGET_MB}",
               ok=peak_mb() < TARGET_MB, higher_is_better=False)
        db.dispose()
    record("load average during the run", load, "", higher_is_better=False)


if __name__ == "__main__":
    main()
