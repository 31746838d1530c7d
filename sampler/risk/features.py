"""Derived risk signals for every listing at once, as columns (NumPy/pandas, no row loops).

Each factor yields, for every listing, a *value* (0 when the factor does not apply; 1, a match
score, a capped count or a rate when it does) and an integer *code* that, with the factor's
``decode``, gives the parameters its reason sentence needs ("78% below", "3 edits").  The score
is ``base + Σ weight × value``; because value and parameters are tied to the code, identical
reasons are rendered once, however many listings share them.

Everything is read in bulk with one query per table and joined in pandas, so a million listings
cost a few seconds, not a million queries.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from sampler.risk.normalise import brand_key
from sampler.risk.weights import RiskWeights
from store.settings import Settings, get_settings

MAD_TO_SD = 1.4826
#: Smallest robust spread of log prices (5%): identical prices must not make z infinite.
MIN_LOG_SPREAD = 0.05


@dataclass
class Factor:
    """One factor's values and reason codes for every listing of the frame."""

    name: str
    values: np.ndarray
    codes: np.ndarray
    decode: Callable[[int], dict[str, Any]] = field(default=lambda code: {})


@dataclass
class FactorFrame:
    """The listings scored (ids, classes) and every factor's column."""

    ids: np.ndarray
    prohibited: np.ndarray
    sector: np.ndarray
    factors: list[Factor]
    facts: dict[str, Any] = field(default_factory=dict)

    def matrix(self) -> np.ndarray:
        """Values as an (n listings × n factors) matrix, factor order as in ``factors``."""
        if not self.factors:
            return np.zeros((len(self.ids), 0))
        return np.column_stack([f.values for f in self.factors])

    def names(self) -> list[str]:
        return [f.name for f in self.factors]


def _evidence(detail: Any) -> tuple[str, tuple[str, ...]]:
    """(method, keys) of a stored match detail (JSON text from SQLite, a dict from psycopg)."""
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            detail = {}
    ev = (detail or {}).get("evidence") or {} if isinstance(detail, dict) else {}
    keys = tuple(str(k)[:60] for k in (ev.get("keys") or [])[:4])
    return str(ev.get("method") or ""), keys


