"""Run a whole sandbox (three styles + feeds) in a background thread, for tests, demo, benches.

    with Sandbox(seed=7, listings=5000, day=0, obstacles=True) as sb:
        sb.urls["mall"], sb.urls["spa"], sb.urls["shop"], sb.feeds_url
        sb.set_day(3); sb.orders(); sb.truth()

One asyncio loop runs one uvicorn server per style, each on its own 127.0.0.1 port (port 0
picks a free one unless `ports` are given), so styles are separate "hosts" as on the web.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn

from sandbox.app import STYLES, build_apps
from sandbox.state import ObstacleRates, SandboxState
from sandbox.truth import build_truth


def bind(host: str, port: int) -> socket.socket:
    """A listening socket. proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted
    sockets whose proto says TCP, and without it Nagle + delayed ACK cap a keep-alive
    connection at ~25 responses/s."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class Sandbox:
    """A running sandbox marketplace; use as a context manager (or call start/stop)."""

    def __init__(self, seed: int = 7, listings: int = 5000, day: int = 0, obstacles: bool = True,
                 *, host: str = "127.0.0.1", ports: dict[str, int] | None = None,
                 rates: ObstacleRates | None = None, log_level: str = "warning") -> None:
        self.state = SandboxState(seed=seed, listings=listings, day=day, obstacles=obstacles,
                                  rates=rates or ObstacleRates())
        self.host = host
        self.ports = ports or {}
        self.log_level = log_level
        self.urls: dict[str, str] = {}
        self.feeds_url = ""
        self._servers: list[uvicorn.Server] = []
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # ------------------------------------------------------------ lifecycle
    def start(self) -> Sandbox:
        apps = build_apps(self.state)
        socks: dict[str, socket.socket] = {}
        try:
            for name in (*STYLES, "feeds"):
                socks[name] = bind(self.host, self.ports.get(name, 0))
        except OSError:
            for sock in socks.values():
                sock.close()
            raise
        for name in socks:
            port = socks[name].getsockname()[1]
            url = f"http://{self.host}:{port}"
            if name == "feeds":
                self.feeds_url = url
            else:
                self.urls[name] = url
        self.state.base_urls = dict(self.urls)
        for name, sock in socks.items():
            config = uvicorn.Config(apps[name], log_level=self.log_level, access_log=False,
                                    lifespan="off", timeout_keep_alive=30)
            server = uvicorn.Server(config)
            self._servers.append(server)
            server._sbx_sock = sock  # type: ignore[attr-defined]

        async def serve_all() -> None:
            await asyncio.gather(*(s.serve(sockets=[s._sbx_sock]) for s in self._servers))  # type: ignore[attr-defined]

        def run() -> None:
            try:
                asyncio.run(serve_all())
            except BaseException as exc:  # surfaced by start()/stop()
                self._error = exc

        self._thread = threading.Thread(target=run, name="sandbox-servers", daemon=True)
        self._thread.start()
        for server in self._servers:
            while not server.started:
                if self._error is not None or not self._thread.is_alive():
                    raise RuntimeError(f"sandbox failed to start: {self._error!r}")
                threading.Event().wait(0.01)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._servers.clear()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ------------------------------------------------------------ controls
    @property
    def seed(self) -> int:
        return self.state.seed

    @property
    def day(self) -> int:
        return self.state.day

    def set_day(self, day: int) -> None:
        """Move the clock; every style serves the new day from the next request on."""
        self.state.day = max(0, int(day))

    def set_obstacles(self, on: bool) -> None:
        self.state.obstacles = on

    def orders(self) -> list[dict[str, Any]]:
        """Every order placed on any style, oldest first (copies)."""
        return self.state.list_orders()

    def truth(self, day: int | None = None, platform: str | None = None) -> dict[str, Any]:
        """Same JSON as ``spotcheck sandbox truth``, with absolute URLs of this run."""
        return build_truth(self.state.seed, self.state.listings,
                           self.state.day if day is None else day,
                           platform=platform, base_urls=self.urls)

    @property
    def cpsc_url(self) -> str:
        return f"{self.feeds_url}/RestWebServices/Recall?format=json"

    @property
    def safety_gate_url(self) -> str:
        return f"{self.feeds_url}/safety-gate/alerts.xml"

    @property
    def safety_gate_index_url(self) -> str:
        """Safety Gate's weekly index, as ``spotcheck signals fetch safety-gate`` reads it."""
        return f"{self.feeds_url}/safety-gate-alerts/api/download/weeklyReport/list/xml/en"
