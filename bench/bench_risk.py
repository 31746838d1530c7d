"""Benchmark: risk-scoring a synthetic frame of 1,000,000 listings in the database.

Builds the frame (listings across 3 platforms, 20,000 sellers with contacts and networks,
notice matches, snapshots, complaints) with bulk inserts, then times ``score_listings``: bulk
read, vectorised factors, scores and reasons, bulk write-back.  Reports seconds per phase, peak
memory (RSS) and the ratio against a baseline measured in the same process: reading the same
columns into pandas and nothing else (the I/O floor).  Target (issue 5): <= 10 s for 1M.

    .venv/bin/python bench/bench_risk.py [--listings 1000000] [--quick] [--postgres URL]

With ``--postgres`` the frame is built in a schema of its own (``bench_risk_<pid>``), dropped at
the end.  Wall time depends on the machine's load (the load average is recorded with the
figures); CPU time of the process is recorded too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import record

from sampler.risk.features import load_listings
from sampler.risk.matching import review_match
from sampler.risk.networks import build_seller_networks
from sampler.risk.scoring import score_listings
from store.db import Database, make_engine

TARGET_S = 10.0
BRANDS = ["Voltaris", "Nordvik", "Aurelia", "Meiju", "Tongle", "Senyu", "Xinyue", "Tuoke",
          "Brightwell", "Kazehana", "沃特瑞斯", "诺德维克", "美居", "童乐"] + \
         [f"Brand{i}" for i in range(186)]
CATS = [("kettles", "electrical", "key"), ("toys", "light_industry", "key"),
        ("bedding", "textiles", "general"), ("headphones", "electrical", "general"),
        ("stationery", "light_industry", "general"), ("shoes", "textiles", "general"),
        ("power-banks", "electrical", "key"), ("hazmat", "light_industry", "prohibited")]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(db: Database, n: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    n_sellers = max(300, n // 50)
    t0 = time.perf_counter()
    now = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    with db.engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cur = raw.cursor()
        pg = db.dialect == "postgresql"
        q = "%s" if pg else "?"

        def many(sql: str, rows: list[tuple]) -> None:
            cur.executemany(sql.replace("?", q), rows)

        many("INSERT INTO platform (id, code, name, base_url, company_name, jurisdiction_bureau, "
             "profile, created_at) VALUES (?, ?, ?, '', '', '', '{}', ?)",
             [(i + 1, c, c, now) for i, c in enumerate(["mall", "spa", "shop"])])
        net = rng.integers(0, n_sellers // 40, n_sellers)
        in_net = rng.random(n_sellers) < 0.05
        sellers = []
        for s in range(n_sellers):
            phone = f"139{int(net[s]):08d}" if in_net[s] else f"138{s:08d}"
            contacts = json.dumps({"phone": phone, "email": f"s{s}@shop{s % 997}.cn",
                                   "wechat": f"wx_{s:06d}"})
            sellers.append((s + 1, s % 3 + 1, f"S{s}", f"Shop {s}",
                            None if rng.random() < 0.15 else f"F{s}",
                            None if rng.random() < 0.08 else f"91{s:016d}", contacts,
                            now - dt.timedelta(days=int(rng.integers(0, 400)))))
        many("INSERT INTO seller (id, platform_id, external_id, name, filing_number, "
             "licence_number, contacts, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
             [(*r, now) for r in sellers])
        cat_i = rng.integers(0, len(CATS), n)
        brand_i = rng.integers(0, len(BRANDS), n)
        norm = 50 * (1 + brand_i % 7) * (1 + cat_i)
        cheap = rng.random(n) < 0.03
        price = np.round(norm * np.where(cheap, rng.uniform(0.08, 0.3, n),
                                         rng.uniform(0.85, 1.2, n)), 2)
        usd = rng.random(n) < 0.3
        seller_of = rng.integers(1, n_sellers + 1, n)
        slang = rng.random(n) < 0.01
        ccc = rng.random(n) < 0.8
        chunk = 200_000
        for start in range(0, n, chunk):
            rows = []
            for i in range(start, min(n, start + chunk)):
                c = CATS[cat_i[i]]
                p = float(price[i]) / 7.2 if usd[i] else float(price[i])
                rows.append((
                    i + 1, i % 3 + 1, f"L{i}", f"https://p{i % 3}.example/i/{i}",
                    f"{BRANDS[brand_i[i]]} {c[0]} M-{i:07d}" + (" 原单" if slang[i] else ""),
                    BRANDS[brand_i[i]], f"M-{i:07d}", round(p, 2), "USD" if usd[i] else "CNY",
                    None if usd[i] else float(price[i]), int(seller_of[i]), c[0], c[1], c[2],
                    '["CCC"]' if ccc[i] else "[]", now, now))
            many("INSERT INTO listing (id, platform_id, external_id, url, title, brand, model, "
                 "price, currency, price_cny, seller_id, category, sector, supervision_class, "
                 "cert_marks, first_seen, last_seen, class_reasons, image_urls, raw, "
                 "content_hash, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                 "?, ?, ?, ?, ?, '[]', '[]', '{}', '', 'active')", rows)
        k = max(10, n // 2000)
        many("INSERT INTO foreign_notice (id, source, reference, title, models, raw, imported_at) "
             "VALUES (?, 'cpsc', ?, '', '[]', '{}', ?)", [(j + 1, f"26{j:04d}", now)
                                                         for j in range(k)])
        targets = rng.choice(n, k, replace=False) + 1
        many("INSERT INTO notice_match (notice_id, listing_id, score, status, detail) "
             "VALUES (?, ?, ?, 'proposed', '{}')",
             [(j + 1, int(t), float(rng.uniform(0.75, 1))) for j, t in enumerate(targets)])
        snaps = rng.choice(n, max(10, n // 100), replace=False) + 1
        many("INSERT INTO listing_snapshot (listing_id, version, seen_at, content_hash, changes, "
             "data) VALUES (?, ?, ?, 'h', '[\"price\"]', '{}')",
             [(int(lid), v, now - dt.timedelta(days=v)) for lid in snaps for v in range(2, 6)])
        many("INSERT INTO risk_signal (key, kind, source, listing_id, observed_at, value, detail) "
             "VALUES (?, 'complaint', 'complaints', ?, ?, 1, '{}')",
             [(f"c{j}", int(lid), now) for j, lid in
              enumerate(rng.choice(n, max(10, n // 500), replace=False) + 1)])
        if pg:
            for t in ("platform", "seller", "listing", "foreign_notice"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                            f"(SELECT MAX(id) FROM {t}))")
            cur.execute("ANALYZE")
        cur.close()
    with db.session() as session:
        build_seller_networks(session)
    if db.dialect == "sqlite":  # a settled database: the bulk load checkpointed out of the WAL
        with db.engine.connect() as c:
            c.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"frame: {n:,} listings, {n_sellers:,} sellers built in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)


@contextmanager
def _database(pg_url: str, tmp: str) -> Iterator[Database]:
    """SQLite in *tmp*, or PostgreSQL in a schema of our own (dropped afterwards)."""
    if not pg_url:
        db = Database.open(f"sqlite:///{tmp}/bench.db")
        try:
            yield db
        finally:
            db.dispose()
        return
    schema = f"bench_risk_{os.getpid()}"
    admin = make_engine(pg_url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"
    db = Database.open(f"{pg_url}{sep}options=-csearch_path%3D{schema}")
    try:
        yield db
    finally:
        db.dispose()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listings", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 listings")
    ap.add_argument("--postgres", default="", help="PostgreSQL URL (default: SQLite in a temp dir)")
    args = ap.parse_args()
    n = 100_000 if args.quick else args.listings
    with tempfile.TemporaryDirectory() as tmp, _database(args.postgres, tmp) as db:
        build(db, n)
        label = f"{db.dialect}, {n:,} listings"
        rss0 = rss_mb()
        with db.engine.connect() as conn:
            t = time.perf_counter()
            frame = load_listings(conn)
            read_s = time.perf_counter() - t
        del frame
        cpu0 = time.process_time()
        summary = score_listings(db, now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
        cpu = time.process_time() - cpu0
        total = summary.timings["total"]
        peak = rss_mb()
        assert summary.scored + summary.prohibited == n, summary.as_dict()
        print(json.dumps(summary.timings), f"distinct reason sets {summary.distinct_reason_sets}")
        record(f"score {label}", total, "s", baseline=read_s,
               baseline_label="bulk read of the columns only", target=f"<= {TARGET_S} s",
               higher_is_better=False, ok=total <= TARGET_S * n / 1_000_000)
        record(f"throughput {label}", n / total, "listings/s")
        record(f"CPU time of this process {label}", cpu, "s", higher_is_better=False)
        load = os.getloadavg()[0]
        print(f"load average during the run: {load:.1f} on {os.cpu_count()} cores")
        record(f"load average (1 min) after the first score {label}", load,
               f"on {os.cpu_count()} cores", higher_is_better=False)
        for phase in ("read_and_features", "score_and_reasons", "write"):
            record(f"{phase} {label}", summary.timings[phase], "s", higher_is_better=False)
        again = score_listings(db, now=dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
        record(f"re-score unchanged frame {label}", again.timings["total"], "s",
               baseline=total, baseline_label="first score", higher_is_better=False)
        print(f"re-score wrote {again.written:,} rows (first score wrote {summary.written:,})")
        # a person confirming one match: that listing re-scored at once (review_match ->
        # score_listings(listing_ids=[...]), factors on the whole frame, one row written)
        with db.session() as s:
            mid = s.scalar(text("SELECT id FROM notice_match WHERE status = 'proposed' "
                                "ORDER BY id LIMIT 1"))
            t = time.perf_counter()
            review_match(s, int(mid), "confirmed", "bench")
            review_s = time.perf_counter() - t
        record(f"review re-scores its listing at once {label}", review_s, "s", baseline=total,
               baseline_label="first score of every listing", higher_is_better=False)
        record(f"peak RSS {label}", peak, "MiB", baseline=rss0,
               baseline_label="before scoring (frame built)", higher_is_better=False)


if __name__ == "__main__":
    main()
