"""A stratified draw that keeps every stratum's n_h *and* a maximum of K buys per seller.

Why a scheme of its own: a fixed-size πps method (pivotal, Sampford, Brewer, Pareto, SRS,
systematic in a random order) can give a seller more buys than K even when the seller's
expected number Σπ is below K, and refusing such samples (rejection) changes the inclusion
probabilities to unknown values.  Walking the whole frame seller by seller with systematic
sampling kept each seller to ⌈Σπ⌉ but let the strata drift (4 of 9 strata off their
allocation in the demo).  Here the cap is folded into the design, for every method:

1. π is computed per stratum as usual and then capped so that each seller's Σπ ≤ K
   (:func:`sampler.design.cap_sellers`; the mass removed stays in the stratum).
2. **Seller shares.**  Sellers that own more than K units with π > 0 ("capped sellers", the
   only ones that could ever exceed K) form cells (seller s, stratum h) holding
   M_sh = Σ_{k∈s,h} π_k; every other unit of stratum h forms the cell "rest of h".  The
   table of M_sh (strata × cells) is rounded to integers n_sh by **unbiased controlled
   rounding** (Cox 1987, JASA 82:520–524): each n_sh is ⌊M_sh⌋ or ⌈M_sh⌉ with
   E[n_sh] = M_sh, every stratum total stays exactly n_h, and every seller's total is
   ⌊M_s⌋ or ⌈M_s⌉ ≤ K, also for sellers whose listings span several strata.
3. **Units within a cell.**  Given its count, a cell is drawn with the plan's own method from
   conditional inclusion probabilities: a (sum ⌊M⌋) when the cell got ⌊M⌋, b (sum ⌈M⌉) when
   it got ⌈M⌉, where (1 − f)·a + f·b = π and f = M − ⌊M⌋ is the probability of ⌈M⌉
   (:func:`split_share`).  Hence P(k ∈ S) = π_k exactly for every method (Pareto's λ are
   adjusted per cell, :mod:`sampler.pareto`): the Horvitz–Thompson weights 1/π stay right.

Without capped sellers every stratum is one "rest" cell with an integral total and the draw is
the method's ordinary stratified draw.  Joint inclusion probabilities of this two-stage design
are not those of the method alone (units of one capped seller are negatively associated, some
never drawn together, and the rounding couples strata): :func:`capped_joint` computes them
(within cells exactly as for the method, cell pairs from the plan's own roundings), checked
by Monte Carlo in ``tests/sampler/test_capped_joint.py``; the plan records the scheme in
``parameters.seller_cap``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sampler.errors import DesignInfeasible
from sampler.methods import draw, draw_many
from sampler.probabilities import CERTAIN_TOL, split_strata
from store.errors import InvalidInput

SCHEME = ("seller × stratum counts by unbiased controlled rounding (Cox 1987), then the "
          "method within each seller's share from conditional π")
#: Cell values within this distance of an integer are integers (float drift).
_EPS = 1e-9


@dataclass(frozen=True)
class Cell:
    """Units of one stratum that share a count: one capped seller's units, or the rest."""

    stratum: int  # row in the rounding table
    column: int  # column in the rounding table
    units: NDArray[np.intp]
    total: float  # Σπ of the units


@dataclass(frozen=True)
class CappedLayout:
    """Cells and the rounding table of a capped design (fixed for every replicate)."""

    cells: Sequence[Cell]
    table: NDArray[np.float64]  # (strata + 1 dummy row) × columns, integer margins
    capped_sellers: int


def seller_labels(sellers: ArrayLike) -> NDArray[np.str_]:
    """Seller of every unit as text; a unit without a seller is its own seller."""
    return np.array([f"~{i}" if s is None or s == "" or (isinstance(s, float) and math.isnan(s))
                     else str(s) for i, s in enumerate(np.asarray(sellers, dtype=object))])


