"""Risk scores for every listing, in bulk: read columns, compute with NumPy, write back in bulk.

``score = base + Σ weight × value`` (features.py gives the values).  The score is the size
measure of πps sampling: strictly positive for every listing that may be bought.  Prohibited
listings get **no** score (NULL) — they are enforcement leads and must never be drawn; their
reasons (the prohibited class first) are stored all the same, for the lead list.

Reasons: each listing stores its top factors as ``[{code, points, params, en, zh}]``.  Listings
with the same top factors and parameters share one rendered JSON text (rendered once), so the
cost of words does not grow with the number of listings.

Writing: scores go to the narrow ``listing_risk`` table, not the wide crawled listing rows
(rewriting a million of those and their indexes took 12 s).  The few thousand reason texts are
stored once each in ``risk_reason_set`` (known texts reused), (id, score, set) rows go into a
TEMP table (SQLite: ``executemany``; PostgreSQL: ``COPY``), and one upsert rewrites only the
rows whose score or reason set differs — the comparison runs in the database, and a re-score of
a stable frame writes nothing.  ``scored_at`` is therefore the time the listing's score or
reasons last changed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from sampler.risk.factors import compute_factors
from sampler.risk.features import FactorTable
from sampler.risk.reasons import render
from sampler.risk.weights import RiskWeights, campaign_weights, default_weights, weights_from
from store.models import RiskRun
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
    """Scores and reason texts computed for a frame, before writing.

    Reasons are kept per *reason set*: ``group[i]`` is the set of row *i* and ``texts[g]`` the
    JSON text of set *g*, so a million listings carry a few thousand texts, not a million.
    """

    ids: np.ndarray
    score: np.ndarray  # NaN for prohibited listings
    group: np.ndarray  # reason set of each listing (int64)
    texts: list[str]  # JSON text of each reason set
    names: list[str]

    @property
    def groups(self) -> int:
        return len(self.texts)


_HASH_MULT = np.random.default_rng(20261127).integers(1, 2**62, 64, dtype=np.int64) | 1


def _group_rows(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(group id per row, first row of each group) of rows identical across int *columns*.

    Groups are numbered in order of first appearance.  The key is a 64-bit hash of the row
    (column by column, no n × k matrix), checked against each group's first row afterwards; a
    collision falls back to exact grouping.
    """
    n = len(columns[0])
    h = np.zeros(n, dtype=np.int64)
    with np.errstate(over="ignore"):
        for j, col in enumerate(columns):
            h += (col.astype(np.int64, copy=False) + 2) * _HASH_MULT[j % len(_HASH_MULT)]
    group, _ = pd.factorize(h)
    first = np.flatnonzero(~pd.Series(h).duplicated().to_numpy())
    rep = first[group]
    if not all((col == col[rep]).all() for col in columns):  # a collision: group exactly
        frame = pd.DataFrame({j: col for j, col in enumerate(columns)})
        group = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
        first = np.flatnonzero(~pd.Series(group).duplicated().to_numpy())
    return np.asarray(group, dtype=np.int64), first


def compute_scores(ff: FactorTable, rw: RiskWeights, top: int = TOP_REASONS) -> Scores:
    """Scores and top reasons for every listing of *ff* (vectorised; reasons rendered per set)."""
    names = ff.names()
    n = len(ff.ids)
    if n == 0:
        return Scores(ff.ids, np.zeros(0), np.zeros(0, dtype=np.int64), [], names)
    weights = np.array([rw.w(name) for name in names])
    # one C-ordered n × k product summed along rows: the same additions, in the same order, as
    # every earlier version, so stored scores stay bit-identical across versions
    contrib = ff.matrix()
    contrib *= weights
    total = rw.w("base") + contrib.sum(axis=1)
    score = np.where(ff.prohibited, np.nan, total)
    # The reasons of a listing depend only on which factors fire and their codes (points are a
    # function of the code), so listings are grouped by their code vector and each group's
    # reasons are sorted and rendered once; each (factor, code, points) is rendered once.
    group, first = _group_rows([f.codes for f in ff.factors])
    codes = np.column_stack([f.codes[first] for f in ff.factors])
    points_g = contrib[first]
    total_g = total[first]
    prohibited_g = ff.prohibited[first]
    del contrib
    p_idx = names.index("prohibited")
    rendered: dict[tuple[int, int, float, float], str] = {}
    texts: list[str] = []
    for g in range(len(first)):
        points = points_g[g]
        fired = codes[g] >= 0
        order = [f for f in np.argsort(-points, kind="stable").tolist()
                 if (fired[f] and points[f] > 0) or (f == p_idx and prohibited_g[g])]
        if prohibited_g[g]:
            order = [p_idx] + [f for f in order if f != p_idx]
        parts = []
        for f in order[:top]:
            code = int(codes[g, f])
            lead = round(float(total_g[g]), 3) if f == p_idx else 0.0
            key = (f, code, float(points[f]), lead)
            part = rendered.get(key)
            if part is None:
                factor = ff.factors[f]
                params = factor.decode(code if code >= 0 else 0)
                if f == p_idx:
                    params = {**params, "lead_score": lead}
                r = render(factor.name, float(points[f]), params)
                part = json.dumps({"code": r.code, "points": r.points, "params": r.params,
                                   "en": r.en, "zh": r.zh}, ensure_ascii=False,
                                  separators=(",", ":"))
                rendered[key] = part
            parts.append(part)
        texts.append("[" + ",".join(parts) + "]")
    return Scores(ff.ids, score, group, texts, names)


