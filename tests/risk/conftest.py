"""Fixtures of the risk tests: the sandbox's planted truth in a database, imported and scored."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store.db import Database
from tests.factory.truth import load_truth, write_feeds

SEED, N = 7, 6000


@pytest.fixture(scope="session")
def truth() -> dict[str, Any]:
    """The sandbox's planted truth (tests only read it)."""
    from sandbox.truth import build_truth

    return build_truth(SEED, N, 0)


@pytest.fixture(scope="session")
def _scored_template(tmp_path_factory: pytest.TempPathFactory, truth: dict[str, Any]
                     ) -> dict[str, Any]:
    """The scored world, built once per session in a folder of its own (closed after)."""
    from sampler.risk.importers import import_file
    from sampler.risk.matching import match_notices
    from sampler.risk.networks import build_seller_networks
    from sampler.risk.scoring import score_listings

    folder = tmp_path_factory.mktemp("risk-template")
    db = Database.open(f"sqlite:///{folder / 'risk.db'}")
    keys = load_truth(db, truth)
    cpsc, sg = write_feeds(SEED, N, folder)
    with db.session() as s:
        imports = [import_file(s, cpsc, "cpsc"), import_file(s, sg, "safety-gate")]
        matching = match_notices(s)
        networks = build_seller_networks(s)
        summary = score_listings(s)
    db.dispose()  # checkpoints the WAL: the folder is now plain files to copy
    return {"keys": keys, "imports": imports, "matching": matching, "networks": networks,
            "summary": summary, "folder": folder}


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, _scored_template: dict[str, Any]
           ) -> Iterator[dict[str, Any]]:
    """The truth loaded into SQLite, the sandbox feeds imported and matched, networks built,
    listings scored: what `spotcheck signals import` + `spotcheck risk score` would leave.
    Each module gets its own copy of the session's template (its tests may change it); a
    copy costs milliseconds where building it cost seconds of every module."""
    folder = tmp_path_factory.mktemp("risk")
    shutil.copytree(_scored_template["folder"], folder, dirs_exist_ok=True)
    db = Database.open(f"sqlite:///{folder / 'risk.db'}")
    yield {**_scored_template, "db": db, "folder": folder}
    db.dispose()


def data_file(name: str) -> Path:
    return Path(__file__).with_name("data") / name
