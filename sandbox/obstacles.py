"""ASGI middleware adding the network-level obstacles of real platforms.

- 429 Too Many Requests with ``Retry-After`` once a client IP empties its token bucket;
- 500/503 on the *first* request to some URLs (hash of seed + style + URL < error_rate),
  so a crawler that retries gets the page and the run is still reproducible;
- slow answers (``slow_seconds``) on some URLs, every time.

Checkout, admin, static and image paths are exempt: the obstacles are for crawlers, and a
covert purchase flaking on a random 503 would only make tests flaky.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sandbox.state import SandboxState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

EXEMPT_PREFIXES = ("/admin", "/static", "/img", "/login", "/logout", "/cart", "/checkout",
                   "/orders", "/robots.txt")


def unit_hash(*parts: object) -> float:
    """A stable uniform number in [0, 1) from the parts (not Python's salted hash())."""
    h = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


def url_fails_first(seed: int, style: str, target: str, rate: float) -> bool:
    return unit_hash(seed, style, target, "err") < rate


def url_is_slow(seed: int, style: str, target: str, rate: float) -> bool:
    return unit_hash(seed, style, target, "slow") < rate


class ObstacleMiddleware:
    """Wrap one style's app; does nothing when the state's `obstacles` is off."""

    def __init__(self, app: ASGIApp, state: SandboxState, style: str) -> None:
        self.app = app
        self.state = state
        self.style = style
        self.buckets: dict[str, tuple[float, float]] = {}
        self.seen: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        st = self.state
        if scope["type"] != "http" or not st.obstacles:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        rates = st.rates
        client = (scope.get("client") or ("?", 0))[0]
        now = time.monotonic()
        tokens, last = self.buckets.get(client, (float(rates.burst), now))
        tokens = min(float(rates.burst), tokens + (now - last) * rates.rate_per_s)
        if tokens < 1.0:
            self.buckets[client] = (tokens, now)
            wait = max(1, int((1.0 - tokens) / rates.rate_per_s + 0.999))
            await _plain(send, 429, b"Too Many Requests", [(b"retry-after", str(wait).encode())])
            return
        self.buckets[client] = (tokens - 1.0, now)
        qs = scope.get("query_string", b"").decode("latin-1")
        target = f"{path}?{qs}" if qs else path
        if target not in self.seen:
            self.seen.add(target)
            if url_fails_first(st.seed, self.style, target, rates.error_rate):
                code = 503 if unit_hash(st.seed, target, "code") < 0.5 else 500
                headers = [(b"retry-after", b"1")] if code == 503 else []
                await _plain(send, code, b"Service temporarily unavailable", headers)
                return
        if url_is_slow(st.seed, self.style, target, rates.slow_rate):
            await asyncio.sleep(rates.slow_seconds)
        await self.app(scope, receive, send)


async def _plain(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})