def layout(pik: NDArray[np.float64], strata: ArrayLike, sellers: ArrayLike,
           limit: int) -> CappedLayout:
    """The cells of :mod:`sampler.seller_cap` step 2 and their table of Σπ."""
    labels = np.asarray(strata)
    seller = seller_labels(sellers)
    if labels.shape != pik.shape or seller.shape != pik.shape:
        raise InvalidInput("seller_cap.pik_strata_sellers_have_same")
    live = pik > 1e-12
    uniq, scode = np.unique(seller, return_inverse=True)
    owned = np.bincount(scode[live], minlength=uniq.size)
    capped = owned > limit
    seller_mass = np.bincount(scode, weights=pik, minlength=uniq.size)
    if np.any(seller_mass[capped] > limit + 1e-6):
        worst = float(seller_mass[capped].max())
        raise DesignInfeasible("seller_cap.seller_s_expected_buys_exceed", worst=worst,
                               limit=limit)
    column_of_seller = np.full(uniq.size, -1)
    column_of_seller[capped] = np.arange(int(capped.sum()))
    n_capped = int(capped.sum())
    groups = split_strata(labels)
    cells: list[Cell] = []
    table = np.zeros((len(groups) + 1, n_capped + len(groups)))
    for row, (_, idx) in enumerate(groups):
        col = column_of_seller[scode[idx]]
        rest = idx[col < 0]
        table[row, n_capped + row] = float(pik[rest].sum())
        cells.append(Cell(row, n_capped + row, rest, float(pik[rest].sum())))
        if n_capped:
            inside = idx[col >= 0]
            cols = col[col >= 0]
            order = np.argsort(cols, kind="stable")
            inside, cols = inside[order], cols[order]
            bounds = np.flatnonzero(np.diff(cols)) + 1
            for units in np.split(inside, bounds):
                if units.size:
                    c = int(column_of_seller[scode[units[0]]])
                    total = float(pik[units].sum())
                    table[row, c] = total
                    cells.append(Cell(row, c, units, total))
    sums = table[:-1].sum(axis=0)
    table[-1] = np.ceil(sums - _EPS) - sums  # dummy row: every column total is an integer
    table[-1][np.abs(table[-1]) < _EPS] = 0.0
    row_sums = table[:-1].sum(axis=1)
    if np.any(np.abs(row_sums - np.rint(row_sums)) > 1e-6):
        raise DesignInfeasible("seller_cap.integer_every_stratum")
    return CappedLayout(cells, table, n_capped)


def controlled_rounding(table: NDArray[np.float64], rng: np.random.Generator,
                        ) -> NDArray[np.int64]:
    """Unbiased controlled rounding of a table with integer row and column totals (Cox 1987).

    Repeatedly finds a cycle of fractional cells (it exists: a row or column with one
    fractional cell would have a fractional total), adds +t, −t, +t, … around it, with t the
    step up (probability t_down/(t_up + t_down)) or down (the rest) that makes at least one
    cell an integer.  Every step keeps all totals and every cell's expectation, and no cell
    leaves [⌊x⌋, ⌈x⌉].  Plain Python on the fractional cells only (indexing NumPy scalars
    one by one cost four times as much); the walk that finds cycles is resumed, not redone,
    after each cycle (1.4× faster, the same roundings for the same seed).
    """
    x = np.asarray(table, dtype=np.float64)
    base = np.floor(x + _EPS)
    frac_arr = x - base
    near_one = frac_arr > 1 - _EPS
    base[near_one] += 1.0
    frac_arr[near_one | (frac_arr < _EPS)] = 0.0
    R, C = x.shape
    frac: dict[tuple[int, int], float] = {}
    rows: list[dict[int, None]] = [{} for _ in range(R)]
    cols: list[dict[int, None]] = [{} for _ in range(C)]
    ii, jj = np.nonzero(frac_arr)
    for i, j, v in zip(ii.tolist(), jj.tolist(), frac_arr[ii, jj].tolist(), strict=True):
        frac[(i, j)] = v
        rows[i][j] = None
        cols[j][i] = None
    ups: list[tuple[int, int]] = []
    uniform = rng.random

    for i0 in range(R):
        # A walk from row i0 along fractional cells (alternating rows and columns, never back
        # along the cell it came by) until it meets a vertex again: the cycle.  Every total is
        # an integer, so a vertex with a fractional cell has at least two and the walk cannot
        # get stuck.  The walk is kept between cycles: its part before the cycle's first
        # vertex touches none of the cycle's cells, so a fresh walk from i0 would retrace it
        # exactly (same cycles, same random numbers as walking anew each time).
        verts: list[tuple[bool, int]] = [(True, i0)]
        edges: list[tuple[int, int]] = []
        seen: dict[tuple[bool, int], int] = {(True, i0): 0}
        while rows[i0]:
            while True:
                is_row, v = verts[-1]
                prev = edges[-1] if edges else None
                edge: tuple[int, int] | None = None
                for w in (rows[v] if is_row else cols[v]):
                    e = (v, w) if is_row else (w, v)
                    if e != prev:
                        edge, nxt = e, (not is_row, w)
                        break
                if edge is None:
                    raise DesignInfeasible("seller_cap.controlled_rounding_found_fractional_total")
                edges.append(edge)
                if nxt in seen:
                    first = seen[nxt]
                    break
                seen[nxt] = len(verts)
                verts.append(nxt)
            cycle = edges[first:]
            plus, minus = cycle[0::2], cycle[1::2]
            fp = [frac[e] for e in plus]
            fm = [frac[e] for e in minus]
            up = min(1.0 - max(fp), min(fm))
            down = min(min(fp), 1.0 - max(fm))
            step = up if uniform() * (up + down) < down else -down
            for e in plus:
                frac[e] += step
            for e in minus:
                frac[e] -= step
            for e in cycle:
                val = frac[e]
                if val < _EPS or val > 1 - _EPS:
                    if val > 0.5:
                        ups.append(e)
                    del frac[e]
                    del rows[e[0]][e[1]]
                    del cols[e[1]][e[0]]
            for vert in verts[first + 1:]:
                del seen[vert]
            del verts[first + 1:]
            del edges[first:]
    if frac:
        raise DesignInfeasible("seller_cap.controlled_rounding_left_fractional_cells")
    out = base.astype(np.int64)
    for e in ups:
        out[e] += 1
    return out


