"""Shared fixtures: real SQLite, PostgreSQL, Redis and Chromium.

Tests that need a service carry its marker (``postgres``, ``redis``, ``browser``).  Where the
service is missing they skip with the reason, except under ``CI=true``, where a missing service
is a failure: CI must never pass by skipping.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from store import settings as settings_module
from store.db import Database, make_engine
from store.settings import Settings, configure
from tests.serial import SERIAL_MODULES  # the one list (./dev test reads it too)

# Approving a plan starts captures of its listings in Chromium (scheduler.offers); a test
# that approves plans about anything else must not launch browsers outside the browser lock.
# Tests of those captures turn it on in their own Settings.
os.environ.setdefault("SPOTCHECK_CAPTURE_OFFERS", "false")
# Password hashes at argon2's cheapest cost (argon2.profiles.CHEAPEST: 1 pass, 8 KiB, 1 lane):
# at the production cost every login and user made in a test took 0.18 CPU s (43 logins in
# tests/web/test_http.py alone).  tests/web/test_units.py checks the production defaults and
# the re-hash at login when the cost changes.  The environment reaches CLI subprocesses too.
os.environ.setdefault("SPOTCHECK_PASSWORD_HASH_TIME_COST", "1")
os.environ.setdefault("SPOTCHECK_PASSWORD_HASH_MEMORY_KIB", "8")
os.environ.setdefault("SPOTCHECK_PASSWORD_HASH_PARALLELISM", "1")
# Rich sizes tables to the terminal: 80 columns where no terminal is attached (CI), the
# developer's window elsewhere, so a cell wrapped or cut ("达到页数或…") in CI read whole at
# a desk.  One fixed, wide width makes what a test reads the same everywhere.
os.environ["COLUMNS"] = "200"

PG_ADMIN_URL = os.environ.get("SPOTCHECK_TEST_PG", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SPOTCHECK_TEST_REDIS", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

#: Property tests (hypothesis) run a fifth of their examples in the everyday suite and all
#: of them with SPOTCHECK_THOROUGH=1 (before a release, or when a generator changed): each
#: run draws new examples, so the everyday runs still explore over time.
THOROUGH = os.environ.get("SPOTCHECK_THOROUGH", "").lower() in {"1", "true", "yes"}


def examples(n: int) -> int:
    """How many examples a property test with *n* examples in a thorough run gets now."""
    return n if THOROUGH else max(100, n // 5)




#: The longest modules with few tests, longest first, handed out before all others: the last
#: module a worker starts decides when the run ends, so it must be a short one.  (The demo
#: took 224 s in the last CI run; CPU seconds of each module run alone on the loaded machine:
#: redaction 45, replay 38, crawler browser 22, generic browser crawl 13.)  ``./dev test`` passes ``--no-loadscope-reorder``: by default
#: pytest-xdist hands out modules by their number of tests, most first, which put one-test
#: modules last (the demo began when the other worker was nearly done).  The modules not
#: listed follow in that same order (most tests first).  The scheduler's random-moment kills
#: (10-16 s, mostly waiting on its schedulers) come after them: they leave the CPU to the
#: other worker, and a short module is left for the end.
LONGEST_FIRST = ("tests/shell/test_demo.py", "tests/scheduler/test_end_to_end.py",
                 "tests/evidence/test_redact.py", "tests/evidence/test_replay.py",
                 "tests/crawlers/test_browser.py", "tests/crawlers/test_browser_generic.py",
                 "tests/scheduler/test_kill_random.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).resolve().parent.parent

    def rel(item: pytest.Item) -> str:
        try:
            return item.path.resolve().relative_to(root).as_posix()
        except ValueError:
            return ""

    modules = {item: rel(item) for item in items}
    for item, module in modules.items():
        if module in SERIAL_MODULES:
            item.add_marker(pytest.mark.serial)
    counts = Counter(modules.values())

    def order(item: pytest.Item) -> tuple[int, int, str]:
        module = modules[item]
        first = LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)
        return (first, -counts[module], module)

    items.sort(key=order)


def need(condition: bool, reason: str) -> None:
    """Skip when *condition* is false, or fail under CI=true."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class SiteHandler(BaseHTTPRequestHandler):
    """What a test site's handler builds on: :meth:`send` writes one whole response (status,
    type, extra headers, length, body), and the server's line per request is not logged (it
    would be noise in a failing test's output)."""

    def send(self, status: int, body: bytes = b"", ctype: str = "text/html",
             headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def page_handler(html: str) -> type[SiteHandler]:
    """A handler answering every GET with the one page *html* (UTF-8)."""

    class Page(SiteHandler):
        def do_GET(self) -> None:
            self.send(200, html.encode(), "text/html; charset=utf-8")

    return Page


@contextlib.contextmanager
def serve_http(handler: type[BaseHTTPRequestHandler], *, host: str = "127.0.0.1",
               tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """A threaded HTTP server on a free port of *host* answering with *handler*; yields its
    base URL (``http://127.0.0.1:PORT/``) and stops it after.  The one way tests serve HTTP.

    *host* is another loopback address where a test needs two networks (a capture allowed on
    127.0.0.2 only, a listener on 127.0.0.1 it must not reach); with *tls* (a server-side
    context holding the certificate chain) it serves HTTPS and yields an ``https://`` URL.
    Each request has a daemon thread, so a handler that never answers (a page that hangs)
    does not hold the test process at exit."""
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        scheme = "https" if tls is not None else "http"
        yield f"{scheme}://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def copy_home(src: Path, dst: Path, *, skip: tuple[str, ...] = ()) -> None:
    """Copy the data folder *src* into *dst* (which may exist), its SQLite database through
    SQLite's backup API; names matching *skip* are left out.

    Copying a database file that this process holds open (a module's shared ``Database``)
    with plain file reads is not harmless: closing the copy's file descriptors drops every
    POSIX lock this process holds on that file and its ``-shm``.  The next process to open the
    database then believes it is alone, and when it exits it checkpoints and deletes the
    ``-wal`` file; the still-open connections here go on writing into the deleted file, so
    their later commits never reach the database other processes read (SQLite's "How To
    Corrupt", section 2.2).  The backup API reads through SQLite, which keeps those locks.
    """
    import sqlite3

    db_names = ("spotcheck.db", "spotcheck.db-wal", "spotcheck.db-shm", "spotcheck.db-journal")
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*db_names, *skip),
                    dirs_exist_ok=True)
    if (src / "spotcheck.db").exists():
        source = sqlite3.connect(src / "spotcheck.db")
        target = sqlite3.connect(dst / "spotcheck.db")
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _own_cli_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test has its own CLI session file and no password from the environment, so no
    test acts as a user logged in on the developer's machine (or in another test)."""
    monkeypatch.setenv("SPOTCHECK_SESSION_FILE", str(tmp_path / "cli-session.json"))
    monkeypatch.delenv("SPOTCHECK_PASSWORD", raising=False)


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Process settings pointing at a fresh data folder (and a SQLite database in it)."""
    monkeypatch.setenv("SPOTCHECK_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("SPOTCHECK_CONFIG", str(tmp_path / "absent.toml"))
    for var in ("SPOTCHECK_DB", "SPOTCHECK_REDIS_URL", "SPOTCHECK_BROWSER"):
        monkeypatch.delenv(var, raising=False)
    s = configure(home=tmp_path / "data")
    s.ensure_home()
    yield s
    # Read again lazily, by the next test: this teardown runs before monkeypatch restores the
    # environment, so settings made now would keep what this test set (a zone left at
    # 'Mars/Olympus' broke whichever test ran next in the same worker).
    settings_module._settings = None


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite file migrated to head, made once per session (per xdist worker):
    copying it costs milliseconds where running every migration cost 0.5–1 s a test on the
    loaded machine (0.15–0.25 s of CPU, the rest SQLite's fsyncs), and 500 tests open one."""
    path = tmp_path_factory.mktemp("sqlite-template") / "spotcheck.db"
    Database.open(f"sqlite:///{path}").dispose()  # closed: its WAL is checkpointed away
    return path


