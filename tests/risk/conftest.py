"""Fixtures of the risk tests: the sandbox's planted truth in a database, imported and scored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store.db import Database
from tests.risk.truthdb import load_truth, write_feeds

SEED, N = 7, 6000


@pytest.fixture(scope="module")
def truth() -> dict[str, Any]:
    from sandbox.truth import build_truth

    return build_truth(SEED, N, 0)


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, truth: dict[str, Any]
           ) -> Iterator[dict[str, Any]]:
    """The truth loaded into SQLite, the sandbox feeds imported and matched, networks built,
    listings scored: what `spotcheck signals import` + `spotcheck risk score` would leave."""
    from sampler.risk.importers import import_file
    from sampler.risk.matching import match_notices
    from sampler.risk.networks import build_seller_networks
    from sampler.risk.scoring import score_listings

    folder = tmp_path_factory.mktemp("risk")
    db = Database.open(f"sqlite:///{folder / 'risk.db'}")
    keys = load_truth(db, truth)
    cpsc, sg = write_feeds(SEED, N, folder)
    with db.session() as s:
        imports = [import_file(s, cpsc, "cpsc"), import_file(s, sg, "safety-gate")]
        matching = match_notices(s)
        networks = build_seller_networks(s)
        summary = score_listings(s)
    yield {"db": db, "keys": keys, "imports": imports, "matching": matching,
           "networks": networks, "summary": summary, "folder": folder}
    db.dispose()


def data_file(name: str) -> Path:
    return Path(__file__).with_name("data") / name
