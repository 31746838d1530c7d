"""Derived risk signals for every listing at once, as columns (NumPy/pandas, no row loops):
the data structures and loaders the factor functions (``factors.py``) share.

Each factor yields, for every listing, a *value* (0 when the factor does not apply; 1, a match
score, a capped count or a rate when it does) and an integer *code* that, with the factor's
``decode``, gives the parameters its reason sentence needs ("78% below", "3 edits").  The score
is ``base + Σ weight × value``; because value and parameters are tied to the code, identical
reasons are rendered once, however many listings share them.

Everything is read in bulk with one query per table and joined in pandas, so a million listings
cost a few seconds, not a million queries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from sampler.risk.normalise import brand_key
from sampler.risk.weights import RiskWeights
from store.settings import Settings

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
class FactorTable:
    """The listings scored (ids, classes) and every factor's column (a table, not a
    sampling frame: that is :class:`sampler.design.Frame`)."""

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