def _cursor_frame(conn: Connection, sql: str, columns: list[str],
                  params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run *sql* and load all rows into a DataFrame, column by column.

    Plain tuples from the driver's cursor (no Row objects), converted by pandas in C: building a
    frame from a million Row objects costs seconds of per-row attribute probing.
    """
    if params:
        rows = [tuple(r) for r in conn.execute(text(sql), params).fetchall()]
    else:
        raw = conn.connection.driver_connection
        assert raw is not None
        cur = raw.cursor()
        try:
            cur.execute(sql)
            rows = cur.fetchall()
        finally:
            cur.close()
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    frame = pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)
    del rows
    return frame.infer_objects()


def _dialect_float(conn: Connection) -> str:
    return "DOUBLE PRECISION" if conn.dialect.name == "postgresql" else "REAL"


def _as_utc(series: pd.Series) -> pd.Series:
    out = pd.to_datetime(series, utc=True, errors="coerce", format="mixed")
    return out


def load_listings(conn: Connection, include_removed: bool = False) -> pd.DataFrame:
    """The columns scoring needs, for every listing that is not removed (or every listing)."""
    f = _dialect_float(conn)
    text_cast = "TEXT"
    sql = (
        "SELECT id, seller_id, brand, category, sector, supervision_class, "
        f"CAST(price_cny AS {f}), CAST(price AS {f}), currency, title, "
        f"CASE WHEN CAST(cert_marks AS {text_cast}) LIKE '%\"CCC\"%' THEN 1 ELSE 0 END "
        "FROM listing " + ("" if include_removed else "WHERE status <> 'removed' ")
        + "ORDER BY id")
    return _cursor_frame(conn, sql, ["id", "seller_id", "brand", "category", "sector",
                                     "supervision_class", "price_cny", "price", "currency",
                                     "title", "ccc"])


def price_in_cny(frame: pd.DataFrame, settings: Settings) -> np.ndarray:
    """price_cny where the crawler stored it, else price × the settings' rate for its currency."""
    stored = frame["price_cny"].to_numpy(dtype="float64", na_value=np.nan)
    rates = {k.upper(): float(v) for k, v in settings.rates.items()}
    rate = frame["currency"].fillna("").str.upper().map(rates).to_numpy(dtype="float64",
                                                                         na_value=np.nan)
    converted = frame["price"].to_numpy(dtype="float64", na_value=np.nan) * rate
    return np.where(np.isnan(stored), converted, stored)


def _indicator(name: str, mask: np.ndarray, params: dict[str, Any] | None = None) -> Factor:
    fixed = dict(params or {})
    return Factor(name, mask.astype("float64"), np.where(mask, 0, -1).astype("int64"),
                  lambda code: dict(fixed))


def price_factor(frame: pd.DataFrame, price: np.ndarray, rw: RiskWeights) -> Factor:
    """Robust z of log price within brand × category: median and MAD, in CNY."""
    n = len(frame)
    values = np.zeros(n)
    codes = np.full(n, -1, dtype="int64")
    ok = np.isfinite(price) & (price > 0)
    if ok.sum() == 0:
        return Factor("price_low", values, codes, lambda c: {"pct": c})
    brand_codes, brand_uniques = pd.factorize(frame["brand"].fillna(""))
    bkeys = pd.Series(brand_uniques).map(brand_key).to_numpy(dtype=object)
    bk_codes, _ = pd.factorize(bkeys[brand_codes] if len(bkeys) else np.array([], dtype=object))
    cat_codes, _ = pd.factorize(frame["category"].fillna(""))
    group = pd.Series(bk_codes.astype("int64") * 100_000 + cat_codes, index=frame.index)
    # listings without a brand are not compared with each other as if they were one brand
    no_brand = (bkeys[brand_codes] == "") if len(bkeys) else np.zeros(n, dtype=bool)
    logp = pd.Series(np.where(ok, np.log(np.where(ok, price, 1.0)), np.nan), index=frame.index)
    grouped = logp.groupby(group)
    med = grouped.transform("median")
    size = grouped.transform("count")
    mad = (logp - med).abs().groupby(group).transform("median")
    spread = np.maximum(MAD_TO_SD * mad.to_numpy(), MIN_LOG_SPREAD)
    z = (logp.to_numpy() - med.to_numpy()) / spread
    drop = 1.0 - np.exp(logp.to_numpy() - med.to_numpy())
    fire = (ok & ~no_brand & (size.to_numpy() >= rw.p("price_min_group"))
            & (z <= -rw.p("price_z")) & (drop >= rw.p("price_min_drop")))
    values[fire] = 1.0
    codes[fire] = np.rint(100 * drop[fire]).astype("int64")
    return Factor("price_low", values, codes, lambda c: {"pct": int(c)})


def _seller_frame(conn: Connection) -> pd.DataFrame:
    sellers = _cursor_frame(conn, "SELECT id, platform_id, filing_number, licence_number, "
                                  "cluster_id, first_seen FROM seller",
                            ["seller_id", "s_platform", "filing_number", "licence_number",
                             "cluster_id", "first_seen"])
    sellers["cluster_id"] = sellers["cluster_id"].fillna(
        "solo-" + sellers["seller_id"].astype(str))
    sellers["first_seen"] = _as_utc(sellers["first_seen"])
    return sellers


def _count_by(series: pd.Series) -> dict[Any, int]:
    return {k: int(v) for k, v in series.value_counts().items()}


def _history(conn: Connection) -> dict[str, pd.DataFrame]:
    """Lab outcomes and cases, joined to the listing and seller they concern."""
    labs = _cursor_frame(conn, (
        "SELECT lr.outcome, l.id, l.seller_id, l.brand, l.sector FROM lab_result lr "
        "JOIN sample s ON s.id = lr.sample_id JOIN purchase p ON p.id = s.purchase_id "
        "JOIN plan_item pi ON pi.id = p.plan_item_id JOIN listing l ON l.id = pi.listing_id"),
        ["outcome", "listing_id", "seller_id", "brand", "sector"])
    cases = _cursor_frame(conn, (
        "SELECT c.id, COALESCE(c.seller_id, l.seller_id) FROM \"case\" c "
        "LEFT JOIN listing l ON l.id = c.listing_id"), ["case_id", "seller_id"])
    complaints = _cursor_frame(conn, (
        "SELECT r.listing_id, COALESCE(r.seller_id, l.seller_id) FROM risk_signal r "
        "LEFT JOIN listing l ON l.id = r.listing_id WHERE r.kind = 'complaint'"),
        ["listing_id", "seller_id"])
    return {"labs": labs, "cases": cases, "complaints": complaints}


def _capped(counts: np.ndarray, cap: float) -> tuple[np.ndarray, np.ndarray]:
    n = np.minimum(counts, cap)
    return n.astype("float64"), np.where(counts > 0, counts, -1).astype("int64")


def compute_factors(conn: Connection, rw: RiskWeights, settings: Settings | None = None,
                    now: dt.datetime | None = None, include_removed: bool = False
                    ) -> FactorFrame:
    """Every factor for every listing that is not removed (calibration: every listing)."""
    settings = settings or get_settings()
    now = now or dt.datetime.now(dt.UTC)
    frame = load_listings(conn, include_removed)
    n = len(frame)
    ids = frame["id"].to_numpy(dtype="int64")
    supervision = frame["supervision_class"].fillna("general").to_numpy(dtype=object)
    prohibited = supervision == "prohibited"
    sector = frame["sector"].fillna("other").to_numpy(dtype=object)
    factors: list[Factor] = []
    facts: dict[str, Any] = {"listings": n}

    # --- foreign notices (confirmed or proposed matches) ----------------------------------
    # A proposed match adds weight × confidence, and only from match_min_score up; a confirmed
    # one adds the full weight; a rejected one nothing.  The reason says which, and on what keys.
    matches = _cursor_frame(conn, (
        "SELECT m.listing_id, m.score, m.status, n.source, n.reference, m.detail "
        "FROM notice_match m JOIN foreign_notice n ON n.id = m.notice_id "
        "WHERE m.status <> 'rejected'"),
        ["listing_id", "score", "status", "source", "reference", "detail"])
    values = np.zeros(n)
    codes = np.full(n, -1, dtype="int64")
    table: list[dict[str, Any]] = []
    if not matches.empty:
        matches["value"] = np.where(matches["status"] == "confirmed", 1.0,
                                    matches["score"].astype(float))
        matches = matches[matches["value"] >= rw.p("match_min_score")]
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
        pos = pd.Index(ids).get_indexer(best["listing_id"].to_numpy())
        keep = pos >= 0
        values[pos[keep]] = best["value"].to_numpy(dtype=float)[keep]
        codes[pos[keep]] = np.array([uniq[k] for k in keys], dtype="int64")[keep]
    def decode_match(c: int, t: list[dict[str, Any]] = table) -> dict[str, Any]:
        return dict(t[c]) if 0 <= c < len(t) else {}

    factors.append(Factor("notice_match", values, codes, decode_match))
    facts["matched_listings"] = int((values > 0).sum())

    # --- price ------------------------------------------------------------------------------
    factors.append(price_factor(frame, price_in_cny(frame, settings), rw))

    # --- sellers ------------------------------------------------------------------------------
    sellers = _seller_frame(conn)
    s_index = pd.Index(sellers["seller_id"].to_numpy())
    spos = s_index.get_indexer(frame["seller_id"].fillna(-1).astype("int64").to_numpy())
    has_seller = spos >= 0
    safe = np.where(has_seller, spos, 0)

    def per_seller(col: pd.Series | np.ndarray, fill: Any) -> np.ndarray:
        arr = np.asarray(col, dtype=object)
        if len(arr) == 0:
            return np.full(n, fill, dtype=object)
        return np.where(has_seller, arr[safe], fill)

    first_seen = sellers["first_seen"]
    days_new = rw.p("new_seller_days")
    platform_start = sellers.groupby("s_platform")["first_seen"].transform("min")
    horizon = pd.Timestamp(now) - pd.Timedelta(days=days_new)
    is_new = ((first_seen >= horizon) & (platform_start < horizon)).to_numpy(dtype=bool)
    age_days = ((pd.Timestamp(now) - first_seen).dt.days.fillna(-1)).to_numpy(dtype="int64")
    new_mask = has_seller & per_seller(is_new, False).astype(bool)
    age = per_seller(age_days, -1).astype("int64")
    factors.append(Factor("new_seller", new_mask.astype(float), np.where(new_mask, age, -1),
                          lambda c: {"days": int(c)}))

    filing = sellers["filing_number"].fillna("").astype(str).str.strip()
    unfiled = has_seller & per_seller((filing == "").to_numpy(), False).astype(bool)
    factors.append(_indicator("unfiled_seller", unfiled))
    known = _cursor_frame(conn, "SELECT filing_number, status FROM enterprise_filing",
                          ["filing_number", "status"])
    unknown_mask = np.zeros(n, dtype=bool)
    if not known.empty:
        valid = set(known.loc[known["status"].fillna("valid") == "valid", "filing_number"])
        s_unknown = ((filing != "") & ~filing.isin(valid)).to_numpy()
        unknown_mask = has_seller & per_seller(s_unknown, False).astype(bool)
    factors.append(_indicator("filing_unknown", unknown_mask))
    licence = sellers["licence_number"].fillna("").astype(str).str.strip()
    factors.append(_indicator("no_licence",
                              has_seller & per_seller((licence == "").to_numpy(), False)
                              .astype(bool)))

    # --- classes and sectors -------------------------------------------------------------
    key = supervision == "key"
    factors.append(_indicator("key_class", key))
    ccc = frame["ccc"].to_numpy(dtype="int64") == 1
    cat = frame["category"].fillna("")
    share = pd.Series(ccc.astype(float)).groupby(cat.to_numpy()).transform("mean").to_numpy()
    factors.append(_indicator("key_without_ccc", key & ~ccc & (share >= 0.5)))

    hist = _history(conn)
    labs = hist["labs"]
    rates = dict(rw.sector_rates)
    strength = rw.p("sector_prior_strength")
    facts["lab_results"] = len(labs)
    if not labs.empty:
        fails = labs.assign(fail=(labs["outcome"] == "fail").astype(int)) \
            .groupby("sector")["fail"].agg(["sum", "count"])
        for sec, row in fails.iterrows():
            prior = rates.get(str(sec), rates.get("other", 0.05))
            rates[str(sec)] = (row["sum"] + strength * prior) / (row["count"] + strength)
    sector_names = sorted(set(rates) | set(pd.unique(sector).tolist()))
    sec_index = {s: i for i, s in enumerate(sector_names)}
    rate_arr = np.array([rates.get(s, rates.get("other", 0.0)) for s in sector_names])
    sec_codes = pd.Series(sector).map(sec_index).to_numpy(dtype="int64")
    sec_values = rate_arr[sec_codes] if n else np.zeros(0)
    def decode_sector(c: int, names: list[str] = sector_names,
                      r: np.ndarray = rate_arr) -> dict[str, Any]:
        return {"sector": names[c], "rate": round(float(r[c]), 4)}

    factors.append(Factor("sector_rate", sec_values.astype(float),
                          np.where(sec_values > 0, sec_codes, -1), decode_sector))
    facts["sector_rates"] = {s: round(float(rates.get(s, 0)), 4) for s in sector_names}

    # --- churn -----------------------------------------------------------------------------
    since = now - dt.timedelta(days=rw.p("churn_days"))
    churn = _cursor_frame(conn, (
        "SELECT listing_id, COUNT(*) FROM listing_snapshot WHERE version > 1 "
        "AND seen_at >= :since AND (CAST(changes AS TEXT) LIKE :p "
        "OR CAST(changes AS TEXT) LIKE :t) GROUP BY listing_id"), ["listing_id", "edits"],
        {"since": since, "p": '%"price"%', "t": '%"title"%'})
    edits = np.zeros(n, dtype="int64")
    if not churn.empty:
        pos = pd.Index(ids).get_indexer(churn["listing_id"].to_numpy())
        edits[pos[pos >= 0]] = churn["edits"].to_numpy(dtype="int64")[pos >= 0]
    churn_mask = edits >= rw.p("churn_min_edits")
    churn_days = int(rw.p("churn_days"))
    def decode_churn(c: int, d: int = churn_days) -> dict[str, Any]:
        return {"edits": int(c), "days": d}

    factors.append(Factor("churn", churn_mask.astype(float), np.where(churn_mask, edits, -1),
                          decode_churn))

    # --- seller and brand history, networks, complaints ----------------------------------
    cluster_of = dict(zip(sellers["seller_id"], sellers["cluster_id"], strict=True))
    l_cluster = per_seller(sellers["cluster_id"].to_numpy(dtype=object), None)
    cap = rw.p("history_cap")

    def cluster_counts(seller_ids: pd.Series) -> np.ndarray:
        clusters = seller_ids.dropna().astype("int64").map(cluster_of).dropna()
        counts = _count_by(clusters)
        if not counts:
            return np.zeros(n, dtype="int64")
        return pd.Series(l_cluster).map(counts).fillna(0).to_numpy(dtype="int64")

    failed = labs[labs["outcome"] == "fail"] if not labs.empty else labs
    v, c = _capped(cluster_counts(failed["seller_id"]) if len(failed) else np.zeros(n, "int64"),
                   cap)
    factors.append(Factor("seller_failed", v, c, lambda k: {"n": int(k)}))
    cases = hist["cases"]
    v, c = _capped(cluster_counts(cases["seller_id"]) if len(cases) else np.zeros(n, "int64"),
                   cap)
    factors.append(Factor("seller_cases", v, c, lambda k: {"n": int(k)}))
    brand_fail = np.zeros(n, dtype="int64")
    if len(failed):
        fb = _count_by(failed["brand"].fillna("").map(brand_key))
        fb.pop("", None)
        if fb:
            brand_codes, brand_uniques = pd.factorize(frame["brand"].fillna(""))
            per_unique = np.array([fb.get(brand_key(b), 0) for b in brand_uniques],
                                  dtype="int64")
            brand_fail = per_unique[brand_codes] if len(per_unique) else brand_fail
    v, c = _capped(brand_fail, cap)
    factors.append(Factor("brand_failed", v, c, lambda k: {"n": int(k)}))

    sizes = sellers.groupby("cluster_id").agg(size=("seller_id", "count"),
                                              platforms=("s_platform", "nunique"))
    net_size = np.zeros(n, dtype="int64")
    net_platforms = np.zeros(n, dtype="int64")
    if has_seller.any():
        cl = pd.Index(sizes.index).get_indexer(pd.Series(l_cluster).fillna("").to_numpy())
        okc = cl >= 0
        net_size[okc] = sizes["size"].to_numpy()[cl[okc]]
        net_platforms[okc] = sizes["platforms"].to_numpy()[cl[okc]]
    net_mask = net_size >= max(2.0, rw.p("network_min_size"))
    factors.append(Factor("network", net_mask.astype(float),
                          np.where(net_mask, net_size * 1000 + np.minimum(net_platforms, 999), -1),
                          lambda k: {"size": int(k // 1000), "platforms": int(k % 1000)}))

    comp = hist["complaints"]
    counts = np.zeros(n, dtype="int64")
    if len(comp):
        by_listing = _count_by(comp["listing_id"].dropna().astype("int64"))
        if by_listing:
            pos = pd.Index(ids).get_indexer(np.array(list(by_listing), dtype="int64"))
            counts[pos[pos >= 0]] += np.array(list(by_listing.values()))[pos >= 0]
        orphan = comp[comp["listing_id"].isna()]
        if len(orphan):
            counts += cluster_counts(orphan["seller_id"])
    v, c = _capped(counts, rw.p("complaints_cap"))
    factors.append(Factor("complaints", v, c, lambda k: {"n": int(k)}))

    # --- words, prohibited ----------------------------------------------------------------
    words = [w for w in rw.counterfeit_words if w]
    slang = np.zeros(n, dtype=bool)
    if words and n:
        pattern = "|".join(re.escape(w.lower()) for w in words)
        slang = frame["title"].fillna("").str.slice(0, 2000).str.lower() \
            .str.contains(pattern, regex=True).to_numpy(dtype=bool)
    factors.append(_indicator("counterfeit_words", slang))
    factors.append(_indicator("prohibited", prohibited))
    facts["prohibited"] = int(prohibited.sum())
    return FactorFrame(ids=ids, prohibited=prohibited, sector=sector, factors=factors,
                       facts=facts)
