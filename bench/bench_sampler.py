"""Benchmark: πps draws on a 1,000,000-unit frame, and inclusion frequencies by Monte Carlo.

1. Speed (issue 6): n = 1,000 from 1,000,000 units in 20 strata (50 per stratum), π ∝ size
   computed and drawn, for each method; targets ≤ 1 s for systematic, pivotal and Pareto,
   ≤ 2 s for Brewer.  The same task with ``samplics`` (pps_sys and pps_brewer) runs in the same
   process as the baseline; the ratio is samplics' time / ours.
2. Accuracy: 200,000 replicate samples per method on a small population (N = 40, n = 10,
   with a certainty unit and a floored unit); the largest |frequency − π| must be ≤ 0.01.

    .venv/bin/python bench/bench_sampler.py [--quick] [--no-samplics] [--reps 200000]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._report import record
from sampler import draw_many, draw_stratified, inclusion_probabilities
from sampler.probabilities import stratified_inclusion_probabilities

TARGETS = {"systematic": 1.0, "pivotal": 1.0, "pareto": 1.0, "brewer": 2.0,
           "sampford": None, "srs": None}


def frame(N: int, H: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.gamma(2.0, 1.0, size=N)
    strata = np.repeat([f"h{i:02d}" for i in range(H)], N // H)
    return sizes, strata


def ours(method: str, sizes: np.ndarray, strata: np.ndarray, alloc: dict[str, int],
         seed: int) -> tuple[float, int]:
    t0 = time.perf_counter()
    x = np.ones_like(sizes) if method == "srs" else sizes
    pik = stratified_inclusion_probabilities(x, strata, alloc)
    prn = np.random.default_rng(seed + 1).random(sizes.size) if method == "pareto" else None
    chosen = draw_stratified(pik, strata, method, np.random.default_rng(seed), prn)
    return time.perf_counter() - t0, int(chosen.size)


def theirs(method: str, sizes: np.ndarray, strata: np.ndarray, alloc: dict[str, int],
           seed: int) -> tuple[float, int]:
    from samplics.sampling import SampleSelection
    from samplics.utils.types import SelectMethod

    np.random.seed(seed)
    sel = SampleSelection(method=getattr(SelectMethod, method), strat=True, wr=False)
    t0 = time.perf_counter()
    sample, _hits, _probs = sel.select(np.arange(sizes.size), samp_size=alloc, stratum=strata,
                                       mos=sizes)
    return time.perf_counter() - t0, int(np.asarray(sample).astype(bool).sum())


def accuracy(method: str, reps: int) -> tuple[float, float]:
    rng = np.random.default_rng(2024)
    x = rng.gamma(1.5, 1.0, size=40)
    x[0], x[1] = 40.0, 0.0
    pik = np.ones(40) * 0.25 if method == "srs" else inclusion_probabilities(x, 10, floor=0.02)
    counts = np.zeros(40)
    done = 0
    while done < reps:
        k = min(20_000, reps - done)
        counts += np.bincount(draw_many(pik, method, rng, k).ravel(), minlength=40)
        done += k
    freq = counts / reps
    se = np.sqrt(pik * (1 - pik) / reps)
    dev = np.abs(freq - pik)
    return float(dev.max()), float(np.max(np.where(se > 0, dev / np.where(se > 0, se, 1), 0)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100,000 units, 20,000 replicates")
    ap.add_argument("--no-samplics", action="store_true", help="skip the samplics baseline")
    ap.add_argument("--reps", type=int, default=None)
    args = ap.parse_args()
    N = 100_000 if args.quick else 1_000_000
    H, n = 20, 1000
    reps = args.reps or (20_000 if args.quick else 200_000)
    sizes, strata = frame(N, H)
    alloc = {f"h{i:02d}": n // H for i in range(H)}
    print(f"frame: {N:,} units, {H} strata, n = {n}")

    base: dict[str, float] = {}
    if not args.no_samplics:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for m in ("pps_sys", "pps_brewer"):
                secs, got = theirs(m, sizes, strata, alloc, seed=5)
                base[m] = secs
                print(f"samplics {m}: {secs:.3f} s ({got} selected)", flush=True)
    for method in ("systematic", "pivotal", "pareto", "brewer", "sampford", "srs"):
        ours(method, sizes[:2000], strata[:2000], {"h00": 10}, seed=0)  # warm-up
        times = []
        for rep in range(3):
            secs, got = ours(method, sizes, strata, alloc, seed=rep)
            assert got == n, (method, got)
            times.append(secs)
        best = min(times)
        peer = "pps_brewer" if method in ("brewer", "sampford") else "pps_sys"
        target = TARGETS[method]
        record(f"{method}: draw n={n} from {N:,} units, {H} strata", best, "s",
               baseline=base.get(peer), baseline_label=f"samplics {peer}",
               target=f"<= {target:g} s" if target else "", higher_is_better=False,
               ok=None if target is None or args.quick else best <= target)
    for method in ("systematic", "pivotal", "pareto", "brewer", "sampford", "srs"):
        t0 = time.perf_counter()
        worst, zmax = accuracy(method, reps)
        secs = time.perf_counter() - t0
        record(f"{method}: max |freq − π| over {reps:,} replicates (max z {zmax:.2f}, "
               f"{secs:.1f} s)", worst, "abs", target="<= 0.01", higher_is_better=False,
               ok=worst <= 0.01)


if __name__ == "__main__":
    main()
