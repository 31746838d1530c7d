"""Matching foreign notices to listings, strongest evidence first: exact keys, then brand + model,
then text.

1. **Exact keys** (``notice_key``): the listing's URL or its Amazon ASIN named in Safety Gate's
   ``onlineTrader`` (confidence 0.99 / 0.98: the notice names this very listing), a GS1-valid
   GTIN/UPC from the notice equal to the listing's own barcode (``Listing.gtin``, the page's
   structured GTIN: 0.97, key ``listing-gtin:…``) or found in its title or model (0.95, key
   ``gtin:…``); CPSC warns barcodes mislead, so either stays a proposal for a person to
   confirm.  A clearly different brand lowers an
   exact-key match by a fifth.
2. **Brand + model** (weights 0.5 model, 0.3 brand, 0.2 name): a notice model code equal to the
   listing's model or a code in its title (separators, case and O/0, I/l/1 ignored); a variant
   suffix ("VO-M5521B") scores 0.9; codes one digit apart are different products (no fuzzy
   codes).  Brands are fuzzy (rapidfuzz) within one script: a Chinese brand is *unknown* against a
   Latin one, not different.  A notice with model codes the listing does not show stays <= 0.5.
3. **Text** only (no key, no model evidence: brand and name similarity): capped at
   ``TEXT_ONLY_CAP`` (0.7), below the score's ``match_min_score`` (0.75): such a match is listed
   for review but adds no risk until a person confirms it.

Every match records its confidence (``score``), its ``method`` (exact-key, brand+model, model,
text) and the ``keys`` it rests on, in ``detail``.  The score adds ``notice_match × confidence``
for a proposed match at or above ``match_min_score``, ``× 1`` for a confirmed one, nothing for a
rejected one; a reviewed match keeps its status on every later run, so a rejected pair never
comes back as proposed.

Blocking keeps this linear in the number of listings: candidates are only the listings showing a
notice key or model code (vectorised substring search), or whose brand is fuzzy-equal to a notice
brand *and* whose title is similar to the notice's product name.
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
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sampler.risk.importers.sg_fields import norm_url
from sampler.risk.normalise import brand_key, fold, has_cjk, model_codes, model_key
from store.errors import InvalidInput, NotFound
from store.models import ForeignNotice, Listing, ListingStatus, NoticeKey, NoticeMatch, utcnow

#: Matches at or above this confidence are recorded (proposed) for review.
DEFAULT_THRESHOLD = 0.6
W_MODEL, W_BRAND, W_NAME = 0.5, 0.3, 0.2
MODEL_ONLY_FACTOR = 0.9
#: A match resting on brand and name text alone never exceeds this (below match_min_score).
TEXT_ONLY_CAP = 0.7
#: Confidence of an exact key match, by key kind.
KEY_CONFIDENCE = {"url": 0.99, "asin": 0.98, "listing-gtin": 0.97, "gtin": 0.95}
#: An exact key match whose brands clearly differ keeps this share of its confidence.
KEY_BRAND_CONFLICT = 0.8
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
    #: Exact keys: {"gtin": {...}, "asin": {...}, "url": {...}}.
    keys: dict[str, set[str]] = field(default_factory=dict)
    #: Model key -> the model number as the notice wrote it (for the reasons people read).
    model_names: dict[str, str] = field(default_factory=dict)


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


def _notice_keys(n: ForeignNotice, keys: dict[str, set[str]] | None = None) -> NoticeKeys:
    models: set[str] = set()
    names: dict[str, str] = {}
    for m in n.models or []:
        key = model_key(m)
        if len(key) >= 4 and any(c.isdigit() for c in key):
            models.add(key)
            names.setdefault(key, m.strip()[:60])
        for code in model_codes(m):
            models.add(code)
            names.setdefault(code, m.strip()[:60])
    name = n.product or n.title or ""
    brand = n.brand or ""
    return NoticeKeys(n.id, n.source, n.reference, brand_key(brand), has_cjk(brand), models,
                      fold(name), has_cjk(name), keys or {}, names)


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
    keys: list[str] = []
    if model_s:
        shown = {_confusable(m) for m in l_models}
        hit = sorted(m for m in nk.models if _confusable(m) in shown)
        code = hit[0] if hit else sorted(nk.models)[0]
        keys.append("model:" + nk.model_names.get(code, code))
    if brand_s is not None and brand_s >= 0.8:
        keys.append("brand:" + nk.brand)
    if name_s is not None and name_s >= 0.8:
        keys.append("name")
    if model_s and brand_s is not None and brand_s >= 0.8:
        method = "brand+model"
    elif model_s:
        method = "model"
    else:
        method = "text"
        score = min(score, TEXT_ONLY_CAP)
    detail = {"model": model_s, "brand": brand_s, "name": name_s, "method": method,
              "keys": keys}
    return round(score, 4), detail


def _str(value: Any) -> str | None:
    """A text cell of the listings frame (pandas gives NaN for a missing one)."""
    return value if isinstance(value, str) else None


def exact_confidence(kind: str, brand_s: float | None) -> float:
    """Confidence of a match on an exact key, lowered when the brands clearly differ."""
    conf = KEY_CONFIDENCE[kind]
    if brand_s is not None and brand_s < 0.5:
        conf *= KEY_BRAND_CONFLICT
    return round(conf, 4)


def _load_listings(session: Session) -> pd.DataFrame:
    rows = session.execute(
        select(Listing.id, Listing.brand, Listing.model, Listing.title, Listing.url,
               Listing.gtin)
        .where(Listing.status != ListingStatus.REMOVED)).all()
    return pd.DataFrame(rows, columns=["id", "brand", "model", "title", "url", "gtin"])


def _gtin_forms(gtin: str) -> list[str]:
    """How a 14-digit GTIN key may be written in a title: as 14, 13, 12 or 8 digits."""
    digits = gtin.lstrip("0")
    return sorted({gtin[-n:] for n in (14, 13, 12, 8) if len(digits) <= n}, key=len,
                  reverse=True)


def exact_hits(notices: list[NoticeKeys], frame: pd.DataFrame
               ) -> dict[tuple[int, int], list[str]]:
    """(notice id, row position) -> the exact keys both show ("listing-gtin:…" when the
    listing's own GTIN is the notice's, "gtin:…" when its title or model shows it, "asin:…",
    "url:…")."""
    out: dict[tuple[int, int], list[str]] = defaultdict(list)
    if frame.empty:
        return out
    wanted = [(nk.id, kind, value) for nk in notices for kind, values in nk.keys.items()
              for value in sorted(values) if kind in KEY_CONFIDENCE]
    if not wanted:
        return out
    urls = frame["url"].fillna("").str.slice(0, 2000)
    by_url: dict[str, list[int]] = defaultdict(list)
    wanted_urls = {v for _, k, v in wanted if k == "url"}
    if wanted_urls:  # normalise only the URLs on the hosts the notices name
        hosts = sorted({u.split("/", 1)[0] for u in wanted_urls})
        near = urls.str.lower().str.contains("|".join(re.escape(h) for h in hosts), regex=True)
        for hit in np.flatnonzero(near.to_numpy()):
            key = norm_url(urls.iat[hit])
            if key in wanted_urls:
                by_url[key].append(int(hit))
    digits = frame["model"].fillna("").astype(str) + " " + frame["title"].fillna("").str.slice(0, 2000)
    digits = digits.str.replace(r"[\s\-.]", "", regex=True)
    by_gtin: dict[str, list[int]] = defaultdict(list)
    if "gtin" in frame:  # the listing's own barcode, already in the 14-digit normal form
        for pos, code in enumerate(frame["gtin"].tolist()):
            if isinstance(code, str) and code:
                by_gtin[code].append(pos)
    for nid, kind, value in wanted:
        if kind == "gtin":
            own = by_gtin.get(value, [])
            for row in own:
                out[(nid, int(row))].append(f"listing-gtin:{value}")
        if kind == "url":
            rows = by_url.get(value, [])
        elif kind == "asin":
            mask = urls.str.contains(rf"/(?:dp|gp/product|gp/aw/d)/{re.escape(value)}(?:[/?]|$)",
                                     case=False, regex=True)
            rows = np.flatnonzero(mask.to_numpy()).tolist()
        else:  # gtin: the digits, not inside a longer run of digits
            forms = "|".join(re.escape(f) for f in _gtin_forms(value))
            mask = digits.str.contains(rf"(?<!\d)(?:{forms})(?!\d)", regex=True)
            rows = np.flatnonzero(mask.to_numpy()).tolist()
        for row in rows:
            if kind == "gtin" and f"listing-gtin:{value}" in out.get((nid, int(row)), []):
                continue  # the listing's own GTIN already says it, more strongly
            out[(nid, int(row))].append(f"{kind}:{value}")
    return out


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
        raise InvalidInput("risk_matching.threshold_out_of_range", threshold=threshold)
    query = select(ForeignNotice)
    if notice_ids is not None:
        query = query.where(ForeignNotice.id.in_(notice_ids))
    rows_n = list(session.scalars(query))
    key_map: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    ids_all = [n.id for n in rows_n]
    for start in range(0, len(ids_all), 500):
        for nid, kind, value in session.execute(
                select(NoticeKey.notice_id, NoticeKey.kind, NoticeKey.value)
                .where(NoticeKey.notice_id.in_(ids_all[start:start + 500]))):
            key_map[nid][kind].add(value)
    notices = [_notice_keys(n, key_map.get(n.id)) for n in rows_n]
    frame = _load_listings(session)
    summary = MatchSummary(notices=len(notices), listings=len(frame), threshold=threshold)
    blocks = candidates(notices, frame)
    exact = exact_hits(notices, frame)
    for nid, pos in exact:
        blocks.setdefault(nid, set()).add(pos)
    found: dict[tuple[int, int], tuple[float, dict[str, Any]]] = {}
    by_id = {nk.id: nk for nk in notices}
    for nid, rows in blocks.items():
        nk = by_id[nid]
        for pos in rows:
            summary.candidates += 1
            rec = frame.iloc[pos]
            score, detail = score_pair(nk, _str(rec["brand"]), _str(rec["model"]),
                                       _str(rec["title"]))
            hit = exact.get((nid, pos))
            if hit:
                best = max(exact_confidence(k.split(":", 1)[0], detail.get("brand"))
                           for k in hit)
                detail = {**detail, "method": "exact-key",
                          "keys": hit + [k for k in detail.get("keys", []) if k not in hit]}
                score = max(score, best)
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
        elif row.score != score or (row.detail or {}).get("evidence") != detail:
            row.score = score
            row.detail = {**(row.detail or {}), "evidence": detail}
            summary.updated += 1
    session.flush()
    return summary


def review_match(session: Session, match_id: int, status: str, by: str,
                 note: str | None = None, rescore: bool = True) -> NoticeMatch:
    """A person confirms or rejects a match; the decision and its history are recorded, and
    the listing is re-scored at once (``scoring.score_listings`` on that listing, with the last
    run's weights), so its score, its risk explanation and the top-risk list say what the
    person decided without waiting for the next scoring run."""
    if status not in REVIEWED:
        raise InvalidInput("risk_matching.review_status", status=repr(str(status)[:40]))
    row = session.get(NoticeMatch, match_id)
    if row is None:
        raise NotFound("risk_matching.no_match", match_id=match_id)
    history = list((row.detail or {}).get("reviews", []))
    history.append({"status": status, "by": by, "at": utcnow().isoformat(), "note": note,
                    "previous": row.status})
    row.status = status
    row.reviewed_by = by
    row.reviewed_at = utcnow()
    row.detail = {**(row.detail or {}), "reviews": history}
    session.flush()
    if rescore:
        from sampler.risk.scoring import score_listings

        score_listings(session, listing_ids=[row.listing_id])
    return row


def count_matches(session: Session, status: str | None = None) -> int:
    """How many matches :func:`list_matches` pages through for *status* (None: all)."""
    query = select(func.count()).select_from(NoticeMatch)
    if status:
        query = query.where(NoticeMatch.status == status)
    return int(session.scalar(query) or 0)


def list_matches(session: Session, status: str | None = None, limit: int = 200,
                 offset: int = 0) -> list[dict[str, Any]]:
    """Matches with their notice and listing, best first, for review (*offset* pages on)."""
    query = (select(NoticeMatch, ForeignNotice, Listing)
             .join(ForeignNotice, ForeignNotice.id == NoticeMatch.notice_id)
             .join(Listing, Listing.id == NoticeMatch.listing_id)
             .order_by(NoticeMatch.score.desc(), NoticeMatch.id).offset(offset).limit(limit))
    if status:
        query = query.where(NoticeMatch.status == status)
    out = []
    for m, n, listing in session.execute(query):
        out.append({"match_id": m.id, "score": m.score, "status": m.status,
                    "notice_id": n.id, "source": n.source, "reference": n.reference,
                    "notice_brand": n.brand,
                    "notice_product": n.product, "models": n.models, "listing_id": listing.id,
                    "listing_title": (listing.title or "")[:200], "listing_brand": listing.brand,
                    "listing_model": listing.model, "url": listing.url,
                    "reviewed_by": m.reviewed_by,
                    "reviewed_at": m.reviewed_at.isoformat() if isinstance(m.reviewed_at, dt.datetime) else None,
                    "evidence": (m.detail or {}).get("evidence"),
                    "method": ((m.detail or {}).get("evidence") or {}).get("method"),
                    "keys": ((m.detail or {}).get("evidence") or {}).get("keys", [])})
    return out
