"""The risk factors: one function per factor, in one ordered registry (issue 23's house rule).

Each function takes the ``FactorInput`` (the listings frame and lazily loaded shared data:
sellers, lab and case history, spot-check failures) and returns its ``Factor``: a value for
every listing (0 where it does not apply) and a reason code.  ``compute_factors`` runs the
registry in order; the order is the column order of the factor matrix (scoring, calibration),
so a new factor is added by writing one function with ``@factor("name")`` — and a weight for it
in ``weights.toml``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from sampler.risk.features import (
    Factor,
    FactorTable,
    _capped,
    _count_by,
    _cursor_frame,
    _evidence,
    _history,
    _indicator,
    _seller_frame,
    load_listings,
    price_factor,
    price_in_cny,
)
from sampler.risk.normalise import brand_key
from sampler.risk.weights import RiskWeights
from store.settings import Settings, get_settings

FactorFn = Callable[["FactorInput"], Factor]
#: (factor name, function), in matrix order.
REGISTRY: list[tuple[str, FactorFn]] = []


def factor(name: str) -> Callable[[FactorFn], FactorFn]:
    """Register a factor function under *name* (names are unique; order is registration)."""

    def register(fn: FactorFn) -> FactorFn:
        if any(n == name for n, _ in REGISTRY):
            raise ValueError(f"factor {name!r} registered twice")
        REGISTRY.append((name, fn))
        return fn

    return register


@dataclass
class FactorInput:
    """What the factor functions read: the listings and shared data, each loaded once."""

    conn: Connection
    rw: RiskWeights
    settings: Settings
    now: dt.datetime
    frame: pd.DataFrame
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.frame)

    @cached_property
    def ids(self) -> np.ndarray:
        return self.frame["id"].to_numpy(dtype="int64")

    @cached_property
    def supervision(self) -> np.ndarray:
        return self.frame["supervision_class"].fillna("general").to_numpy(dtype=object)

    @cached_property
    def sector(self) -> np.ndarray:
        return self.frame["sector"].fillna("other").to_numpy(dtype=object)

    @cached_property
    def sellers(self) -> pd.DataFrame:
        return _seller_frame(self.conn)

    @cached_property
    def seller_pos(self) -> np.ndarray:
        """Each listing's row in ``sellers`` (-1: no seller)."""
        index = pd.Index(self.sellers["seller_id"].to_numpy())
        return index.get_indexer(self.frame["seller_id"].fillna(-1).astype("int64").to_numpy())

    @property
    def has_seller(self) -> np.ndarray:
        return self.seller_pos >= 0

    def per_seller(self, col: pd.Series | np.ndarray, fill: Any) -> np.ndarray:
        """A per-seller column spread to the listings (``fill`` where there is no seller)."""
        arr = np.asarray(col, dtype=object)
        if len(arr) == 0:
            return np.full(self.n, fill, dtype=object)
        safe = np.where(self.has_seller, self.seller_pos, 0)
        return np.where(self.has_seller, arr[safe], fill)

    @cached_property
    def history(self) -> dict[str, pd.DataFrame]:
        return _history(self.conn)

    @cached_property
    def failed(self) -> pd.DataFrame:
        """Failed samples: our lab results and the spot-check tables imported (value 1)."""
        labs = self.history["labs"]
        fails = labs.loc[labs["outcome"] == "fail", ["seller_id", "brand"]] if len(labs) \
            else pd.DataFrame(columns=["seller_id", "brand"])
        spot = _cursor_frame(self.conn, (
            "SELECT COALESCE(r.seller_id, l.seller_id), COALESCE(r.brand, l.brand) "
            "FROM risk_signal r LEFT JOIN listing l ON l.id = r.listing_id "
            "WHERE r.kind = 'spot_check' AND r.value >= 1"), ["seller_id", "brand"])
        self.facts["spot_check_failures"] = len(spot)
        frames = [f for f in (fails, spot) if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else fails

    @cached_property
    def cluster_of(self) -> dict[Any, Any]:
        return dict(zip(self.sellers["seller_id"], self.sellers["cluster_id"], strict=True))

    @cached_property
    def listing_cluster(self) -> np.ndarray:
        return self.per_seller(self.sellers["cluster_id"].to_numpy(dtype=object), None)

    def cluster_counts(self, seller_ids: pd.Series) -> np.ndarray:
        """Per listing: how many of *seller_ids* belong to its seller's network."""
        clusters = seller_ids.dropna().astype("int64").map(self.cluster_of).dropna()
        counts = _count_by(clusters)
        if not counts:
            return np.zeros(self.n, dtype="int64")
        return pd.Series(self.listing_cluster).map(counts).fillna(0).to_numpy(dtype="int64")


# --- foreign notices ------------------------------------------------------------------------


@factor("notice_match")
def notice_match(x: FactorInput) -> Factor:
    """Matched to a foreign notice or self-report: a proposed match adds weight × confidence,
    and only from match_min_score up; a confirmed one the full weight; a rejected one nothing.
    The reason says which, and on what keys."""
    matches = _cursor_frame(x.conn, (
        "SELECT m.listing_id, m.score, m.status, n.source, n.reference, m.detail "
        "FROM notice_match m JOIN foreign_notice n ON n.id = m.notice_id "
        "WHERE m.status <> 'rejected'"),
        ["listing_id", "score", "status", "source", "reference", "detail"])
    values = np.zeros(x.n)
    codes = np.full(x.n, -1, dtype="int64")
    table: list[dict[str, Any]] = []
    if not matches.empty:
        matches["value"] = np.where(matches["status"] == "confirmed", 1.0,
                                    matches["score"].astype(float))
        matches = matches[matches["value"] >= x.rw.p("match_min_score")]
        best = matches.sort_values(["value", "reference"], ascending=[False, True]) \
            .drop_duplicates("listing_id")
        best["value"] = best["value"].round(2)
        evidence = [_evidence(d) for d in best["detail"].tolist()]
        keys = [(s, r, v, st, m, k) for (s, r, v, st), (m, k) in zip(
            zip(best["source"], best["reference"], best["value"], best["status"], strict=True),
            evidence, strict=True)]
        uniq = {k: i for i, k in enumerate(dict.fromkeys(keys))}
        table = [{"source": s, "reference": str(r)[:100], "score": float(v), "status": st,
                  "method": m, "keys": list(k)}
                 for (s, r, v, st, m, k) in uniq]
        pos = pd.Index(x.ids).get_indexer(best["listing_id"].to_numpy())
        keep = pos >= 0
        values[pos[keep]] = best["value"].to_numpy(dtype=float)[keep]
        codes[pos[keep]] = np.array([uniq[k] for k in keys], dtype="int64")[keep]

    def decode_match(c: int, t: list[dict[str, Any]] = table) -> dict[str, Any]:
        return dict(t[c]) if 0 <= c < len(t) else {}

    x.facts["matched_listings"] = int((values > 0).sum())
    return Factor("notice_match", values, codes, decode_match)


# --- price ----------------------------------------------------------------------------------


@factor("price_low")
def price_low(x: FactorInput) -> Factor:
    """Robust z of log CNY price within brand × category (``features.price_factor``)."""
    return price_factor(x.frame, price_in_cny(x.frame, x.settings), x.rw)


# --- sellers --------------------------------------------------------------------------------


@factor("new_seller")
def new_seller(x: FactorInput) -> Factor:
    """Seller first seen within new_seller_days, on a platform watched for longer than that."""
    sellers = x.sellers
    first_seen = sellers["first_seen"]
    platform_start = sellers.groupby("s_platform")["first_seen"].transform("min")
    horizon = pd.Timestamp(x.now) - pd.Timedelta(days=x.rw.p("new_seller_days"))
    is_new = ((first_seen >= horizon) & (platform_start < horizon)).to_numpy(dtype=bool)
    age_days = ((pd.Timestamp(x.now) - first_seen).dt.days.fillna(-1)).to_numpy(dtype="int64")
    mask = x.has_seller & x.per_seller(is_new, False).astype(bool)
    age = x.per_seller(age_days, -1).astype("int64")
    return Factor("new_seller", mask.astype(float), np.where(mask, age, -1),
                  lambda c: {"days": int(c)})


def _filing(x: FactorInput) -> pd.Series:
    return x.sellers["filing_number"].fillna("").astype(str).str.strip()


@factor("unfiled_seller")
def unfiled_seller(x: FactorInput) -> Factor:
    """Seller publishes no filing number (备案号)."""
    return _indicator("unfiled_seller", x.has_seller & x.per_seller(
        (_filing(x) == "").to_numpy(), False).astype(bool))


@factor("filing_unknown")
def filing_unknown(x: FactorInput) -> Factor:
    """Seller's filing number is not a valid one of the filing register (when one is loaded)."""
    known = _cursor_frame(x.conn, "SELECT filing_number, status FROM enterprise_filing",
                          ["filing_number", "status"])
    mask = np.zeros(x.n, dtype=bool)
    if not known.empty:
        filing = _filing(x)
        valid = set(known.loc[known["status"].fillna("valid") == "valid", "filing_number"])
        unknown = ((filing != "") & ~filing.isin(valid)).to_numpy()
        mask = x.has_seller & x.per_seller(unknown, False).astype(bool)
    return _indicator("filing_unknown", mask)


@factor("no_licence")
def no_licence(x: FactorInput) -> Factor:
    """Seller shows no business licence number."""
    licence = x.sellers["licence_number"].fillna("").astype(str).str.strip()
    return _indicator("no_licence", x.has_seller & x.per_seller(
        (licence == "").to_numpy(), False).astype(bool))


# --- classes and sectors --------------------------------------------------------------------


@factor("key_class")
def key_class(x: FactorInput) -> Factor:
    """Key supervision class (CCC, legal-inspection catalogue)."""
    return _indicator("key_class", x.supervision == "key")


@factor("key_without_ccc")
def key_without_ccc(x: FactorInput) -> Factor:
    """Key-class listing without a CCC mark in a category where most listings show one."""
    ccc = x.frame["ccc"].to_numpy(dtype="int64") == 1
    cat = x.frame["category"].fillna("")
    share = pd.Series(ccc.astype(float)).groupby(cat.to_numpy()).transform("mean").to_numpy()
    return _indicator("key_without_ccc", (x.supervision == "key") & ~ccc & (share >= 0.5))


@factor("sector_rate")
def sector_rate(x: FactorInput) -> Factor:
    """Sector base rate: prior rates blended with our lab outcomes (empirical Bayes)."""
    labs = x.history["labs"]
    rates = dict(x.rw.sector_rates)
    strength = x.rw.p("sector_prior_strength")
    x.facts["lab_results"] = len(labs)
    if not labs.empty:
        fails = labs.assign(fail=(labs["outcome"] == "fail").astype(int)) \
            .groupby("sector")["fail"].agg(["sum", "count"])
        for sec, row in fails.iterrows():
            prior = rates.get(str(sec), rates.get("other", 0.05))
            rates[str(sec)] = (row["sum"] + strength * prior) / (row["count"] + strength)
    names = sorted(set(rates) | set(pd.unique(x.sector).tolist()))
    index = {s: i for i, s in enumerate(names)}
    rate_arr = np.array([rates.get(s, rates.get("other", 0.0)) for s in names])
    codes = pd.Series(x.sector).map(index).to_numpy(dtype="int64")
    values = rate_arr[codes] if x.n else np.zeros(0)

    def decode(c: int, names: list[str] = names, r: np.ndarray = rate_arr) -> dict[str, Any]:
        return {"sector": names[c], "rate": round(float(r[c]), 4)}

    x.facts["sector_rates"] = {s: round(float(rates.get(s, 0)), 4) for s in names}
    return Factor("sector_rate", values.astype(float), np.where(values > 0, codes, -1), decode)


# --- churn ----------------------------------------------------------------------------------


@factor("churn")
def churn(x: FactorInput) -> Factor:
    """At least churn_min_edits price/title edits within churn_days (from snapshots)."""
    since = x.now - dt.timedelta(days=x.rw.p("churn_days"))
    rows = _cursor_frame(x.conn, (
        "SELECT listing_id, COUNT(*) FROM listing_snapshot WHERE version > 1 "
        "AND seen_at >= :since AND (CAST(changes AS TEXT) LIKE :p "
        "OR CAST(changes AS TEXT) LIKE :t) GROUP BY listing_id"), ["listing_id", "edits"],
        {"since": since, "p": '%"price"%', "t": '%"title"%'})
    edits = np.zeros(x.n, dtype="int64")
    if not rows.empty:
        pos = pd.Index(x.ids).get_indexer(rows["listing_id"].to_numpy())
        edits[pos[pos >= 0]] = rows["edits"].to_numpy(dtype="int64")[pos >= 0]
    mask = edits >= x.rw.p("churn_min_edits")
    days = int(x.rw.p("churn_days"))

    def decode(c: int, d: int = days) -> dict[str, Any]:
        return {"edits": int(c), "days": d}

    return Factor("churn", mask.astype(float), np.where(mask, edits, -1), decode)


# --- seller and brand history, networks, complaints -----------------------------------------


@factor("seller_failed")
def seller_failed(x: FactorInput) -> Factor:
    """Failed samples (lab results, spot checks) of the seller's network."""
    failed = x.failed
    counts = x.cluster_counts(failed["seller_id"]) if len(failed) else np.zeros(x.n, "int64")
    v, c = _capped(counts, x.rw.p("history_cap"))
    return Factor("seller_failed", v, c, lambda k: {"n": int(k)})


@factor("seller_cases")
def seller_cases(x: FactorInput) -> Factor:
    """Enforcement cases of the seller's network."""
    cases = x.history["cases"]
    counts = x.cluster_counts(cases["seller_id"]) if len(cases) else np.zeros(x.n, "int64")
    v, c = _capped(counts, x.rw.p("history_cap"))
    return Factor("seller_cases", v, c, lambda k: {"n": int(k)})


@factor("brand_failed")
def brand_failed(x: FactorInput) -> Factor:
    """Failed samples (lab results, spot checks) of the listing's brand."""
    failed = x.failed
    counts = np.zeros(x.n, dtype="int64")
    if len(failed):
        by_brand = _count_by(failed["brand"].fillna("").map(brand_key))
        by_brand.pop("", None)
        if by_brand:
            codes, uniques = pd.factorize(x.frame["brand"].fillna(""))
            per_unique = np.array([by_brand.get(brand_key(b), 0) for b in uniques],
                                  dtype="int64")
            counts = per_unique[codes] if len(per_unique) else counts
    v, c = _capped(counts, x.rw.p("history_cap"))
    return Factor("brand_failed", v, c, lambda k: {"n": int(k)})


@factor("network")
def network(x: FactorInput) -> Factor:
    """The seller is one of at least network_min_size linked storefronts."""
    sizes = x.sellers.groupby("cluster_id").agg(size=("seller_id", "count"),
                                                platforms=("s_platform", "nunique"))
    size = np.zeros(x.n, dtype="int64")
    platforms = np.zeros(x.n, dtype="int64")
    if x.has_seller.any():
        cl = pd.Index(sizes.index).get_indexer(
            pd.Series(x.listing_cluster).fillna("").to_numpy())
        ok = cl >= 0
        size[ok] = sizes["size"].to_numpy()[cl[ok]]
        platforms[ok] = sizes["platforms"].to_numpy()[cl[ok]]
    mask = size >= max(2.0, x.rw.p("network_min_size"))
    return Factor("network", mask.astype(float),
                  np.where(mask, size * 1000 + np.minimum(platforms, 999), -1),
                  lambda k: {"size": int(k // 1000), "platforms": int(k % 1000)})


@factor("product_failed")
def product_failed(x: FactorInput) -> Factor:
    """A failure carried to every copy: another listing of the same product cluster failed a
    lab test, or a confirmed notice names the product (sampler.products.carried_failures);
    value = the strength of the links that join them, reason = which failure, how strongly."""
    from sqlalchemy.orm import Session

    from sampler.products import carried_failures

    values = np.zeros(x.n)
    codes = np.full(x.n, -1, dtype="int64")
    table: list[dict[str, Any]] = []
    with Session(bind=x.conn) as session:
        carried = carried_failures(session)
    if carried:
        pos = pd.Index(x.ids).get_indexer(np.array(list(carried), dtype="int64"))
        for c, p in zip(carried.values(), pos, strict=True):
            if p < 0:
                continue
            values[p] = round(c.strength, 3)
            codes[p] = len(table)
            table.append({"via": c.source, "ref": c.ref, "cluster": c.cluster,
                          "strength": round(c.strength, 3)})
    x.facts["product_failed_listings"] = int((values > 0).sum())

    def decode(c: int, t: list[dict[str, Any]] = table) -> dict[str, Any]:
        return dict(t[c]) if 0 <= c < len(t) else {}

    return Factor("product_failed", values, codes, decode)


@factor("complaints")
def complaints(x: FactorInput) -> Factor:
    """Consumer complaints about the listing, or its seller's network when no listing named."""
    comp = x.history["complaints"]
    counts = np.zeros(x.n, dtype="int64")
    if len(comp):
        by_listing = _count_by(comp["listing_id"].dropna().astype("int64"))
        if by_listing:
            pos = pd.Index(x.ids).get_indexer(np.array(list(by_listing), dtype="int64"))
            counts[pos[pos >= 0]] += np.array(list(by_listing.values()))[pos >= 0]
        orphan = comp[comp["listing_id"].isna()]
        if len(orphan):
            counts += x.cluster_counts(orphan["seller_id"])
    v, c = _capped(counts, x.rw.p("complaints_cap"))
    return Factor("complaints", v, c, lambda k: {"n": int(k)})


# --- words, prohibited ----------------------------------------------------------------------


@factor("counterfeit_words")
def counterfeit_words(x: FactorInput) -> Factor:
    """The title uses counterfeit slang (原单, 高仿, …)."""
    words = [w for w in x.rw.counterfeit_words if w]
    slang = np.zeros(x.n, dtype=bool)
    if words and x.n:
        pattern = "|".join(re.escape(w.lower()) for w in words)
        slang = x.frame["title"].fillna("").str.slice(0, 2000).str.lower() \
            .str.contains(pattern, regex=True).to_numpy(dtype=bool)
    return _indicator("counterfeit_words", slang)


@factor("prohibited")
def prohibited(x: FactorInput) -> Factor:
    """Prohibited class: an enforcement lead (scored NULL, never drawn)."""
    mask = x.supervision == "prohibited"
    x.facts["prohibited"] = int(mask.sum())
    return _indicator("prohibited", mask)


def compute_factors(conn: Connection, rw: RiskWeights, settings: Settings | None = None,
                    now: dt.datetime | None = None, include_removed: bool = False
                    ) -> FactorTable:
    """Every registered factor for every listing that is not removed (calibration: every
    listing), in registry order."""
    frame = load_listings(conn, include_removed)
    x = FactorInput(conn=conn, rw=rw, settings=settings or get_settings(),
                    now=now or dt.datetime.now(dt.UTC), frame=frame,
                    facts={"listings": len(frame)})
    factors: list[Factor] = []
    for name, fn in REGISTRY:
        out = fn(x)
        if out.name != name or len(out.values) != x.n:
            raise AssertionError(f"factor {name} returned {out.name} of {len(out.values)} rows")
        factors.append(out)
    return FactorTable(ids=x.ids, prohibited=x.supervision == "prohibited", sector=x.sector,
                       factors=factors, facts=x.facts)


__all__ = ["REGISTRY", "FactorInput", "compute_factors", "factor"]