#: The upsert of new scores: a stored row is rewritten only when its score (both NULL, or
#: within 1e-9) or its reason set differs, so ``scored_at`` is the time of the last change.
_UPSERT = ("INSERT INTO listing_risk (listing_id, score, reason_set_id, scored_at) "
           "SELECT id, score, reason_set, {at} FROM {new} WHERE true "
           "ON CONFLICT (listing_id) DO UPDATE SET score = excluded.score, "
           "reason_set_id = excluded.reason_set_id, scored_at = excluded.scored_at "
           "WHERE NOT COALESCE((listing_risk.score IS NULL AND excluded.score IS NULL) "
           "OR abs(listing_risk.score - excluded.score) <= 1e-9, {false}) "
           "OR listing_risk.reason_set_id IS {distinct} excluded.reason_set_id")

#: Reason sets no score uses any more (after a change of weights, say) are deleted.  SQLite
#: runs NOT IN by building the subquery's index once; PostgreSQL would run it as a plain
#: subplan (a million rows do not fit work_mem for hashing) once per set, so there it is an
#: anti-join (NOT EXISTS), which SQLite in turn would run as one scan per set.
_FORGET_UNUSED_SETS = {
    "sqlite": ("DELETE FROM risk_reason_set WHERE id NOT IN (SELECT reason_set_id "
               "FROM listing_risk WHERE reason_set_id IS NOT NULL)"),
    "postgresql": ("DELETE FROM risk_reason_set AS s WHERE NOT EXISTS "
                   "(SELECT 1 FROM listing_risk AS r WHERE r.reason_set_id = s.id)"),
}


def _score_list(score: np.ndarray) -> list[float | None]:
    out: list[float | None] = score.tolist()
    for i in np.flatnonzero(np.isnan(score)).tolist():
        out[i] = None
    return out


def _set_ids(texts: list[str], known: dict[str, int], insert: Any) -> np.ndarray:
    """The stored id of each reason text: known ones reused, new ones inserted by *insert*."""
    ids = np.empty(len(texts), dtype=np.int64)
    for g, t in enumerate(texts):
        if t == "[]":
            ids[g] = -1
            continue
        got = known.get(t)
        if got is None:
            got = known[t] = int(insert(t))
        ids[g] = got
    return ids


