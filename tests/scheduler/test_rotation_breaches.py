"""Rotation rules broken by orders on record are found (the demo's personas buying three
times a day), each group once; orders that keep the rules give nothing."""

from __future__ import annotations

import datetime as dt

from scheduler.rotation import KeyedOrder, RotationRules, breaches

D = dt.date(2026, 11, 3)


def _o(key: str, persona: int, seller: int | None, days: int) -> KeyedOrder:
    return KeyedOrder(key, persona, seller, D + dt.timedelta(days=days))


def test_orders_within_the_rules_are_not_flagged() -> None:
    orders = [_o("1", 1, 10, 0), _o("2", 1, 11, 8), _o("3", 2, 10, 1), _o("4", 1, 12, 40)]
    assert breaches(orders) == []


def test_each_rule_is_flagged_once_per_group() -> None:
    orders = [_o("1", 1, 10, 0), _o("2", 1, 11, 0), _o("3", 1, 12, 0),  # 3 a day
              _o("4", 2, 20, 0), _o("5", 3, 20, 0),  # one seller, two personas, one day
              _o("6", 4, 30, 0), _o("7", 4, 30, 50)]  # same seller inside the 90-day lockout
    found = {(b.rule, b.keys) for b in breaches(orders)}
    assert ("persona_per_day", ("1", "2", "3")) in found
    assert ("seller_per_day", ("4", "5")) in found
    assert ("lockout", ("6", "7")) in found
    assert sum(1 for rule, _ in found if rule == "persona_per_day") == 1


def test_period_cap_counts_a_sliding_window() -> None:
    rules = RotationRules(persona_per_period=2, period_days=10, persona_per_day=5)
    orders = [_o(str(i), 1, 100 + i, d) for i, d in enumerate((0, 4, 9, 30))]
    found = breaches(orders, rules)
    assert [(b.rule, b.keys) for b in found] == [("persona_per_period", ("0", "1", "2"))]
    assert found[0].count == 3 and found[0].limit == 2