def sqlite_from(settings: Settings, template: Path) -> Database:
    """The data folder's SQLite database as a copy of *template* (a closed, migrated file),
    opened; Database.open still checks the revision is head and migrates if not."""
    target = settings.home / "spotcheck.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return Database.open(settings.database_url)


@pytest.fixture()
def sqlite_db(settings: Settings, migrated_sqlite: Path) -> Iterator[Database]:
    """A migrated SQLite database in a temporary data folder (a copy of the session's)."""
    db = sqlite_from(settings, migrated_sqlite)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped after the session."""
    need(port_open("127.0.0.1", 5432), "PostgreSQL is not running on 127.0.0.1:5432")
    from sqlalchemy import text

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_ADMIN_URL else "?"
    url = f"{PG_ADMIN_URL}{sep}options=-csearch_path%3D{schema}"
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def empty_pg(db: Database) -> None:
    """DELETE every table (children first) and restart the schema's sequences: the end state
    of TRUNCATE … RESTART IDENTITY CASCADE at a twentieth of its time on these small tables
    (0.06 s against 0.65–1.3 s measured on the loaded machine: TRUNCATE makes new files for
    all 40 tables and their indexes, twice a test)."""
    from sqlalchemy import text

    from store.models import Base

    with db.engine.begin() as conn:
        for t in reversed(Base.metadata.sorted_tables):
            conn.execute(text(f'DELETE FROM "{t.name}"'))
        seqs = conn.execute(text("SELECT sequence_name FROM information_schema.sequences "
                                 "WHERE sequence_schema = current_schema()")).scalars().all()
        for name in seqs:
            conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))


@pytest.fixture()
def pg_db(pg_url: str, settings: Settings) -> Iterator[Database]:
    """A migrated PostgreSQL database (own schema), empty at the start of each test."""
    db = Database.open(pg_url)
    empty_pg(db)  # tests that drive the CLI on pg_url (the demo) leave their data behind
    yield db
    empty_pg(db)
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest) -> Database:
    """The same test on SQLite and on PostgreSQL."""
    name = "sqlite_db" if request.param == "sqlite" else "pg_db"
    db: Database = request.getfixturevalue(name)
    return db


@pytest.fixture()
def redis_client() -> Iterator[Any]:
    """A Redis client; keys live under a unique prefix (``client.prefix``), deleted after."""
    need(port_open("127.0.0.1", 6379), "Redis is not running on 127.0.0.1:6379")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    prefix = f"spotcheck-test:{uuid.uuid4().hex[:8]}:"
    client.prefix = prefix  # type: ignore[attr-defined]
    yield client
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="session")
def chromium_path() -> str | None:
    """The Chromium the project would launch (None: Playwright's own)."""
    from store.errors import SpotcheckError

    try:
        return Settings().chromium_path()
    except SpotcheckError as exc:
        need(False, str(exc))
        return None


@pytest.fixture(scope="module")
def browser(chromium_path: str | None) -> Iterator[Any]:
    """One headless Chromium per test module (sync Playwright API)."""
    from playwright.sync_api import sync_playwright

    from store import chromium

    with sync_playwright() as p:
        b = chromium.launch_sync(p, Settings())
        yield b
        b.close()


@pytest.fixture()
def browser_page(browser: Any) -> Iterator[Any]:
    """A fresh page in its own context, closed (page before context) after the test."""
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    page = context.new_page()
    yield page
    page.close()
    context.close()