def _write_sqlite(conn: Connection, scores: Scores, at: dt.datetime) -> int:
    """Reason sets first, then (id, score, set) into a TEMP table and one upsert.

    Returns the number of rows written (inserted or changed)."""
    raw = conn.connection.driver_connection
    assert raw is not None
    # SQLAlchemy's own SQLite DateTime text format (UTC, naive), so the ORM reads it back
    stamp = at.astimezone(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    cur = raw.cursor()
    try:
        known = {t: i for i, t in cur.execute("SELECT id, reasons FROM risk_reason_set")}

        def insert(t: str) -> int:
            return int(cur.execute("INSERT INTO risk_reason_set (reasons) VALUES (?)",
                                   (t,)).lastrowid or 0)

        set_id = _set_ids(scores.texts, known, insert)
        row_set = set_id[scores.group]
        cur.execute("DROP TABLE IF EXISTS temp.risk_score_new")
        cur.execute("CREATE TEMP TABLE risk_score_new "
                    "(id INTEGER PRIMARY KEY, score REAL, reason_set INTEGER)")
        cur.executemany("INSERT INTO temp.risk_score_new VALUES (?, ?, nullif(?, -1))",
                        zip(scores.ids.tolist(), _score_list(scores.score), row_set.tolist(),
                            strict=True))
        cur.execute(_UPSERT.format(at="?", new="temp.risk_score_new", false="0",
                                   distinct="NOT"), (stamp,))
        written = cur.rowcount
        cur.execute("DROP TABLE temp.risk_score_new")
        cur.execute(_FORGET_UNUSED_SETS["sqlite"])
    finally:
        cur.close()
    return int(written)


def _write_postgres(conn: Connection, scores: Scores, at: dt.datetime) -> int:
    """Reason sets first, then COPY (id, score, set) into a TEMP table and one upsert."""
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        known = {t: i for i, t in cur.execute(
            "SELECT id, CAST(reasons AS TEXT) FROM risk_reason_set").fetchall()}

        def insert(t: str) -> int:
            row = cur.execute("INSERT INTO risk_reason_set (reasons) VALUES (CAST(%s AS JSON)) "
                              "RETURNING id", (t,)).fetchone()
            assert row is not None
            return int(row[0])

        set_id = _set_ids(scores.texts, known, insert)
        row_set = set_id[scores.group].astype(float)
        row_set[row_set < 0] = np.nan
        buf = io.StringIO()
        pd.DataFrame({"id": scores.ids, "score": scores.score,
                      "reason_set": pd.array(row_set, dtype="Int64")}) \
            .to_csv(buf, header=False, index=False, na_rep="")
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS risk_score_new "
                    "(id BIGINT, score DOUBLE PRECISION, reason_set BIGINT) ON COMMIT DROP")
        cur.execute("TRUNCATE risk_score_new")
        with cur.copy("COPY risk_score_new (id, score, reason_set) FROM STDIN "
                      "WITH (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
        cur.execute("ANALYZE risk_score_new")
        cur.execute(_UPSERT.format(at="%s", new="risk_score_new", false="false",
                                   distinct="DISTINCT FROM"), (at,))
        written = cur.rowcount
        cur.execute("DROP TABLE risk_score_new")
        cur.execute(_FORGET_UNUSED_SETS["postgresql"])
    return int(written)


def _record_run(conn: Connection, rw: RiskWeights, campaign_id: int | str | None,
                some: bool, listings: int, written: int, at: dt.datetime) -> None:
    campaign = None
    if campaign_id is not None:
        from sqlalchemy import select

        from store.models import Campaign

        with Session(bind=conn) as s:
            campaign = (s.get(Campaign, int(campaign_id)) if str(campaign_id).isdigit()
                        else s.scalar(select(Campaign).where(Campaign.name == str(campaign_id))))
    from sqlalchemy import insert

    conn.execute(insert(RiskRun).values(
        started_at=at, scope="listings" if some else "all",
        campaign_id=campaign.id if campaign is not None else None, weights=rw.as_dict(),
        listings=listings, written=written))


def _connection_scope(target: Session | Engine | Connection | Any) -> tuple[Connection, bool]:
    if isinstance(target, Session):
        return target.connection(), False
    if isinstance(target, Connection):
        return target, False
    engine = target if isinstance(target, Engine) else getattr(target, "engine", None)
    if not isinstance(engine, Engine):
        raise TypeError("score_listings needs a Session, Connection, Engine or Database")
    return engine.connect(), True


def _subset(scores: Scores, listing_ids: Iterable[int]) -> Scores:
    """The scores of *listing_ids* only, with only the reason sets they use."""
    keep = np.isin(scores.ids, np.fromiter((int(i) for i in listing_ids), dtype=np.int64))
    used, group = np.unique(scores.group[keep], return_inverse=True)
    return Scores(scores.ids[keep], scores.score[keep], group.astype(np.int64),
                  [scores.texts[g] for g in used.tolist()], scores.names)


def last_run_weights(conn: Connection) -> RiskWeights | None:
    """The weights of the latest scoring run recorded in ``risk_run`` (None: no run yet)."""
    from sqlalchemy import select

    with Session(bind=conn) as s:
        row = s.scalar(select(RiskRun).order_by(RiskRun.id.desc()).limit(1))
        return weights_from(row.weights) if row is not None and row.weights else None


def score_listings(target: Session | Engine | Connection | Any, weights: RiskWeights | None = None,
                   campaign_id: int | str | None = None, settings: Settings | None = None,
                   now: dt.datetime | None = None, top: int = TOP_REASONS,
                   listing_ids: Iterable[int] | None = None) -> ScoreSummary:
    """Score every listing that is not removed and store score, reasons and time.

    *target* is a Session (scores join its transaction), or an Engine/Database/Connection
    (scores are committed here).  *weights* default to the campaign's (if *campaign_id*), else
    the documented defaults; with *listing_ids* (re-scoring only those listings, e.g. after a
    match review) they default to the last run's weights.  Every run is recorded in
    ``risk_run`` with its weights.
    """
    conn, own = _connection_scope(target)
    try:
        if campaign_id is not None:
            with Session(bind=conn) as s:
                rw = campaign_weights(s, campaign_id, weights)
        elif weights is None and listing_ids is not None:
            rw = last_run_weights(conn) or default_weights()
        else:
            rw = weights or default_weights()
        summary = ScoreSummary(weights_source=rw.source)
        t0 = time.perf_counter()
        ff = compute_factors(conn, rw, settings, now)
        t1 = time.perf_counter()
        scores = compute_scores(ff, rw, top)
        if listing_ids is not None:
            scores = _subset(scores, listing_ids)
        t2 = time.perf_counter()
        at = now or dt.datetime.now(dt.UTC)
        written = 0
        if len(scores.ids):
            if conn.dialect.name == "postgresql":
                written = _write_postgres(conn, scores, at)
            else:
                written = _write_sqlite(conn, scores, at)
        _record_run(conn, rw, campaign_id, listing_ids is not None, len(scores.ids), written, at)
        if own:
            conn.commit()
        t3 = time.perf_counter()
    finally:
        if own:
            conn.close()
    summary.timings = {"read_and_features": round(t1 - t0, 3), "score_and_reasons":
                       round(t2 - t1, 3), "write": round(t3 - t2, 3), "total": round(t3 - t0, 3)}
    summary.listings = len(scores.ids)
    summary.written = written
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
