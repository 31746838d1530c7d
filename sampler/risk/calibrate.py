"""Calibrating the weights from lab outcomes (logistic regression), and saying how well it predicts.

Once enough purchased samples have a lab verdict, the factor values of those listings (the same
columns scoring uses) are regressed on fail/pass.  The report gives cross-validated ROC AUC and
Brier score of the fitted model, the AUC of the weights in use on the same listings, and proposed
weights: the positive coefficients (log-odds per unit of the factor) as the new factor weights.
Factors with a negative or inestimable coefficient keep a weight of 0 or their old weight, and
are listed, so a supervisor sees what changed and why.

History factors would leak the outcome being predicted (a failed sample counts towards its own
seller's failures), so each listing's own result is left out of its history counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from sampler.risk.factors import compute_factors
from sampler.risk.weights import RiskWeights, default_weights
from store import messages
from store.errors import Conflict

MIN_OUTCOMES = 40
MIN_PER_CLASS = 8
#: Factors whose value counts the outcome being predicted.
HISTORY = ("seller_failed", "brand_failed")
#: Never fitted: base is the floor, prohibited listings are never bought.
NOT_FITTED = ("base", "prohibited")


@dataclass
class CalibrationReport:
    """How well the factors predict lab failures, and the weights they suggest."""

    outcomes: int
    failures: int
    auc_cv: float
    brier_cv: float
    brier_prevalence: float
    auc_current: float
    folds: int
    coefficients: dict[str, float]
    intercept: float
    #: Factor → why it was left out or set to 0, coded (``{"code": "risk_notes.…",
    #: "params": {…}}``); :meth:`why_dropped` reads it in either language.
    dropped_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    proposed: RiskWeights | None = None

    @property
    def dropped(self) -> dict[str, str]:
        """Factor → why it was dropped, in English (JSON readers)."""
        return {k: self.why_dropped(k, "en") for k in self.dropped_codes}

    def why_dropped(self, factor: str, locale: str = "en") -> str:
        item = self.dropped_codes.get(factor)
        return messages.render(item["code"], item["params"], locale) if item else ""

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "proposed"}
        out["dropped"] = self.dropped
        out["proposed_weights"] = dict(self.proposed.weights) if self.proposed else None
        return out


def _outcomes(conn: Connection) -> pd.DataFrame:
    rows = conn.execute(text(
        "SELECT pi.listing_id, lr.outcome FROM lab_result lr "
        "JOIN sample s ON s.id = lr.sample_id JOIN purchase p ON p.id = s.purchase_id "
        "JOIN plan_item pi ON pi.id = p.plan_item_id")).fetchall()
    frame = pd.DataFrame.from_records(rows, columns=["listing_id", "outcome"])
    frame["fail"] = (frame["outcome"] == "fail").astype(int)
    # one verdict per listing: a listing that ever failed counts as failing
    return frame.groupby("listing_id", as_index=False)["fail"].max()


def calibrate(session: Session, weights: RiskWeights | None = None,
              min_outcomes: int = MIN_OUTCOMES, seed: int = 0) -> CalibrationReport:
    """Fit factor weights to lab outcomes; raise Conflict when there are too few outcomes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rw = weights or default_weights()
    conn = session.connection()
    outcomes = _outcomes(conn)
    failures = int(outcomes["fail"].sum()) if len(outcomes) else 0
    passes = len(outcomes) - failures
    if len(outcomes) < min_outcomes or min(failures, passes) < MIN_PER_CLASS:
        raise Conflict("risk_calibrate.too_few_outcomes", min_outcomes=min_outcomes,
                       min_per_class=MIN_PER_CLASS, outcomes=len(outcomes), failures=failures,
                       passes=passes)
    ff = compute_factors(conn, rw, include_removed=True)
    pos = pd.Index(ff.ids).get_indexer(outcomes["listing_id"].to_numpy())
    outcomes = outcomes[pos >= 0]
    pos = pos[pos >= 0]
    y = outcomes["fail"].to_numpy()
    cap = rw.p("history_cap")
    columns: dict[str, np.ndarray] = {}
    dropped: dict[str, dict[str, Any]] = {}  # factor → coded reason (risk_notes.*)
    for factor in ff.factors:
        if factor.name in NOT_FITTED:
            continue
        x = factor.values[pos].astype(float)
        if factor.name in HISTORY:
            raw = np.maximum(factor.codes[pos], 0) - y
            x = np.minimum(np.maximum(raw, 0), cap).astype(float)
        if np.ptp(x) == 0:
            dropped[factor.name] = {"code": "risk_notes.constant_among_tested", "params": {}}
            continue
        columns[factor.name] = x
    if not columns:
        raise Conflict("risk_calibrate.no_factor_varies")
    names = list(columns)
    X = np.column_stack([columns[n] for n in names])
    folds = int(min(5, failures, passes))
    model = LogisticRegression(C=1.0, max_iter=1000)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    p = cross_val_predict(model, X, y, cv=cv, method="predict_proba")[:, 1]
    model.fit(X, y)
    coefs = {n: round(float(c), 4) for n, c in zip(names, model.coef_[0], strict=True)}
    current = rw.w("base") + sum(ff.factors[i].values[pos] * rw.w(f.name)
                                 for i, f in enumerate(ff.factors) if f.name != "prohibited")
    new_weights = dict(rw.weights)
    for n, c in coefs.items():
        if c <= 0:
            dropped[n] = {"code": "risk_notes.coefficient_not_positive",
                          "params": {"coefficient": c}}
        new_weights[n] = round(max(c, 0.0), 3)
    proposed = RiskWeights(new_weights, dict(rw.params), dict(rw.sector_rates),
                           rw.counterfeit_words, source=f"calibrated on {len(y)} lab outcomes")
    prevalence = float(y.mean())
    return CalibrationReport(
        outcomes=len(y), failures=int(y.sum()), auc_cv=round(float(roc_auc_score(y, p)), 4),
        brier_cv=round(float(brier_score_loss(y, p)), 4),
        brier_prevalence=round(prevalence * (1 - prevalence), 4),
        auc_current=round(float(roc_auc_score(y, current)), 4), folds=folds,
        coefficients=coefs, intercept=round(float(model.intercept_[0]), 4),
        dropped_codes=dropped,
        proposed=proposed)