def split_share(p: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """(a, b, f): π vectors given ⌊M⌋ and given ⌈M⌉ units, with (1 − f)·a + f·b = p.

    M = Σp and f = M − ⌊M⌋.  Writing a = p − f·d and b = p + (1 − f)·d with Σd = 1, every
    0 ≤ a, b ≤ 1 holds when d_k ∈ [0, min(p_k/f, (1 − p_k)/(1 − f))]; d is taken
    proportional to p, clipped at those bounds (water-filling), so a and b stay as close to
    proportional to p as the bounds allow and equal π stay equal (SRS).  Σ bounds ≥ 1 always
    holds (systematic sampling within the cell is one decomposition), so d exists.
    """
    M = float(p.sum())
    lo = math.floor(M + _EPS)
    f = M - lo
    if f < _EPS or f > 1 - _EPS:
        q = p * (round(M) / M) if M > 0 else p
        return q, q, 0.0
    upper = np.minimum(p / f, (1.0 - p) / (1.0 - f))
    upper = np.clip(upper, 0.0, None)
    upper[p <= 0] = 0.0
    if upper.sum() < 1.0 - 1e-9:
        raise DesignInfeasible("seller_cap.cannot_split_seller_s_share")
    if upper.sum() <= 1.0 + 1e-12:
        d = upper / upper.sum()  # the bounds leave exactly one choice
    else:
        # Σ min(s·p, upper) = 1: bisection on s between 0 and the last breakpoint.
        live = p > 0
        s_lo, s_hi = 0.0, float((upper[live] / p[live]).max())
        for _ in range(200):
            mid = 0.5 * (s_lo + s_hi)
            if mid <= s_lo or mid >= s_hi:
                break
            if np.minimum(mid * p, upper).sum() < 1.0:
                s_lo = mid
            else:
                s_hi = mid
        d = np.minimum(s_hi * p, upper)
        sat = d >= upper - 1e-15
        free_mass = float(p[~sat].sum())
        if free_mass > 0:
            d[~sat] = p[~sat] * (1.0 - float(upper[sat].sum())) / free_mass
    a = np.clip(p - f * d, 0.0, 1.0)
    b = np.clip(p + (1.0 - f) * d, 0.0, 1.0)
    a[p >= 1.0 - CERTAIN_TOL] = 1.0
    b[p >= 1.0 - CERTAIN_TOL] = 1.0
    return _fix_sum(a, lo), _fix_sum(b, lo + 1), f


def _fix_sum(q: NDArray[np.float64], target: int) -> NDArray[np.float64]:
    """Remove float drift so that Σq is exactly the integer the methods require."""
    frac = (q > 1e-12) & (q < 1.0 - CERTAIN_TOL)
    s = float(q[frac].sum())
    need = target - float(q[~frac].sum())
    if s > 0 and need > 0:
        q = q.copy()
        q[frac] *= need / s
    return q


def draw_seller_capped(pik: ArrayLike, strata: ArrayLike, sellers: ArrayLike, limit: int,
                       method: str, rng: np.random.Generator,
                       prn: ArrayLike | None = None) -> NDArray[np.intp]:
    """One sample: n_h in every stratum, at most *limit* units per seller, P(k ∈ S) = π_k."""
    p = np.asarray(pik, dtype=np.float64)
    lay = layout(p, strata, sellers, limit)
    counts = controlled_rounding(lay.table, rng)
    u = None if prn is None else np.asarray(prn, dtype=np.float64)
    parts: list[NDArray[np.intp]] = []
    for cell in lay.cells:
        c = int(counts[cell.stratum, cell.column])
        if c == 0 or cell.units.size == 0:
            continue
        q = _conditional(p[cell.units], c)
        sub = draw(q, method, rng, None if u is None else u[cell.units])
        parts.append(cell.units[sub])
    return np.sort(np.concatenate(parts)) if parts else np.empty(0, dtype=np.intp)


def _conditional(p: NDArray[np.float64], count: int) -> NDArray[np.float64]:
    a, b, f = split_share(p)
    if f == 0.0:
        return a
    lo = math.floor(float(p.sum()) + _EPS)
    if count not in (lo, lo + 1):
        raise DesignInfeasible("seller_cap.controlled_rounding_gave_share", count=count,
                               p_sum=p.sum())
    return a if count == lo else b


def conditional_vectors(pik: ArrayLike, strata: ArrayLike, sellers: ArrayLike | None,
                        limit: int | None) -> list[NDArray[np.float64]]:
    """Every π vector a draw of this design hands to the method: each stratum's π without a
    cap; with one, each cell's conditional a and b (:func:`split_share`).  Used to report
    what Pareto's λ adjustment achieved on exactly the vectors that were drawn from."""
    p = np.asarray(pik, dtype=np.float64)
    if sellers is None or limit is None:
        return [p[idx] for _, idx in split_strata(np.asarray(strata))]
    out: list[NDArray[np.float64]] = []
    for cell in layout(p, strata, sellers, limit).cells:
        if cell.units.size:
            a, b, f = split_share(p[cell.units])
            out.extend([a] if f == 0.0 else [a, b])
    return out


def rounding_replicates(lay: CappedLayout, rng: np.random.Generator, reps: int,
                        ) -> NDArray[np.int64]:
    """*reps* independent roundings of the layout's table (reps × rows × columns)."""
    return np.stack([controlled_rounding(lay.table, rng) for _ in range(reps)])


def draw_seller_capped_many(pik: ArrayLike, strata: ArrayLike, sellers: ArrayLike, limit: int,
                            method: str, rng: np.random.Generator, reps: int,
                            counts: NDArray[np.int64] | None = None) -> NDArray[np.bool_]:
    """*reps* independent samples as a reps × N membership matrix (Monte Carlo checks).

    The rounding runs once per replicate (or *counts* from :func:`rounding_replicates` are
    reused, e.g. for several methods); the draws inside the cells are vectorised over the
    replicates that gave a cell the same count (two :func:`draw_many` calls per cell).
    """
    p = np.asarray(pik, dtype=np.float64)
    lay = layout(p, strata, sellers, limit)
    if counts is None:
        counts = rounding_replicates(lay, rng, reps)
    if counts.shape[0] != reps:
        raise InvalidInput("seller_cap.counts_hold_one_rounding_per")
    member = np.zeros((reps, p.size), dtype=bool)
    for cell in lay.cells:
        got = counts[:, cell.stratum, cell.column]
        if cell.units.size == 0:
            continue
        a, b, _ = split_share(p[cell.units])
        lo = math.floor(cell.total + _EPS)
        for q, value in ((a, lo), (b, lo + 1)):
            rows = np.flatnonzero(got == value)
            if rows.size == 0 or value == 0:
                continue
            sel = draw_many(q, method, rng, int(rows.size))
            member[rows[:, None], cell.units[sel]] = True
    return member


@dataclass(frozen=True)
class CappedJoint:
    """Joint inclusion probabilities of sampled units under the seller-capped design."""

    matrix: NDArray[np.float64]  # n × n over the given sample, diagonal π_k
    within: str  # how π_kl inside a cell was obtained
    rounding_reps: int
    rounding_se: float  # largest Monte-Carlo standard error of a cell-pair probability

    @property
    def label(self) -> str:
        return (f"capped design: within cells {self.within}; cell pairs from "
                f"{self.rounding_reps} controlled roundings (max MC SE {self.rounding_se:.4f})")


def _within_joint(method: str, q: NDArray[np.float64], count: int,
                  pos: NDArray[np.intp]) -> tuple[NDArray[np.float64], str]:
    """π_kl of *method* drawing *count* units from a cell with conditional π *q* (sampled
    positions *pos*): Sampford exact (Asok–Sukhatme), otherwise Brewer's approximation
    (exact for SRS: with equal π it is m(m−1)/(N(N−1)))."""
    from sampler.joint import brewer_joint, sampford_joint

    k = pos.size
    if count == 0:
        return np.zeros((k, k)), "none"
    certain = int(np.sum(q >= 1.0 - CERTAIN_TOL))
    m = count - certain
    if method == "sampford" and m >= 2:
        try:
            return sampford_joint(q, pos), "sampford exact"
        except InvalidInput:
            pass
    return brewer_joint(q[pos], n=max(m, 0)), ("srs exact" if method == "srs"
                                               else "Brewer approximation")


def capped_joint(pik: ArrayLike, strata: ArrayLike, sellers: ArrayLike, limit: int,
                 method: str, sample: ArrayLike, rng: np.random.Generator, *,
                 reps: int = 2000, counts: NDArray[np.int64] | None = None) -> CappedJoint:
    """π_kl of the sampled units (*sample*: frame indices) under the seller-capped design.

    The design is two-stage: a controlled rounding R of the cell table, then independent draws
    inside cells from a (cell got ⌊M⌋) or b (got ⌈M⌉).  With I_c = 1 when cell c got ⌈M_c⌉
    (P(I_c = 1) = f_c exactly):

    * k, l in one cell c:  π_kl = (1 − f_c)·π^a_kl + f_c·π^b_kl, π^a, π^b the method's joint
      probabilities for the cell's conditional π (Sampford exact, SRS exact, the others by
      Brewer's approximation — as for the method without a cap);
    * k in cell c, l in cell d:  π_kl = Σ_{x,y∈{0,1}} P(I_c = x, I_d = y) q^x_k q^y_l with
      q⁰ = a, q¹ = b.  The rounding's pair probabilities P(I_c = 1, I_d = 1) have no closed
      form (Cox's cycles depend on the table), so they are estimated from *reps* independent
      roundings of the plan's own table (or the given *counts*); the other three cells of each
      2 × 2 table come from the exact margins f_c, f_d, so every π_k stays exact.

    Units of one capped seller in different strata, and strata themselves, are coupled by the
    rounding: the matrix is meaningful across strata (``estimate(..., joint_scope="design")``).
    """
    p = np.asarray(pik, dtype=np.float64)
    s = np.asarray(sample, dtype=np.intp)
    lay = layout(p, strata, sellers, limit)
    if counts is None:
        counts = rounding_replicates(lay, rng, reps)
    reps = int(counts.shape[0])
    cell_of = np.full(p.size, -1)
    pos_of = np.zeros(p.size, dtype=np.intp)
    for ci, cell in enumerate(lay.cells):
        cell_of[cell.units] = ci
        pos_of[cell.units] = np.arange(cell.units.size)
    if np.any(cell_of[s] < 0):
        raise InvalidInput("seller_cap.sampled_unit_cell_capped_design")
    used = np.unique(cell_of[s])
    a_of = np.zeros(s.size)
    b_of = np.zeros(s.size)
    f_of = np.zeros(used.size)
    ind = np.zeros((reps, used.size))
    out = np.zeros((s.size, s.size))
    methods: set[str] = set()
    for j, ci in enumerate(used.tolist()):
        cell = lay.cells[ci]
        a, b, f = split_share(p[cell.units])
        lo = math.floor(cell.total + _EPS)
        rows = np.flatnonzero(cell_of[s] == ci)
        pos = pos_of[s[rows]]
        a_of[rows], b_of[rows], f_of[j] = a[pos], b[pos], f
        ja, how_a = _within_joint(method, a, lo, pos)
        jb, how_b = _within_joint(method, b, lo + 1, pos) if f > 0 else (ja, how_a)
        methods.update({how_a, how_b} - {"none"})
        out[np.ix_(rows, rows)] = (1.0 - f) * ja + f * jb
        if f > 0:
            ind[:, j] = counts[:, cell.stratum, cell.column] == lo + 1
    p11 = ind.T @ ind / reps
    fc, fd = f_of[:, None], f_of[None, :]
    p11 = np.clip(p11, np.maximum(0.0, fc + fd - 1.0), np.minimum(fc, fd))
    live = (f_of > 0) & (f_of < 1)
    pair = np.outer(live, live) & ~np.eye(used.size, dtype=bool)
    se = float(np.sqrt(p11 * (1 - p11) / reps)[pair].max()) if pair.any() else 0.0
    cj = np.searchsorted(used, cell_of[s])
    P11 = p11[np.ix_(cj, cj)]
    FC, FD = f_of[cj][:, None], f_of[cj][None, :]
    P10, P01 = FC - P11, FD - P11
    P00 = 1.0 - FC - FD + P11
    A, B = a_of, b_of
    across = (P00 * np.outer(A, A) + P10 * np.outer(B, A) + P01 * np.outer(A, B)
              + P11 * np.outer(B, B))
    other = cj[:, None] != cj[None, :]
    out[other] = across[other]
    np.fill_diagonal(out, p[s])
    return CappedJoint(out, " + ".join(sorted(methods)) or "none", reps, se)
