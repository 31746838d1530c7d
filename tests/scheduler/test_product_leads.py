"""Which reasons make a listing a counterfeit lead: slang in its title, or being a copy of a
product that failed elsewhere sold far below comparable prices (issue 25); a copy of a failed
product at a normal price is a take-all purchase, not a lead."""

from __future__ import annotations

from scheduler.pipeline import _counterfeit_like


def test_counterfeit_like_reasons() -> None:
    assert _counterfeit_like({"counterfeit_words"})
    assert _counterfeit_like({"product_failed", "price_low", "network"})
    assert not _counterfeit_like({"product_failed"})
    assert not _counterfeit_like({"price_low"})
    assert not _counterfeit_like(set())
