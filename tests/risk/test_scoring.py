"""Risk scores on the sandbox's planted truth: bad listings rank at the top of their stratum,
reasons name the right causes, prohibited listings are leads and never sizes."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, text

from sampler.risk import explain, leads
from sampler.risk.leads import eligible_for_purchase
from sampler.risk.scoring import score_listings
from sampler.risk.weights import default_weights, load_weights
from store.db import Database
from store.errors import InvalidInput
from store.models import (
    Campaign,
    Case,
    LabOutcome,
    LabResult,
    Listing,
    ListingSnapshot,
    Plan,
    PlanItem,
    Purchase,
    Sample,
)
from tests import factory


def _frame(db: Database, truth: dict[str, Any], keys: dict[str, int]) -> pd.DataFrame:
    with db.engine.connect() as c:
        rows = c.execute(text("SELECT l.id, r.score, s.reasons, l.sector, l.supervision_class "
                              "FROM listing AS l "
                              "LEFT JOIN listing_risk AS r ON r.listing_id = l.id "
                              "LEFT JOIN risk_reason_set AS s ON s.id = r.reason_set_id")
                         ).fetchall()
    df = pd.DataFrame(rows, columns=["id", "score", "reasons", "sector", "cls"])
    flags = {keys[r["key"]]: r["flags"] for r in truth["listings"]}
    df["counterfeit"] = df["id"].map(lambda i: flags[i]["counterfeit"])
    df["recalled"] = df["id"].map(lambda i: bool(flags[i]["recalled"]))
    df["bad"] = df["counterfeit"] | df["recalled"]
    df["reasons"] = df["reasons"].map(lambda r: json.loads(r) if isinstance(r, str) else (r or []))
    return df


def test_bad_listings_rank_top_of_their_stratum(scored: dict[str, Any],
                                                truth: dict[str, Any]) -> None:
    # Imported here: scikit-learn (with the parts of scipy it loads) costs ~1.2 s to import,
    # which every pytest worker paid while collecting, for this one test.
    from sklearn.metrics import roc_auc_score

    df = _frame(scored["db"], truth, scored["keys"])
    eligible = df[df["score"].notna()]
    auc = roc_auc_score(eligible["bad"], eligible["score"])
    print(f"\noverall ROC AUC (counterfeit or recalled): {auc:.3f}")
    assert auc >= 0.93
    for sector, g in eligible.groupby("sector"):
        k = int(g["bad"].sum())
        top = g.nlargest(k, "score")
        p_at_k = float(top["bad"].mean())
        s_auc = roc_auc_score(g["bad"], g["score"])
        print(f"{sector}: {k} planted, precision@{k} {p_at_k:.3f}, ROC AUC {s_auc:.3f}")
        assert p_at_k >= 0.75 and s_auc >= 0.9
    recalled = eligible[eligible["recalled"]]
    ranks = eligible["score"].rank(ascending=False)
    print(f"recalled listings' worst rank: {int(ranks[recalled.index].max())} of {len(eligible)}")
    assert ranks[recalled.index].max() <= 0.02 * len(eligible)


def test_scores_are_size_measures(scored: dict[str, Any], truth: dict[str, Any]) -> None:
    df = _frame(scored["db"], truth, scored["keys"])
    base = default_weights().w("base")
    ok = df[df["cls"] != "prohibited"]
    assert ok["score"].notna().all() and (ok["score"] >= base).all()
    assert df.loc[df["cls"] == "prohibited", "score"].isna().all()
    with scored["db"].session() as s:
        frame = s.scalars(select(Listing.id).where(eligible_for_purchase())).all()
    assert len(frame) == len(ok)


def test_reasons_name_the_causes(scored: dict[str, Any], truth: dict[str, Any]) -> None:
    db, keys = scored["db"], scored["keys"]
    by_key = {r["key"]: r for r in truth["listings"]}
    with db.session() as s:
        for key, refs in truth["planted"]["recalled"].items():
            reasons = explain(s, keys[key])
            top = reasons[0]
            source, ref = refs[0].split(":", 1)
            assert top.code == "notice_match" and top.params["reference"] == ref
            assert ref in top.en and ref in top.zh
            assert top.en.startswith("matches CPSC recall" if source == "cpsc"
                                     else "matches EU Safety Gate alert")
        cheap = 0
        for key in truth["planted"]["counterfeit"]:
            codes = {r.code: r for r in explain(s, keys[key])}
            if "price_low" in codes:
                cheap += 1
                pct = codes["price_low"].params["pct"]
                assert 30 <= pct <= 95 and f"{pct}% below" in codes["price_low"].en
        share = cheap / len(truth["planted"]["counterfeit"])
        print(f"counterfeits explained by a price anomaly: {share:.2%}")
        assert share >= 0.8
        for key in truth["planted"]["unfiled_sellers"][:5]:
            platform, ext = key.split(":")
            lid = next((keys[r["key"]] for r in truth["listings"]
                        if r["platform"] == platform and r["seller_id"] == ext
                        and r["supervision_class"] != "prohibited"), None)
            if lid is not None:
                assert "unfiled_seller" in {r.code for r in explain(s, lid)} or \
                    len(explain(s, lid)) == 5
        genuine = [k for k, r in by_key.items() if not r["flags"]["counterfeit"]
                   and r["supervision_class"] != "prohibited"]
        false_price = sum("price_low" in {x.code for x in explain(s, keys[k])}
                          for k in genuine[:1500])
        assert false_price <= 0.02 * 1500


def test_prohibited_are_leads(scored: dict[str, Any], truth: dict[str, Any]) -> None:
    with scored["db"].session() as s:
        found = leads(s)
    ids = {lead.listing_id for lead in found}
    planted = {scored["keys"][k] for k in truth["planted"]["prohibited"]}
    assert ids == planted and found
    assert all(lead.reasons[0]["code"] == "prohibited" for lead in found)
    assert [lead.lead_score for lead in found] == sorted((x.lead_score for x in found),
                                                         reverse=True)


def _tiny(db: Database) -> dict[str, int]:
    """A small frame: one brand, same CNY prices in CNY and USD, one cheap outlier, a network."""
    ids: dict[str, int] = {}
    with db.session() as s:
        p1, p2 = factory.platform(s, "mall"), factory.platform(s, "spa")
        a = factory.seller(s, p1.id, "a", name="A", filing_number="F1",
                           licence_number="L12345678", contacts={"phone": "+86 13900000001"})
        b = factory.seller(s, p2.id, "b", name="B", filing_number="F2",
                           licence_number="L87654321", contacts={"whatsapp": "13900000001"})
        c = factory.seller(s, p1.id, "c", name="C", filing_number="F3",
                           licence_number="L11112222", contacts={"phone": "13700000000"})
        for i in range(12):
            usd = i % 2 == 1
            price = Decimal("20.00") if usd else Decimal("144.00")
            factory.listing(s, p1.id if not usd else p2.id, f"k{i}", url=f"u{i}",
                            title=f"Nordvik Kettle NV-K{1000 + i}", brand="Nordvik",
                            category="kettles", sector="electrical", price=price,
                            currency="USD" if usd else "CNY",
                            seller_id=(c.id if i < 10 else (a.id if i == 10 else b.id)))
        factory.listing(s, p1.id, "cheap", url="ucheap", title="Nordvik Kettle NV-K9999 原单",
                        brand="Nordvik", category="kettles", sector="electrical",
                        price=Decimal("30.00"), currency="CNY", seller_id=c.id)
        for row in s.scalars(select(Listing)):
            ids[row.external_id] = row.id
        ids.update(seller_a=a.id, seller_b=b.id, seller_c=c.id)
    return ids


def test_currency_and_price_anomaly(any_db: Database) -> None:
    ids = _tiny(any_db)
    summary = score_listings(any_db)
    assert summary.scored == 13
    with any_db.session() as s:
        usd = {r.code for r in explain(s, ids["k1"])}
        cheap = {r.code: r for r in explain(s, ids["cheap"])}
    assert "price_low" not in usd  # 20 USD is 144 CNY: not an anomaly for being a small number
    assert cheap["price_low"].params["pct"] == 79 and "counterfeit_words" in cheap


def test_network_history_counts_for_all_storefronts(any_db: Database) -> None:
    from sampler.risk.networks import build_seller_networks

    ids = _tiny(any_db)
    now = dt.datetime.now(dt.UTC)
    with any_db.session() as s:
        build_seller_networks(s)
        camp = Campaign(name="c1")
        s.add(camp)
        s.flush()
        plan = Plan(campaign_id=camp.id, version=1, seed=1, method="srs", frame_sha256="0" * 64,
                    frame_size=13, sample_size=1)
        s.add(plan)
        s.flush()
        item = PlanItem(plan_id=plan.id, listing_id=ids["k10"], seq=1, stratum="all",
                        inclusion_probability=0.1)
        s.add(item)
        s.flush()
        purchase = Purchase(idempotency_key="p1", plan_item_id=item.id)
        s.add(purchase)
        s.flush()
        sample = Sample(code="S1", purchase_id=purchase.id)
        s.add(sample)
        s.flush()
        s.add(LabResult(sample_id=sample.id, outcome=LabOutcome.FAIL))
        s.add(Case(number="C-1", kind="counterfeit", title="t", seller_id=ids["seller_a"]))
        for v in range(2, 6):
            s.add(ListingSnapshot(listing_id=ids["k0"], version=v, content_hash=str(v),
                                  changes=["price"], seen_at=now - dt.timedelta(days=v)))
    score_listings(any_db)
    with any_db.session() as s:
        sibling = {r.code: r for r in explain(s, ids["k11"])}  # seller b: a's network
        churner = {r.code: r for r in explain(s, ids["k0"])}
        other = {r.code for r in explain(s, ids["k2"])}
    assert sibling["seller_failed"].params == {"n": 1}
    assert sibling["seller_cases"].params == {"n": 1}
    assert sibling["network"].params == {"size": 2, "platforms": 2}
    assert churner["churn"].params["edits"] == 4
    assert not {"seller_failed", "network", "churn"} & other


def test_campaign_and_file_weights(sqlite_db: Database, tmp_path: Path) -> None:
    ids = _tiny(sqlite_db)
    base_run = score_listings(sqlite_db)
    with sqlite_db.session() as s:
        s.add(Campaign(name="strict", risk_weights={"base": 2.0, "price_low": 10}))
    camp_run = score_listings(sqlite_db, campaign_id="strict")
    assert camp_run.weights_source == "campaign strict"
    with sqlite_db.session() as s:
        cheap = s.get(Listing, ids["cheap"])
        assert cheap is not None and cheap.risk_score is not None
        assert cheap.risk_score == pytest.approx(2.0 + 10 + 1.5 + 3 * 0.12)
    assert camp_run.min_score is not None and base_run.min_score is not None
    assert camp_run.min_score > base_run.min_score
    bad = tmp_path / "w.toml"
    bad.write_text("[weights]\nbase = 0\n", "utf-8")
    with pytest.raises(InvalidInput, match="base must be > 0"):
        load_weights(bad)
    bad.write_text("[weights]\nfoo = 1\n", "utf-8")
    with pytest.raises(InvalidInput, match="unknown risk"):
        load_weights(bad)
    good = tmp_path / "ok.toml"
    good.write_text(default_weights().to_toml(), "utf-8")
    assert load_weights(good).weights == default_weights().weights


def test_postgres_and_sqlite_agree(sqlite_db: Database, pg_db: Database) -> None:
    """The bulk writers (executemany / COPY + UPDATE FROM) store the same scores and reasons."""
    results = []
    for db in (sqlite_db, pg_db):
        _tiny(db)
        score_listings(db, now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
        with db.session() as s:
            rows = [(x.external_id, x.risk_score, x.risk_reasons, x.risk_scored_at) for x in
                    s.scalars(select(Listing).order_by(Listing.external_id))]
        results.append(rows)
    for a, b in zip(*results, strict=True):
        assert a[0] == b[0] and a[1] == pytest.approx(b[1]) and a[2] == b[2]
        assert a[3] is not None and b[3] is not None
    assert np.isclose(sum(r[1] for r in results[0]), sum(r[1] for r in results[1]))


def test_review_rescores_one_listing_with_the_last_runs_weights(any_db: Database) -> None:
    """Confirming a match re-scores that listing at once, and with the weights of the last run
    (a campaign's here), not the defaults: only that listing's row changes."""
    from sampler.risk.matching import review_match
    from store.models import ForeignNotice, ListingRisk, NoticeMatch, RiskRun

    ids = _tiny(any_db)
    with any_db.session() as s:
        s.add(Campaign(name="recalls", risk_weights={"notice_match": 20, "base": 2.0}))
        n = ForeignNotice(source="cpsc", reference="26001", title="Nordvik kettle",
                          brand="Nordvik", models=["NV-K1003"])
        s.add(n)
        s.flush()
        m = NoticeMatch(notice_id=n.id, listing_id=ids["k3"], score=0.8, status="proposed")
        s.add(m)
        s.flush()
        match_id = m.id
    score_listings(any_db, campaign_id="recalls")
    with any_db.session() as s:
        before = {r.listing_id: (r.score, r.reason_set_id, r.scored_at)
                  for r in s.scalars(select(ListingRisk))}
        k3 = {r.code: r.points for r in explain(s, ids["k3"])}
    assert k3["notice_match"] == pytest.approx(20 * 0.8)
    with any_db.session() as s:
        review_match(s, match_id, "confirmed", "inspector-li")
    with any_db.session() as s:
        after = {r.listing_id: (r.score, r.reason_set_id, r.scored_at)
                 for r in s.scalars(select(ListingRisk))}
        k3_now = {r.code: r for r in explain(s, ids["k3"])}
        runs = [(r.scope, r.weights["source"]) for r in s.scalars(
            select(RiskRun).order_by(RiskRun.id))]
    assert k3_now["notice_match"].points == pytest.approx(20.0)
    assert k3_now["notice_match"].params["status"] == "confirmed"
    assert after[ids["k3"]][0] == pytest.approx(before[ids["k3"]][0] + 20 * 0.2)
    assert {k: v for k, v in after.items() if k != ids["k3"]} == \
        {k: v for k, v in before.items() if k != ids["k3"]}  # no other row touched
    assert runs == [("all", "campaign recalls"), ("listings", "campaign recalls")]
