"""Leases: one holder at a time for a named thing (the scheduler, a crawl run), kept by renewing.

A lease is a row of ``scheduler_lease`` (name, holder, expiry).  The scheduler holds
``scheduler`` (one active scheduler per database); a crawl holds ``crawl:<job key>`` while it
writes a crawl run, so a resumed run is taken over, never joined by a second crawl.

Portable across SQLite and PostgreSQL because it only uses single-statement compare-and-set:
``UPDATE … WHERE holder = me OR expires_at < now`` takes an expired lease, ``INSERT`` takes a
lease that never existed (the primary key makes a second insert fail), and renewals are
``UPDATE … WHERE holder = me``.  A scheduler killed with SIGKILL stops renewing; another may
take over once the lease expires, or at once when the holder was a process on this host that
no longer exists (so a restart after a kill does not wait out the lease).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.exc import IntegrityError

from store.db import Database
from store.errors import Conflict
from store.models import SchedulerLease, utcnow

__all__ = ["LEASE_NAME", "Lease", "holder_is_dead", "make_holder"]

log = logging.getLogger("spotcheck.store.leases")
LEASES = cast(Table, SchedulerLease.__table__)
#: The one lease row per database.
LEASE_NAME = "scheduler"


def make_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_is_dead(holder: str) -> bool:
    """True only when *holder* was a process on this host that is gone."""
    try:
        host, pid, _ = holder.rsplit(":", 2)
        return host == socket.gethostname() and not _pid_alive(int(pid))
    except ValueError:
        return False


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Lease:
    """The lease *name* in *db*, held as *holder*."""

    def __init__(self, db: Database, *, ttl: float = 30.0, name: str = LEASE_NAME,
                 holder: str | None = None) -> None:
        self.db = db
        self.ttl = ttl
        self.name = name
        self.holder = holder or make_holder()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _values(self, now: dt.datetime) -> dict[str, Any]:
        return {"holder": self.holder, "heartbeat_at": now,
                "expires_at": now + dt.timedelta(seconds=self.ttl)}

    def acquire(self) -> None:
        """Take the lease or raise :class:`Conflict` naming who holds it until when."""
        now = utcnow()
        t = LEASES
        with self.db.engine.begin() as conn:
            taken = conn.execute(
                update(t).where(t.c.name == self.name,
                                (t.c.holder == self.holder) | (t.c.expires_at < now))
                .values(acquired_at=now, info=self._info(), **self._values(now))).rowcount
        if taken:
            log.info("lease %s taken over (expired) by %s", self.name, self.holder)
            return
        try:
            with self.db.engine.begin() as conn:
                conn.execute(insert(t).values(name=self.name, acquired_at=now, info=self._info(),
                                              **self._values(now)))
            log.info("lease %s acquired by %s", self.name, self.holder)
            return
        except IntegrityError:
            pass
        with self.db.engine.connect() as conn:
            row = conn.execute(select(t.c.holder, t.c.expires_at).where(t.c.name == self.name)
                               ).one()
        if holder_is_dead(row.holder):
            with self.db.engine.begin() as conn:
                taken = conn.execute(
                    update(t).where(t.c.name == self.name, t.c.holder == row.holder)
                    .values(acquired_at=now, info=self._info(), **self._values(now))).rowcount
            if taken:
                log.warning("lease %s taken from %s, a process that no longer exists",
                            self.name, row.holder)
                return
        until = f"{_aware(row.expires_at):%Y-%m-%d %H:%M:%S} UTC"
        if self.name == LEASE_NAME:
            raise Conflict("leases.another_scheduler_running_database_lease",
                           row_holder=row.holder, until=until)
        raise Conflict("leases.held_until", self_name=self.name, row_holder=row.holder,
                       until=until)

    def wait_acquire(self, timeout: float, poll: float = 0.2) -> None:
        """:meth:`acquire`, retried until *timeout* seconds have passed (a holder that died
        on another host frees the lease when it expires)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.acquire()
                return
            except Conflict:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(poll)

    def _info(self) -> dict[str, Any]:
        return {"host": socket.gethostname(), "pid": os.getpid()}

    def renew(self) -> bool:
        """Extend the lease; False when it was lost (expired and taken by another)."""
        now = utcnow()
        t = LEASES
        with self.db.engine.begin() as conn:
            n = conn.execute(update(t).where(t.c.name == self.name, t.c.holder == self.holder)
                             .values(**self._values(now))).rowcount
        return bool(n)

    def held(self) -> bool:
        """Whether we still hold an unexpired lease (checked before each job: fencing)."""
        t = LEASES
        with self.db.engine.connect() as conn:
            row = conn.execute(select(t.c.holder, t.c.expires_at)
                               .where(t.c.name == self.name)).first()
        return bool(row and row.holder == self.holder and _aware(row.expires_at) > utcnow())

    def release(self) -> None:
        self.stop_heartbeat()
        t = LEASES
        with self.db.engine.begin() as conn:
            conn.execute(update(t).where(t.c.name == self.name, t.c.holder == self.holder)
                         .values(expires_at=utcnow() - dt.timedelta(seconds=1)))

    def start_heartbeat(self, on_lost: Callable[[], None]) -> None:
        """Renew every third of the lease in a thread; call *on_lost* if it is lost."""

        def beat() -> None:
            while not self._stop.wait(self.ttl / 3):
                try:
                    ok = self.renew()
                except Exception:  # a database hiccup: try again next beat
                    log.exception("lease %s renewal failed", self.name)
                    continue
                if not ok:
                    log.error("lease %s lost: stopping", self.name)
                    on_lost()
                    return

        self._thread = threading.Thread(target=beat, name="lease-heartbeat", daemon=True)
        self._thread.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
