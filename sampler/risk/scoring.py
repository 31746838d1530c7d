"""Risk scores for every listing, in bulk: read columns, compute with NumPy, write back in bulk.

``score = base + Σ weight × value`` (features.py gives the values).  The score is the size
measure of πps sampling: strictly positive for every listing that may be bought.  Prohibited
listings get **no** score (NULL) — they are enforcement leads and must never be drawn; their
reasons (the prohibited class first) are stored all the same, for the lead list.

Reasons: each listing stores its top factors as ``[{code, points, params, en, zh}]``.  Listings
with the same top factors and parameters share one rendered JSON text (rendered once), so the
cost of words does not grow with the number of listings.

Writing: only listings whose score or reasons changed are written (a re-score of a stable frame
writes little); SQLite gets one ``executemany`` on the driver connection, PostgreSQL ``COPY``
into a temporary table and one ``UPDATE … FROM``.  ``risk_scored_at`` is therefore the time the
listing's score or reasons last changed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from sampler.risk.features import FactorFrame, compute_factors
from sampler.risk.reasons import render
from sampler.risk.weights import RiskWeights, campaign_weights, default_weights
from store.settings import Settings

#: How many reasons each listing stores.
TOP_REASONS = 5


@dataclass
class ScoreSummary:
    """What a scoring run did, with timings (seconds) per phase."""

    listings: int = 0
    scored: int = 0
    prohibited: int = 0
    distinct_reason_sets: int = 0
    #: Listings whose score or reasons changed (only those are written).
    written: int = 0
    min_score: float | None = None
    median_score: float | None = None
    max_score: float | None = None
    weights_source: str = "default"
    timings: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    top: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Scores:
    """Scores and reason texts computed for a frame, before writing."""

    ids: np.ndarray
    score: np.ndarray  # NaN for prohibited listings
    reasons_json: np.ndarray  # object array of JSON texts
    contributions: np.ndarray  # n × factors (weight × value)
    names: list[str]
    groups: int


_HASH_MULT = np.random.default_rng(20261127).integers(1, 2**62, 64, dtype=np.int64) | 1


def _group_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group id per row, first row of each group) of identical rows of an int matrix."""
    n, k = codes.shape
    mult = _HASH_MULT[:k] if k <= len(_HASH_MULT) else np.resize(_HASH_MULT, k)
    with np.errstate(over="ignore"):
        h = ((codes.astype(np.int64) + 2) * mult).sum(axis=1)
    group, _ = pd.factorize(h)
    first = pd.Series(np.arange(n)).groupby(group).first().to_numpy()
    if not (codes == codes[first[group]]).all():  # a hash collision: group exactly instead
        frame = pd.DataFrame(codes)
        group = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
        first = pd.Series(np.arange(n)).groupby(group).first().to_numpy()
    return np.asarray(group, dtype=np.int64), first


def compute_scores(ff: FactorFrame, rw: RiskWeights, top: int = TOP_REASONS) -> Scores:
    """Scores and top reasons for every listing of *ff* (vectorised; reasons rendered per group)."""
    names = ff.names()
    values = ff.matrix()
    weights = np.array([rw.w(name) for name in names])
    contrib = values * weights
    n = len(ff.ids)
    total = rw.w("base") + contrib.sum(axis=1) if n else np.zeros(0)
    score = np.where(ff.prohibited, np.nan, total)
    if n == 0:
        return Scores(ff.ids, score, np.empty(0, dtype=object), contrib, names, 0)
    codes = np.column_stack([f.codes for f in ff.factors])
    # The reasons of a listing depend only on which factors fire and their codes (points are a
    # function of the code), so listings are grouped by their code vector and each group's
    # reasons are sorted and rendered once.  The grouping key is a 64-bit hash of the vector,
    # checked against the group's representative afterwards (exact fallback on a collision).
    group, first = _group_rows(codes)
    p_idx = names.index("prohibited")
    texts = np.empty(len(first), dtype=object)
    for g, row in enumerate(first):
        points = contrib[row].copy()
        fired = codes[row] >= 0
        order = [f for f in np.argsort(-points, kind="stable") if (fired[f] and points[f] > 0)
                 or (f == p_idx and ff.prohibited[row])]
        if ff.prohibited[row]:
            order = [p_idx] + [f for f in order if f != p_idx]
        reasons = []
        for f in order[:top]:
            factor = ff.factors[f]
            params = factor.decode(int(codes[row, f])) if codes[row, f] >= 0 \
                else factor.decode(0)
            if factor.name == "prohibited":
                params = {**params, "lead_score": round(float(total[row]), 3)}
            reasons.append(render(factor.name, float(points[f]), params).as_dict())
        texts[g] = json.dumps(reasons, ensure_ascii=False, separators=(",", ":"))
    return Scores(ff.ids, score, texts[group], contrib, names, len(first))


