"""Do plans keep their own numbers?  Strata drawn vs allocated, the minimum per stratum and the
seller cap over many demo-like frames × seeds × methods, and realised π of the capped design.

    PYTHONPATH=. .venv/bin/python bench/bench_plan_allocation.py [--plans 22] [--seeds 10]
                                                                [--reps 4000]

Frames are built like the demo's: three platforms × three sectors (9 strata), 1,500 listings,
risk scores between 1.18 and 11.42, a few sellers with many listings (some across sectors),
n = 30, risk allocation, at most 2 buys per seller.  (The issue measured the old seller walk
on 22 plans: 49 of 198 strata off their allocation.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sampler import METHODS, Design, Frame, run_design
from sampler.design import cap_sellers
from sampler.errors import DesignInfeasible
from sampler.probabilities import stratified_inclusion_probabilities
from sampler.seller_cap import draw_seller_capped_many, layout, rounding_replicates


def demo_like(seed: int, N: int = 1500, sellers: int = 300) -> Frame:
    rng = np.random.default_rng(seed)
    weight = 1.0 / np.arange(1, sellers + 1) ** 0.9
    owner = rng.choice(sellers, size=N, p=weight / weight.sum())
    platform = np.array(["mall", "spa", "shop"])[owner % 3]
    sector = rng.choice(["electrical", "light_industry", "textiles"], size=N, p=[.3, .45, .25])
    strata = np.char.add(np.char.add(platform, "/"), sector)
    return Frame(ids=np.arange(N), strata=strata, sizes=rng.uniform(1.18, 11.42, size=N),
                 prices=rng.gamma(3.0, 40.0, size=N), sellers=owner.astype(str),
                 prn=rng.random(N))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plans", type=int, default=22)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--reps", type=int, default=4000)
    args = ap.parse_args()
    t0 = time.perf_counter()
    print(f"{'method':<11} {'plans':>5} {'strata':>7} {'off alloc':>9} {'below min':>9} "
          f"{'over cap':>8} {'infeasible':>10}")
    for method in METHODS:
        plans = strata = off = below = over = infeasible = 0
        for f in range(args.plans):
            frame = demo_like(1000 + f)
            design = Design(method=method, n=30, allocation="risk", min_per_stratum=2,
                            max_per_seller=2)
            for seed in range(args.seeds):
                try:
                    r = run_design(frame, design, np.random.default_rng(seed))
                except DesignInfeasible:
                    infeasible += 1
                    continue
                plans += 1
                labels, counts = np.unique(frame.strata[r.selected], return_counts=True)
                got = dict(zip(labels.tolist(), counts.tolist(), strict=True))
                for h, n_h in r.allocation.items():
                    strata += 1
                    off += got.get(h, 0) != n_h
                    below += got.get(h, 0) < min(2, r.stratum_sizes[h])
                assert frame.sellers is not None
                _, per = np.unique(frame.sellers[r.selected], return_counts=True)
                over += int((per > 2).sum())
        print(f"{method:<11} {plans:>5} {strata:>7} {off:>9} {below:>9} {over:>8} "
              f"{infeasible:>10}")
    # Realised π of the capped design on one demo-like frame.
    frame = demo_like(7)
    alloc = run_design(frame, Design(n=30, max_per_seller=2), np.random.default_rng(0)).allocation
    floors = {h: 0.1 * n / int((frame.strata == h).sum()) for h, n in alloc.items()}
    pik = stratified_inclusion_probabilities(frame.sizes, frame.strata, alloc, floors)
    assert frame.sellers is not None
    pik, _ = cap_sellers(pik, frame.strata, frame.sellers, 2)
    lay = layout(pik, frame.strata, frame.sellers, 2)
    rng = np.random.default_rng(2026)
    t1 = time.perf_counter()
    counts = rounding_replicates(lay, rng, args.reps)
    t_round = time.perf_counter() - t1
    se = np.sqrt(pik * (1 - pik) / args.reps)
    print(f"\nrealised π, capped design, N = {pik.size}, n = 30, {lay.capped_sellers} sellers "
          f"that could exceed 2, {args.reps} replicates (rounding {t_round:.1f} s):")
    for method in ("systematic", "pivotal", "sampford", "brewer", "pareto"):
        member = draw_seller_capped_many(pik, frame.strata, frame.sellers, 2, method, rng,
                                         args.reps, counts=counts)
        err = np.abs(member.mean(axis=0) - pik)
        z = err / np.maximum(se, 1e-12)
        print(f"  {method:<11} max |f − π| = {err.max():.4f}  max |f − π|/SE = {z.max():.2f}  "
              f"share beyond 3 SE = {(z > 3).mean():.4f}")
    print(f"\ntotal {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
