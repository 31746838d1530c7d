"""The extractor's development set (``tests/crawlers/data/devset``) and its held-out test
set (``tests/crawlers/data/testset``): real saved product pages with truth written from what
each page shows (PROVENANCE.md in each).

Why two: rules are written while looking at the development set, so its figures flatter the
extractor; the test set's pages (other shops, other sources) are never looked at while a
rule is written, so its figures say how the extractor does on shops it has never seen.

One home for reading and scoring both, used by ``tests/crawlers/test_devset.py`` and
``tests/crawlers/test_testset.py`` (floors) and ``bench/bench_extraction.py`` (reported next
to Zyte's benchmark).  A field is scored only on pages whose truth gives it: right when the
extractor's value equals the truth (prices as decimals), wrong when it differs or is missing.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from crawlers.extract.generic import read_page

DIR = Path(__file__).resolve().parent / "data" / "devset"
#: The held-out test set: scored, never tuned on.
TEST_DIR = Path(__file__).resolve().parent / "data" / "testset"
FIELDS = ("title", "price", "list_price", "currency", "brand", "sku", "mpn", "gtin",
          "availability")


@dataclass
class Score:
    right: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.right / self.total if self.total else float("nan")


def pages(directory: Path = DIR) -> list[tuple[str, bytes, dict[str, Any]]]:
    """(file name, page body, truth) of every page of the set in *directory*."""
    truth = json.loads((directory / "truth.json").read_text(encoding="utf-8"))
    return [(name, gzip.decompress((directory / name).read_bytes()), row)
            for name, row in sorted(truth.items()) if not name.startswith("_")]


def _same(name: str, got: Any, want: str) -> bool:
    if got is None:
        return False
    if name in ("price", "list_price"):
        try:
            return Decimal(str(got)) == Decimal(want)
        except ArithmeticError:
            return False
    return str(got) == want


def evaluate(directory: Path = DIR) -> dict[str, Score]:
    """Each field's score over the set in *directory*, and ``kind``: the pages read as product
    pages (every page of a set is one; a crawl indexes a page only when it is read as one)."""
    scores = {name: Score() for name in (*FIELDS, "kind")}
    for file, body, truth in pages(directory):
        content_type = f"text/html; charset={truth['encoding']}" if truth.get("encoding") \
            else None
        # A page whose own address is unknown gets one that names no country.
        page = read_page(body, truth.get("url") or f"http://{directory.name}.invalid/{file}",
                         content_type=content_type,
                         content_language=truth.get("language"))
        scores["kind"].total += 1
        if page.kind == "product":
            scores["kind"].right += 1
        else:
            scores["kind"].misses.append(f"{file}: kind {page.kind} ({', '.join(page.reasons)})")
        for name in FIELDS:
            if name not in truth:
                continue
            score = scores[name]
            score.total += 1
            got = page.fields.get(name)
            if _same(name, got, truth[name]):
                score.right += 1
            else:
                score.misses.append(f"{file}: {name} {got!r} != {truth[name]!r}")
    return scores
