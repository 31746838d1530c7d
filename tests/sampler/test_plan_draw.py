"""A plan keeps its own numbers: exact n_h per stratum, the minimum, the seller cap, SRS, and
capping that agrees with R (issue 20)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sampler import METHODS, Design, Frame, inclusion_probabilities, run_design
from sampler.design import cap_sellers
from sampler.probabilities import stratified_inclusion_probabilities
from sampler.seller_cap import (
    controlled_rounding,
    draw_seller_capped_many,
    layout,
    rounding_replicates,
    split_share,
)

GOLDEN = Path(__file__).resolve().parents[1] / "r" / "inclusion_capping.json"
R_SCRIPT = GOLDEN.with_suffix(".R")


def _check_golden(data: dict) -> None:
    for case in data["cases"]:
        pik = inclusion_probabilities(case["sizes"], case["n"], case["floor"])
        np.testing.assert_allclose(pik, case["pik"], rtol=0, atol=1e-12, err_msg=case["name"])


def test_capping_agrees_with_r_sampling() -> None:
    """sampling::inclusionprobabilities (no floor) and the floored definition solved in R."""
    _check_golden(json.loads(GOLDEN.read_text()))


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed")
def test_capping_agrees_with_r_live() -> None:
    out = subprocess.run(["Rscript", str(R_SCRIPT)], capture_output=True, text=True, timeout=120)
    if "there is no package called" in out.stderr:
        pytest.skip("R package sampling is not installed")
    assert out.returncode == 0, out.stderr
    _check_golden(json.loads(out.stdout))


def test_floor_releases_a_unit_capped_before() -> None:
    """Capping first fixed unit 0 at 1 for good; the floor then took mass from it and Σπ was
    2.1 for n = 2.  Solved as one equation, unit 0 keeps its proportional share."""
    x = np.array([5.0, 1.0, 1.0] + [0.001] * 20)
    pik = inclusion_probabilities(x, 2, floor=0.05)
    assert pik.sum() == pytest.approx(2.0, abs=1e-12)
    assert pik[0] == pytest.approx(5 / 7)
    assert np.all(pik[3:] == 0.05)


def market(N: int = 400, sellers: int = 60, seed: int = 3) -> Frame:
    """A frame like the demo's: platform × sector strata, risk scores 1.2–11.4, sellers
    with many listings, some across sectors."""
    rng = np.random.default_rng(seed)
    weight = 1.0 / np.arange(1, sellers + 1) ** 0.8  # a few sellers with many listings
    owner = rng.choice(sellers, size=N, p=weight / weight.sum())
    platform = np.array(["mall", "spa", "shop"])[owner % 3]
    sector = rng.choice(["electrical", "light_industry", "textiles"], size=N, p=[.3, .5, .2])
    strata = np.char.add(np.char.add(platform, "/"), sector)
    return Frame(ids=np.arange(N), strata=strata, sizes=rng.uniform(1.18, 11.42, size=N),
                 prices=rng.gamma(3.0, 40.0, size=N), sellers=owner.astype(str),
                 prn=rng.random(N))


def drawn_per_stratum(frame: Frame, selected: np.ndarray) -> dict[str, int]:
    labels, counts = np.unique(frame.strata[selected], return_counts=True)
    return dict(zip(labels.tolist(), counts.tolist(), strict=True))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("cap", [None, 2])
def test_every_stratum_draws_its_allocation(method: str, cap: int | None) -> None:
    """Every method, 25 seeds, with and without a seller cap: n_h drawn = n_h allocated, the
    minimum per stratum holds, no seller above the cap, π the design's."""
    frame = market()
    design = Design(method=method, n=30, allocation="risk", min_per_stratum=2,
                    max_per_seller=cap)
    for seed in range(25):
        r = run_design(frame, design, np.random.default_rng(seed))
        got = drawn_per_stratum(frame, r.selected)
        assert got == {h: n for h, n in r.allocation.items() if n}, (method, seed)
        assert min(got.values()) >= 2
        assert r.selected.size == 30 == len(set(r.selected.tolist()))
        if cap is not None:
            _, per_seller = np.unique(frame.sellers[r.selected], return_counts=True)  # type: ignore[index]
            assert per_seller.max() <= cap, (method, seed)
            assert r.seller_cap is not None and r.seller_cap["sellers_that_could_exceed"] > 0


def test_srs_is_accepted_and_equal_probability_within_strata() -> None:
    frame = market()
    r = run_design(frame, Design(method="srs", n=30, allocation="risk"),
                   np.random.default_rng(7))
    for h, n_h in r.allocation.items():
        inside = frame.strata == h
        assert np.allclose(r.pik[inside], n_h / inside.sum())
    # With a cap, SRS keeps equal π among the units the cap does not touch.
    c = run_design(frame, Design(method="srs", n=30, max_per_seller=2), np.random.default_rng(7))
    for h in c.allocation:
        free = (frame.strata == h) & ~c.seller_capped
        assert np.ptp(c.pik[free]) < 1e-12


