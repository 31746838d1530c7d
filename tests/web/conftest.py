"""Console fixtures: a seeded database and the console served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from spotcheck.web.app import create_app
from store.db import Database
from store.settings import Settings
from tests.conftest import free_port
from tests.web.factory import PASSWORD, Seeded, seed


@dataclass
class Live:
    url: str
    db: Database
    settings: Settings
    data: Seeded
    app: Any

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=False, timeout=30, **kwargs)

    def login(self, name: str, password: str = PASSWORD, **kwargs: Any) -> httpx.Client:
        """An httpx client logged in as *name* (the form's CSRF token read from the page)."""
        client = self.client(**kwargs)
        page = client.get("/login")
        token = csrf_of(page.text)
        r = client.post("/login", data={"name": name, "password": password, "csrf": token,
                                         "next": "/"})
        assert r.status_code == 303, r.text[:500]
        return client


def csrf_of(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]


def serve(app: Any) -> Iterator[str]:
    """Run *app* with uvicorn in a thread on a free loopback port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the console did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture()
def live(sqlite_db: Database, settings: Settings) -> Iterator[Live]:
    """The seeded console on SQLite, served on 127.0.0.1."""
    data = seed(sqlite_db, settings)
    app = create_app(settings, sqlite_db)
    for url in serve(app):
        yield Live(url, sqlite_db, settings, data, app)
