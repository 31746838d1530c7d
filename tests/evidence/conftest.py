"""Fixtures for evidence tests: a real local TSA (openssl ts), the test shop, captures."""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidence.localtsa import LocalTSA
from store.db import Database
from store.settings import Settings
from tests.conftest import copy_home, need
from tests.evidence.site import Shop


class Listener:
    """A TCP listener on 127.0.0.1 that counts what connects: the proof that a refused
    address was never reached (by a capture's page, or through the recording proxy)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=50)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A :class:`Listener` for one test (it must stay at 0 connections)."""
    found = Listener()
    yield found
    found.close()


@pytest.fixture(scope="session")
def local_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTSA]:
    need(shutil.which("openssl") is not None, "openssl is not installed")
    tsa = LocalTSA(tmp_path_factory.mktemp("tsa"))
    tsa.start()
    yield tsa
    tsa.stop()


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    s = Shop()
    s.start()
    yield s
    s.stop()


TEST_BUDGETS = {"open": 30.0, "dismiss_overlays": 20.0, "scroll": 15.0, "dom": 15.0,
                "screenshots": 30.0, "pdf": 30.0}


def evidence_settings(home: Path, tsa: LocalTSA, **extra: Any) -> Settings:
    # generous budgets: on a loaded test machine a normal page must not come out partial
    # (the budgets themselves are tested with tight ones in test_capture_network.py)
    extra.setdefault("capture_step_timeouts", dict(TEST_BUDGETS))
    # these tests check the printed PDF too (a capture prints one only when asked)
    extra.setdefault("capture_pdf", True)
    s = Settings(home=home, db="", capture_allow_networks=["127.0.0.0/8"],
                 tsa_urls=[tsa.url], trusted_tsa_cas=[str(tsa.ca_file)],
                 capture_timeout=60.0, **extra)
    s.ensure_home()
    return s


@pytest.fixture(scope="session")
def _captured_once(tmp_path_factory: pytest.TempPathFactory, local_tsa: LocalTSA,
                   chromium_path: str | None) -> Iterator[dict[str, Any]]:
    """The batch of captures behind :func:`captured`, made once per test process (a
    Chromium and five captures, which four modules each made again before)."""
    from evidence.capture import capture_urls

    shop = Shop()
    shop.start()
    home = tmp_path_factory.mktemp("evhome-once")
    settings = evidence_settings(home, local_tsa)
    db = Database.open(settings.database_url, settings=settings)
    urls = {"item": f"{shop.url}/item/1", "redirect": f"{shop.url}/go",
            "hostile": f"{shop.url}/hostile", "offsite": f"{shop.url}/offsite",
            "file": "file:///etc/passwd"}
    try:
        ids = capture_urls(db, list(urls.values()), operator="调查员甲", purpose="测试取证",
                           settings=settings)
    finally:
        db.dispose()
    yield {"home": home, "ids": dict(zip(urls, ids, strict=True)), "shop": shop}
    shop.stop()


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory, local_tsa: LocalTSA,
             _captured_once: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One batch of captures of the shop (good, redirected, hostile, refused): each module
    gets its own copy of the data folder (database, artifacts, keys), so what a module adds
    or changes is not seen by the next one."""
    home = tmp_path_factory.mktemp("evhome")
    copy_home(_captured_once["home"], home)
    settings = evidence_settings(home, local_tsa)
    db = Database.open(settings.database_url, settings=settings)
    yield {"db": db, "settings": settings, "ids": dict(_captured_once["ids"]),
           "shop": _captured_once["shop"], "home": home}
    db.dispose()
