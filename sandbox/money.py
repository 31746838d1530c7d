"""Prices: shaping amounts the way shops price them, and writing them the ways shops write them.

Real pages write the same amount many ways (¥1,299.00, ￥1299, US $12.99, 12,99 €, ₩ 12,900,
1,980円); a crawler must parse all of them, so every style picks a writing per listing.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sandbox.data import CNY_PER

ZERO_DECIMAL = frozenset({"JPY", "KRW"})


def shape_price(value_cny: float, currency: str, ending: int) -> Decimal:
    """Convert a CNY value to `currency` and round it like a shop would (.99, .00, ¥1,980, ₩12,900)."""
    v = value_cny / CNY_PER[currency]
    if currency == "JPY":
        return Decimal(max(100, round(v / 10) * 10) - (20 if ending == 1 and v > 1000 else 0))
    if currency == "KRW":
        return Decimal(max(1000, round(v / 100) * 100))
    whole = max(1, int(v))
    cents = (".00", ".99", ".90", ".00")[ending % 4]
    return Decimal(f"{whole}{cents}")


def price_str(amount: Decimal, currency: str) -> str:
    """Canonical truth form: a plain decimal string, no grouping, currency's own decimals."""
    if currency in ZERO_DECIMAL:
        return str(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _group(amount: Decimal, decimals: int, thousands: str, point: str) -> str:
    q = amount.quantize(Decimal(1) if decimals == 0 else Decimal("0.01"), rounding=ROUND_HALF_UP)
    s = f"{q:,.{decimals}f}"
    return s.replace(",", "\0").replace(".", point).replace("\0", thousands)


def format_price(amount: Decimal, currency: str, variant: int = 0) -> str:
    """Write `amount` as a shop would; `variant` picks one of the common writings."""
    v = variant % 3
    if currency == "CNY":
        return (f"¥{_group(amount, 2, ',', '.')}",
                f"￥{_group(amount, 2, '', '.')}",
                f"{_group(amount, 2, ',', '.')}元")[v]
    if currency == "USD":
        return (f"US ${_group(amount, 2, ',', '.')}",
                f"${_group(amount, 2, ',', '.')}",
                f"USD {_group(amount, 2, ',', '.')}")[v]
    if currency == "EUR":
        return (f"{_group(amount, 2, '.', ',')} €",
                f"€{_group(amount, 2, ',', '.')}",
                f"EUR {_group(amount, 2, '.', ',')}")[v]
    if currency == "JPY":
        return (f"¥{_group(amount, 0, ',', '.')}",
                f"{_group(amount, 0, ',', '.')}円",
                f"JPY {_group(amount, 0, ',', '.')}")[v]
    if currency == "KRW":
        return (f"₩ {_group(amount, 0, ',', '.')}",
                f"{_group(amount, 0, ',', '.')}원",
                f"KRW {_group(amount, 0, ',', '.')}")[v]
    raise ValueError(f"unknown currency {currency}")
