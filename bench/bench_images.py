"""Benchmark: product photo hashes and near-duplicate search (issue 25).

Measures, on real photographs (bench/photos/PROVENANCE.md; cached outside the repository):

* **hash throughput** — photos/s of ``store.photos.fingerprint`` (decode, PDQ of the photo and
  of its 3 × 3 crop variants, pHash), the work a crawl does per downloaded photo;
* **recall / precision** of near-duplicate search on a set with known copies: every photo and
  every quarter of it is an original, copied four ways (resized, recompressed, cropped 5 %,
  watermarked: sandbox/photo_copies.py); a copy must find its original and the other copies of
  it, and nothing made from another original (targets: recall ≥ 0.95 at precision ≥ 0.95).
  Baseline: the same search with the whole-photo PDQ only (no crop variants);
* **index build and query time at 10⁶ hashes** — the real photos' hashes among random ones up
  to 10⁶ codes of 256 bits in ``store.hashindex.HammingIndex`` (targets: build < 60 s, query
  < 10 ms); baseline: brute force over the same codes (vectorised XOR + popcount).

    .venv/bin/python bench/bench_images.py [--photos DIR] [--hashes 1000000] [--quick] [--faiss]

Run it alone (``flock /tmp/spotcheck-browser.lock``): times depend on the machine's load, which
is recorded with the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import record

from sandbox.photo_copies import TRANSFORMS, jpeg
from store.hashindex import HammingIndex, brute_force
from store.photoindex import PhotoIndex
from store.photos import NEAR_DUPLICATE_BITS, PhotoPrint, all_pdq, fingerprint

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("SPOTCHECK_BENCH_PHOTOS",
                            Path.home() / ".cache" / "spotcheck" / "bench-photos"))
FALLBACK = HERE.parent / "tests" / "photos"


def load_photos(folder: Path) -> tuple[dict[str, bytes], str]:
    """The benchmark's photos, each checked against its recorded SHA-256."""
    sources = json.loads((HERE / "photos" / "sources.json").read_text(encoding="utf-8"))
    found: dict[str, bytes] = {}
    for name, sha in sources["files"].items():
        path = folder / name
        if not path.exists():
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            raise SystemExit(f"{path}: SHA-256 differs from bench/photos/sources.json")
        found[name] = data
    if found:
        return found, f"{len(found)} photos from {folder}"
    small = {p.name: p.read_bytes() for p in sorted(FALLBACK.glob("*.jpg"))}
    return small, (f"{len(small)} photos from tests/photos ({folder} is empty: see "
                   "bench/photos/PROVENANCE.md)")


