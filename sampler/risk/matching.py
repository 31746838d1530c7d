"""Matching foreign notices to listings: brand + model/SKU + product name, fuzzy, zh and en.

Barcodes are not used: CPSC warns that barcode searches give false positives and negatives, and
cross-border listings rarely show one.  A match has a score in [0, 1] built from three pieces of
evidence, each compared only where it is comparable:

- model (weight 0.5): a notice model code equal to the listing's model or to a model code in its
  title (separators, case and the O/0, I/l/1 confusions ignored); a variant suffix
  ("VO-M5521B") scores 0.9; codes one digit apart are different products (no fuzzy codes);
- brand (0.3): normalised brand names, fuzzy (rapidfuzz); a Chinese brand is not compared with a
  Latin one (unknown rather than different);
- name (0.2): the notice's product name against the listing title (token-set similarity), again
  only within one script.

When a piece is unknown the others are re-weighted, and a match resting on a model code alone
is scaled by 0.9.  A notice with model codes whose codes the listing does not show stays below
0.5: same brand, other model, no match.

Blocking keeps this linear in the number of listings: candidates are only the listings whose
normalised model (column or title) contains a notice model code, or whose brand is fuzzy-equal
to a notice brand *and* whose title is similar to the notice's product name.  Every listing is
touched once by vectorised pandas/rapidfuzz operations, never compared with every notice in a
Python loop.

People confirm or reject matches; a reviewed match keeps its status on every later re-match.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sampler.risk.normalise import brand_key, fold, has_cjk, model_codes, model_key
from store.errors import InvalidInput, NotFound
from store.models import ForeignNotice, Listing, ListingStatus, NoticeMatch, utcnow

DEFAULT_THRESHOLD = 0.75
W_MODEL, W_BRAND, W_NAME = 0.5, 0.3, 0.2
MODEL_ONLY_FACTOR = 0.9
REVIEWED = ("confirmed", "rejected")


@dataclass
class NoticeKeys:
    """A notice prepared for matching."""

    id: int
    source: str
    reference: str
    brand: str
    brand_cjk: bool
    models: set[str]
    name: str
    name_cjk: bool


@dataclass
class MatchSummary:
    """What a matching run found."""

    notices: int = 0
    listings: int = 0
    candidates: int = 0
    matches: int = 0
    added: int = 0
    updated: int = 0
    kept_reviewed: int = 0
    removed_stale: int = 0
    threshold: float = DEFAULT_THRESHOLD
    by_notice: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _notice_keys(n: ForeignNotice) -> NoticeKeys:
    models: set[str] = set()
    for m in n.models or []:
        key = model_key(m)
        if len(key) >= 4 and any(c.isdigit() for c in key):
            models.add(key)
        models |= model_codes(m)
    name = n.product or n.title or ""
    brand = n.brand or ""
    return NoticeKeys(n.id, n.source, n.reference, brand_key(brand), has_cjk(brand), models,
                      fold(name), has_cjk(name))


def _squash(series: pd.Series) -> pd.Series:
    """Lower-case text without separators: where model codes are searched."""
    return series.fillna("").str.slice(0, 2000).str.lower().str.replace(r"[\W_]+", "", regex=True)


def _confusable(code: str) -> str:
    """Fold characters people and OCR confuse in model codes (O/0, I/l/1)."""
    return code.translate(_CONFUSABLE)


_CONFUSABLE = str.maketrans({"o": "0", "i": "1", "l": "1"})


def score_pair(nk: NoticeKeys, brand: str | None, model: str | None, title: str | None
               ) -> tuple[float, dict[str, Any]]:
    """Match score of one notice and one listing, with the evidence that made it."""
    title = (title or "")[:2000]
    l_models = model_codes(title)
    mk = model_key(model)
    if mk:
        l_models.add(mk)
    # model
    model_s: float | None = None
    if nk.models:
        n_conf = {_confusable(m) for m in nk.models}
        l_conf = {_confusable(m) for m in l_models}
        if n_conf & l_conf:
            model_s = 1.0
        elif any(len(x) != len(y) and min(len(x), len(y)) >= 6
                 and (x.startswith(y) or y.startswith(x)) for x in n_conf for y in l_conf):
            model_s = 0.9  # a variant suffix ("VO-M5521B" of "VO-M5521")
        elif l_models:
            model_s = 0.0  # one digit apart is another product: no fuzzy model codes
        else:
            squashed = re.sub(r"[\W_]+", "", title.lower())
            model_s = 1.0 if any(m in squashed for m in nk.models) else 0.0
    # brand
    brand_s: float | None = None
    lb = brand_key(brand)
    if nk.brand:
        if lb and has_cjk(brand) == nk.brand_cjk:
            brand_s = fuzz.ratio(nk.brand, lb) / 100
            if len(nk.brand) >= 4 and len(lb) >= 4 and (nk.brand in lb or lb in nk.brand):
                brand_s = max(brand_s, 0.95)
        elif nk.brand in re.sub(r"[\W_]+", "", title.lower()):
            brand_s = 1.0
    # name
    name_s: float | None = None
    if nk.name and title and has_cjk(title) == nk.name_cjk:
        name_s = fuzz.token_set_ratio(nk.name, fold(title)) / 100
    parts = [(W_MODEL, model_s), (W_BRAND, brand_s), (W_NAME, name_s)]
    known = [(w, s) for w, s in parts if s is not None]
    if not known:
        return 0.0, {}
    score = sum(w * s for w, s in known) / sum(w for w, _ in known)
    if brand_s is None and name_s is None:
        score *= MODEL_ONLY_FACTOR
    if nk.models and not model_s:
        score = min(score, 0.5)
    detail = {"model": model_s, "brand": brand_s, "name": name_s}
    return round(score, 4), detail


def _load_listings(session: Session) -> pd.DataFrame:
    rows = session.execute(
        select(Listing.id, Listing.brand, Listing.model, Listing.title)
        .where(Listing.status != ListingStatus.REMOVED)).all()
    return pd.DataFrame(rows, columns=["id", "brand", "model", "title"])


def candidates(notices: list[NoticeKeys], frame: pd.DataFrame) -> dict[int, set[int]]:
    """Blocking: notice id -> the row positions in *frame* worth scoring."""
    out: dict[int, set[int]] = defaultdict(set)
    if frame.empty or not notices:
        return out
    # 1. model codes found in the listing's model column or its (squashed) title
    code_to_notices: dict[str, list[int]] = defaultdict(list)
    for nk in notices:
        for code in nk.models:
            code_to_notices[code].append(nk.id)
    if code_to_notices:
        hay = _squash(frame["model"]) + "|" + _squash(frame["title"])
        codes = sorted(code_to_notices, key=len, reverse=True)
        for start in range(0, len(codes), 200):
            chunk = codes[start:start + 200]
            pattern = "|".join(re.escape(c) for c in chunk)
            hits = np.flatnonzero(hay.str.contains(pattern, regex=True).to_numpy())
            for pos in hits:
                text = hay.iat[pos]
                for code in chunk:
                    if code in text:
                        for nid in code_to_notices[code]:
                            out[nid].add(int(pos))
    # 2. same brand (fuzzy) and a similar product name
    brand_keys = frame["brand"].fillna("").map(brand_key)
    distinct = [b for b in brand_keys.unique().tolist() if b]
    by_brand: dict[str, np.ndarray] = {}
    if distinct:
        codes_arr, uniques = pd.factorize(brand_keys)
        order = np.argsort(codes_arr, kind="stable")
        bounds = np.searchsorted(codes_arr[order], np.arange(len(uniques) + 1))
        by_brand = {uniques[i]: order[bounds[i]:bounds[i + 1]] for i in range(len(uniques))}
    folded_titles: pd.Series | None = None
    for nk in notices:
        if not nk.brand or not nk.name or not distinct:
            continue
        near = process.extract(nk.brand, distinct, scorer=fuzz.ratio, score_cutoff=85,
                               limit=None)
        near_keys = {m[0] for m in near} | {b for b in distinct
                                            if len(b) >= 4 and (b in nk.brand or nk.brand in b)}
        if not near_keys:
            continue
        rows = np.concatenate([by_brand[b] for b in near_keys if b in by_brand])
        if folded_titles is None:
            folded_titles = frame["title"].fillna("").str.slice(0, 500)
        titles = [fold(t) for t in folded_titles.iloc[rows].tolist()]
        sims = process.cdist([nk.name], titles, scorer=fuzz.token_set_ratio, workers=1)[0]
        out[nk.id].update(int(r) for r, s in zip(rows, sims, strict=True) if s >= 80)
    return out


def match_notices(session: Session, threshold: float = DEFAULT_THRESHOLD,
                  notice_ids: list[int] | None = None) -> MatchSummary:
    """Match notices (all, or *notice_ids*) to listings and record proposed matches.

    Reviewed matches (confirmed/rejected) keep their status; proposed matches that no longer
    reach *threshold* are removed.
    """
    if not 0 < threshold <= 1:
        raise InvalidInput(f"threshold {threshold} must be within (0, 1]")
    query = select(ForeignNotice)
    if notice_ids is not None:
        query = query.where(ForeignNotice.id.in_(notice_ids))
    notices = [_notice_keys(n) for n in session.scalars(query)]
    frame = _load_listings(session)
    summary = MatchSummary(notices=len(notices), listings=len(frame), threshold=threshold)
    blocks = candidates(notices, frame)
    found: dict[tuple[int, int], tuple[float, dict[str, Any]]] = {}
    by_id = {nk.id: nk for nk in notices}
    for nid, rows in blocks.items():
        nk = by_id[nid]
        for pos in rows:
            summary.candidates += 1
            rec = frame.iloc[pos]
            score, detail = score_pair(nk, rec["brand"], rec["model"], rec["title"])
            if score >= threshold:
                found[(nid, int(rec["id"]))] = (score, detail)
    ids = [nk.id for nk in notices]
    existing: dict[tuple[int, int], NoticeMatch] = {}
    for start in range(0, len(ids), 500):
        for m in session.scalars(select(NoticeMatch).where(
                NoticeMatch.notice_id.in_(ids[start:start + 500]))):
            existing[(m.notice_id, m.listing_id)] = m
    stale = [m.id for key, m in existing.items() if key not in found and m.status not in REVIEWED]
    for start in range(0, len(stale), 500):
        session.execute(delete(NoticeMatch).where(NoticeMatch.id.in_(stale[start:start + 500])))
    summary.removed_stale = len(stale)
    summary.kept_reviewed = sum(1 for m in existing.values() if m.status in REVIEWED)
    for (nid, lid), (score, detail) in found.items():
        summary.matches += 1
        ref = f"{by_id[nid].source}:{by_id[nid].reference}"
        summary.by_notice[ref] = summary.by_notice.get(ref, 0) + 1
        row = existing.get((nid, lid))
        if row is None:
            session.add(NoticeMatch(notice_id=nid, listing_id=lid, score=score,
                                    status="proposed", detail={"evidence": detail}))
            summary.added += 1
        elif row.score != score:
            row.score = score
            row.detail = {**(row.detail or {}), "evidence": detail}
            summary.updated += 1
    session.flush()
    return summary


def review_match(session: Session, match_id: int, status: str, by: str,
                 note: str | None = None) -> NoticeMatch:
    """A person confirms or rejects a match; the decision and its history are recorded."""
    if status not in REVIEWED:
        raise InvalidInput(f"status {status!r} must be confirmed or rejected")
    row = session.get(NoticeMatch, match_id)
    if row is None:
        raise NotFound(f"no notice match {match_id}")
    history = list((row.detail or {}).get("reviews", []))
    history.append({"status": status, "by": by, "at": utcnow().isoformat(), "note": note,
                    "previous": row.status})
    row.status = status
    row.reviewed_by = by
    row.reviewed_at = utcnow()
    row.detail = {**(row.detail or {}), "reviews": history}
    session.flush()
    return row


def list_matches(session: Session, status: str | None = None, limit: int = 200
                 ) -> list[dict[str, Any]]:
    """Matches with their notice and listing, best first, for review."""
    query = (select(NoticeMatch, ForeignNotice, Listing)
             .join(ForeignNotice, ForeignNotice.id == NoticeMatch.notice_id)
             .join(Listing, Listing.id == NoticeMatch.listing_id)
             .order_by(NoticeMatch.score.desc(), NoticeMatch.id).limit(limit))
    if status:
        query = query.where(NoticeMatch.status == status)
    out = []
    for m, n, listing in session.execute(query):
        out.append({"match_id": m.id, "score": m.score, "status": m.status,
                    "source": n.source, "reference": n.reference, "notice_brand": n.brand,
                    "notice_product": n.product, "models": n.models, "listing_id": listing.id,
                    "listing_title": (listing.title or "")[:200], "listing_brand": listing.brand,
                    "listing_model": listing.model, "url": listing.url,
                    "reviewed_by": m.reviewed_by,
                    "reviewed_at": m.reviewed_at.isoformat() if isinstance(m.reviewed_at, dt.datetime) else None,
                    "evidence": (m.detail or {}).get("evidence")})
    return out