def changed_rows(ff: FactorFrame, scores: Scores) -> np.ndarray:
    """Positions whose score or reasons differ from what the database holds."""
    if ff.old_score is None or ff.old_reasons is None:
        return np.arange(len(scores.ids))
    old, new = ff.old_score, scores.score
    same_score = (np.isnan(old) & np.isnan(new)) | np.isclose(old, new, rtol=0, atol=1e-9)
    same_reasons = ff.old_reasons == scores.reasons_json
    return np.flatnonzero(~(same_score & same_reasons))


def _subset(scores: Scores, rows: np.ndarray) -> Scores:
    return Scores(scores.ids[rows], scores.score[rows], scores.reasons_json[rows],
                  scores.contributions[:0], scores.names, scores.groups)


def _write_sqlite(conn: Connection, scores: Scores, at: dt.datetime) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None
    # SQLAlchemy's own SQLite DateTime text format (UTC, naive), so the ORM reads it back
    stamp = at.astimezone(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    score = pd.Series(scores.score, dtype="float64").astype(object) \
        .where(~np.isnan(scores.score), None).tolist()
    rows = zip(score, scores.reasons_json.tolist(), [stamp] * len(score),
               scores.ids.tolist(), strict=True)
    cur = raw.cursor()
    cur.executemany("UPDATE listing SET risk_score = ?, risk_reasons = ?, risk_scored_at = ? "
                    "WHERE id = ?", rows)
    cur.close()


def _write_postgres(conn: Connection, scores: Scores, at: dt.datetime) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None
    buf = io.StringIO()
    pd.DataFrame({"id": scores.ids, "score": scores.score,
                  "reasons": scores.reasons_json}).to_csv(buf, header=False, index=False,
                                                          na_rep="")
    data = buf.getvalue()
    with raw.cursor() as cur:
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS risk_score_tmp "
                    "(id BIGINT, score DOUBLE PRECISION, reasons TEXT) ON COMMIT DROP")
        cur.execute("TRUNCATE risk_score_tmp")
        with cur.copy("COPY risk_score_tmp (id, score, reasons) FROM STDIN "
                      "WITH (FORMAT csv)") as copy:
            copy.write(data)
        cur.execute("UPDATE listing l SET risk_score = t.score, "
                    "risk_reasons = CAST(t.reasons AS JSON), risk_scored_at = %s "
                    "FROM risk_score_tmp t WHERE l.id = t.id", (at,))
        cur.execute("DROP TABLE risk_score_tmp")


def _connection_scope(target: Session | Engine | Connection | Any) -> tuple[Connection, bool]:
    if isinstance(target, Session):
        return target.connection(), False
    if isinstance(target, Connection):
        return target, False
    engine = target if isinstance(target, Engine) else getattr(target, "engine", None)
    if not isinstance(engine, Engine):
        raise TypeError("score_listings needs a Session, Connection, Engine or Database")
    return engine.connect(), True


def score_listings(target: Session | Engine | Connection | Any, weights: RiskWeights | None = None,
                   campaign_id: int | str | None = None, settings: Settings | None = None,
                   now: dt.datetime | None = None, top: int = TOP_REASONS) -> ScoreSummary:
    """Score every listing that is not removed and store score, reasons and time.

    *target* is a Session (scores join its transaction), or an Engine/Database/Connection
    (scores are committed here).  *weights* default to the campaign's (if *campaign_id*), else
    the documented defaults.
    """
    conn, own = _connection_scope(target)
    try:
        if campaign_id is not None:
            with Session(bind=conn) as s:
                rw = campaign_weights(s, campaign_id, weights)
        else:
            rw = weights or default_weights()
        summary = ScoreSummary(weights_source=rw.source)
        t0 = time.perf_counter()
        ff = compute_factors(conn, rw, settings, now)
        t1 = time.perf_counter()
        scores = compute_scores(ff, rw, top)
        t2 = time.perf_counter()
        at = now or dt.datetime.now(dt.UTC)
        rows = changed_rows(ff, scores)
        if len(rows):
            todo = scores if len(rows) == len(scores.ids) else _subset(scores, rows)
            if conn.dialect.name == "postgresql":
                _write_postgres(conn, todo, at)
            else:
                _write_sqlite(conn, todo, at)
        if own:
            conn.commit()
        t3 = time.perf_counter()
    finally:
        if own:
            conn.close()
    summary.timings = {"read_and_features": round(t1 - t0, 3), "score_and_reasons":
                       round(t2 - t1, 3), "write": round(t3 - t2, 3), "total": round(t3 - t0, 3)}
    summary.listings = len(scores.ids)
    summary.written = len(rows)
    ok = scores.score[~np.isnan(scores.score)]
    summary.scored = len(ok)
    summary.prohibited = int(ff.prohibited.sum())
    summary.distinct_reason_sets = scores.groups
    if len(ok):
        summary.min_score = round(float(ok.min()), 3)
        summary.median_score = round(float(np.median(ok)), 3)
        summary.max_score = round(float(ok.max()), 3)
    summary.facts = ff.facts
    return summary
