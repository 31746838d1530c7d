"""Console fixtures: a seeded database and the console served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import shutil
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from spotcheck.web.app import create_app
from store.db import Database
from store.settings import Settings
from tests.conftest import free_port
from tests.factory.console import PASSWORD, Seeded, world

#: One TLS context for every test client, made once: httpx loads the CA bundle into a new
#: context for each client (33 ms of CPU), and a test makes a client per login.  These clients
#: speak plain HTTP to 127.0.0.1, so the context is never used; it is the default one.
_TLS = ssl.create_default_context()


class Client(httpx.Client):
    """An httpx client that may be used in ``with`` after its first request."""

    def __enter__(self) -> Client:
        if self.is_closed:
            raise RuntimeError("client closed")
        return self


@dataclass
class Live:
    url: str
    db: Database
    settings: Settings
    data: Seeded
    app: Any

    def client(self, **kwargs: Any) -> Client:
        kwargs.setdefault("verify", _TLS)
        return Client(base_url=self.url, follow_redirects=False, timeout=30, **kwargs)

    def login(self, name: str, password: str = PASSWORD, **kwargs: Any) -> Client:
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


@pytest.fixture(scope="session")
def seeded_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seeded]:
    """The console's test world, written once (argon2 hashes and plan draws take seconds);
    each test gets its own copy of the data folder."""
    home = tmp_path_factory.mktemp("console-template") / "data"
    settings = Settings(home=home)
    settings.ensure_home()
    db = Database.open(settings.database_url, settings=settings)
    data = world(db, settings)
    db.dispose()  # checkpoints the WAL into the database file
    return home, data


@pytest.fixture()
def live(seeded_home: tuple[Path, Seeded], settings: Settings) -> Iterator[Live]:
    """A fresh copy of the seeded console (SQLite), served by uvicorn on 127.0.0.1."""
    template, data = seeded_home
    shutil.copytree(template, settings.home, dirs_exist_ok=True)
    db = Database.open(settings.database_url, settings=settings)
    app = create_app(settings, db)
    for url in serve(app):
        yield Live(url, db, settings, data, app)
    db.dispose()