def originals(photos: dict[str, bytes]) -> list[tuple[str, Image.Image]]:
    """Every photo and every quarter of it (distinct pictures), as RGB."""
    out = []
    for name, data in sorted(photos.items()):
        with Image.open(io.BytesIO(data)) as img:
            rgb = img.convert("RGB")
        out.append((name, rgb))
        w, h = rgb.size
        if min(w, h) >= 256:
            for i, (x, y) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):
                box = (x * w // 2, y * h // 2, (x + 1) * w // 2, (y + 1) * h // 2)
                out.append((f"{name}#q{i}", rgb.crop(box)))
    return out


def evaluate(prints: dict[int, PhotoPrint], origin: dict[int, int], kinds: dict[int, str],
             whole_only: bool = False, radius: int = NEAR_DUPLICATE_BITS
             ) -> dict[str, tuple[float, float, int]]:
    """Recall and precision per copy kind: each copy searched among all pictures."""
    index = PhotoIndex()
    hashes = {k: ([p.pdq] if whole_only else all_pdq(p)) for k, p in prints.items()}
    index.add(hashes.items())
    out: dict[str, tuple[float, float, int]] = {}
    for kind in TRANSFORMS:
        found_pairs = relevant_pairs = returned = correct = 0
        queries = [k for k in prints if kinds[k] == kind]
        for q in queries:
            hits = {c.image_id for c in index.copies(hashes[q], radius, exclude=q)}
            relevant = {k for k in prints if origin[k] == origin[q] and k != q}
            found_pairs += len(hits & relevant)
            relevant_pairs += len(relevant)
            returned += len(hits)
            correct += len(hits & relevant)
        out[kind] = (found_pairs / max(relevant_pairs, 1), correct / returned if returned else 1.0,
                     len(queries))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=Path, default=CACHE)
    ap.add_argument("--hashes", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="10⁵ hashes, fewer queries")
    ap.add_argument("--faiss", action="store_true", help="also time faiss IndexBinaryMultiHash")
    ap.add_argument("--radius", type=int, default=NEAR_DUPLICATE_BITS,
                    help="near-duplicate radius in PDQ bits (default: the store's)")
    args = ap.parse_args()
    if args.quick:
        args.hashes, args.queries = 100_000, 100
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores")
    photos, note = load_photos(args.photos)
    print(note)
    print(f"near-duplicate radius: {args.radius} of 256 PDQ bits")
    pics = originals(photos)

    # -- hash throughput ------------------------------------------------------------------
    encoded = [jpeg(img, 92) for _, img in pics]
    t = time.perf_counter()
    prints: dict[int, PhotoPrint] = {i: fingerprint(data) for i, data in enumerate(encoded)}
    dt = time.perf_counter() - t
    record("photo hash throughput (decode + PDQ ×10 + pHash)", len(encoded) / dt, "photos/s",
           target="(none)")

    # -- recall / precision on copies ------------------------------------------------------
    origin = {i: i for i in prints}
    kinds = {i: "original" for i in prints}
    k = len(prints)
    for i, (_, img) in enumerate(pics):
        for j, (kind, fn) in enumerate(TRANSFORMS.items()):
            prints[k] = fingerprint(jpeg(fn(img, 1000 * i + j)))
            origin[k], kinds[k] = i, kind
            k += 1
    print(f"{len(pics)} originals ({len(photos)} photos and their quarters), "
          f"{k - len(pics)} copies")
    ours = evaluate(prints, origin, kinds, radius=args.radius)
    base = evaluate(prints, origin, kinds, whole_only=True, radius=args.radius)
    all_r, all_p = [], []
    for kind, (recall, precision, n) in ours.items():
        b_recall, b_precision, _ = base[kind]
        record(f"recall, {kind} copies ({n})", recall, "", baseline=b_recall,
               baseline_label="whole-photo PDQ only", target=">= 0.95", ok=recall >= 0.95)
        record(f"precision, {kind} copies ({n})", precision, "", baseline=b_precision,
               baseline_label="whole-photo PDQ only", target=">= 0.95", ok=precision >= 0.95)
        all_r.append(recall)
        all_p.append(precision)
    record("recall, all copies (mean over the four kinds)", float(np.mean(all_r)), "",
           target=">= 0.95", ok=float(np.mean(all_r)) >= 0.95)
    record("precision, all copies (mean over the four kinds)", float(np.mean(all_p)), "",
           target=">= 0.95", ok=float(np.mean(all_p)) >= 0.95)

    # -- index at scale --------------------------------------------------------------------
    real = [(i, h) for i, p in prints.items() for h in all_pdq(p)]
    rng = np.random.default_rng(25)
    filler = max(0, args.hashes - len(real))
    codes = np.concatenate([np.frombuffer(b"".join(h for _, h in real), np.uint8).reshape(-1, 32),
                            rng.integers(0, 256, size=(filler, 32), dtype=np.uint8)])
    ids = np.concatenate([np.array([i for i, _ in real], dtype=np.int64),
                          np.arange(10**7, 10**7 + filler, dtype=np.int64)])
    queries = [prints[q].pdq for q in prints if kinds[q] != "original"][:args.queries]
    engines = ["numpy"] + (["faiss"] if args.faiss else [])
    for engine in engines:
        if engine == "faiss":
            import faiss

            faiss.omp_set_num_threads(1)
        index = HammingIndex(256, engine=engine)
        t = time.perf_counter()
        index.add(ids, codes)
        build = time.perf_counter() - t
        record(f"index build, {len(ids):,} hashes ({engine})", build, "s", target="< 60",
               ok=build < 60, higher_is_better=False)
        times = []
        false_hits = 0
        for q in queries:
            t = time.perf_counter()
            hits = index.search(q, args.radius)
            times.append(time.perf_counter() - t)
            false_hits += sum(1 for h in hits if h.id >= 10**7)
        ms = np.array(times) * 1000
        brute = []
        qa = np.frombuffer(b"".join(queries[:20]), np.uint8).reshape(-1, 32)
        for q in qa:
            t = time.perf_counter()
            brute_force(codes, ids, q, args.radius)
            brute.append(time.perf_counter() - t)
        record(f"query at radius {args.radius}, {len(ids):,} hashes ({engine}), mean",
               float(ms.mean()), "ms", baseline=float(np.mean(brute) * 1000),
               baseline_label="brute force", target="< 10", ok=float(ms.mean()) < 10,
               higher_is_better=False)
        record(f"query p95 ({engine})", float(np.percentile(ms, 95)), "ms",
               higher_is_better=False)
        record(f"random codes within radius of a real query ({engine})", false_hits, "hits",
               higher_is_better=False)
    record("load average during the run", load, "", higher_is_better=False)


if __name__ == "__main__":
    main()