def test_controlled_rounding_keeps_totals_and_expectations() -> None:
    rng = np.random.default_rng(11)
    table = rng.random((4, 6))
    table[:, -1] += np.ceil(table.sum(axis=1)) - table.sum(axis=1)  # integer row totals
    table = np.vstack([table, np.ceil(table.sum(axis=0)) - table.sum(axis=0)])
    table[-1, -1] += np.ceil(table[-1].sum()) - table[-1].sum()
    reps = 2000
    got = np.stack([controlled_rounding(table, rng) for _ in range(reps)])
    assert np.all(got.sum(axis=2) == np.rint(table.sum(axis=1)))
    assert np.all(got.sum(axis=1) == np.rint(table.sum(axis=0)))
    assert np.all((got == np.floor(table)) | (got == np.ceil(table)))
    frac = table - np.floor(table)
    se = np.sqrt(frac * (1 - frac) / reps)
    assert np.all(np.abs(got.mean(axis=0) - table) <= 4.5 * se + 1e-12)


def test_split_share_decomposes_pi() -> None:
    rng = np.random.default_rng(5)
    for _ in range(300):
        p = rng.uniform(0, 1, size=rng.integers(1, 8)) ** rng.uniform(0.2, 3)
        p[rng.random(p.size) < 0.1] = 1.0
        a, b, f = split_share(p)
        lo = np.floor(p.sum() + 1e-9)
        assert np.all((a >= 0) & (a <= 1) & (b >= 0) & (b <= 1))
        if f:
            assert a.sum() == pytest.approx(lo) and b.sum() == pytest.approx(lo + 1)
            np.testing.assert_allclose((1 - f) * a + f * b, p, atol=1e-12)
    a, b, f = split_share(np.full(5, 0.3))  # equal π stay equal (SRS)
    assert np.ptp(a) == 0 and np.ptp(b) == 0 and f == pytest.approx(0.5)


def test_capped_design_realises_its_pi() -> None:
    """Monte Carlo over 3,000 replicates (one rounding each, shared by the methods): every
    unit's inclusion frequency within 4.5 SE of its π, n_h exact, no seller above 2."""
    frame = market(N=120, sellers=30, seed=8)
    alloc = {h: 3 for h in np.unique(frame.strata).tolist()}
    pik = stratified_inclusion_probabilities(frame.sizes, frame.strata, alloc, 0.01)
    assert frame.sellers is not None
    pik, _ = cap_sellers(pik, frame.strata, frame.sellers, 2)
    lay = layout(pik, frame.strata, frame.sellers, 2)
    assert lay.capped_sellers >= 5
    reps = 3000
    rng = np.random.default_rng(2026)
    counts = rounding_replicates(lay, rng, reps)
    _, scode = np.unique(frame.sellers, return_inverse=True)
    seller_of = np.zeros((scode.max() + 1, pik.size))
    seller_of[scode, np.arange(pik.size)] = 1
    se = np.sqrt(pik * (1 - pik) / reps)
    for method in ("systematic", "pivotal", "sampford", "brewer", "pareto"):
        member = draw_seller_capped_many(pik, frame.strata, frame.sellers, 2, method, rng, reps,
                                         counts=counts)
        for h, n_h in alloc.items():
            assert np.all(member[:, frame.strata == h].sum(axis=1) == n_h)
        assert (member.astype(float) @ seller_of.T).max() <= 2
        err = np.abs(member.mean(axis=0) - pik)
        # Pareto too: its λ are adjusted in every cell (sampler.pareto), no wider band
        tol = 4.5 * np.maximum(se, 1e-9)
        assert np.all(err <= tol), (method, float(np.max(err / np.maximum(se, 1e-9))))


def test_risk_histogram_uses_the_scores_real_range() -> None:
    """Scores of 1.18–11.42 (the demo's) spread over several bins in value order, not all in
    a "0.9–1.0" bin; missing scores counted under "none"."""
    from sampler.plans import risk_bins

    scores: list[float | None] = [*np.linspace(1.18, 11.42, 30).tolist(), None]
    bins = risk_bins(scores)
    assert sum(bins.values()) == 31 and bins.pop("none") == 1
    assert 5 <= len(bins) <= 12 and max(bins.values()) < 30
    lows = [float(k.split("–")[0]) for k in bins]
    assert lows == sorted(lows) and lows[0] <= 1.18
    assert float(list(bins)[-1].split("–")[1]) > 11.42
    assert risk_bins([0.3, 0.3]) == {"0–1": 2}
