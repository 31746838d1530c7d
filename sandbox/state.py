"""Mutable state shared by all styles of one running sandbox: the clock, sessions and orders.

All styles run on one asyncio loop, but tests read orders from another thread, hence the lock.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox.catalog import Catalog, get_catalog


@dataclass
class ObstacleRates:
    """Rates of the random obstacles; decisions are hashed from the seed, so they repeat per run."""

    error_rate: float = 0.02  # first request to a URL answers 500/503 (a retry succeeds)
    slow_rate: float = 0.01  # URL always answers after `slow_seconds`
    slow_seconds: float = 0.8
    rate_per_s: float = 200.0  # token bucket per client IP; empty bucket -> 429 + Retry-After
    burst: int = 400


@dataclass
class Session:
    token: str
    account: str | None = None
    cart: list[tuple[str, str, int]] = field(default_factory=list)  # (platform, external_id, qty)


@dataclass
class SandboxState:
    """Everything that changes while the sandbox runs."""

    seed: int
    listings: int
    day: int = 0
    obstacles: bool = True
    rates: ObstacleRates = field(default_factory=ObstacleRates)
    base_urls: dict[str, str] = field(default_factory=dict)
    orders: list[dict[str, Any]] = field(default_factory=list)
    sessions: dict[str, Session] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _seq: int = 0

    @property
    def catalog(self) -> Catalog:
        return get_catalog(self.seed, self.listings)

    def new_session(self) -> Session:
        s = Session(secrets.token_urlsafe(16))
        with self.lock:
            self.sessions[s.token] = s
        return s

    def next_order_no(self) -> str:
        with self.lock:
            self._seq += 1
            return f"SBX-{self.day}-{self._seq:06d}"

    def add_order(self, order: dict[str, Any]) -> None:
        with self.lock:
            self.orders.append(order)

    def list_orders(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(o) for o in self.orders]
