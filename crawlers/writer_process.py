"""The store writer in a process of its own, for long crawls.

A crawl's writer thread shares the crawl's interpreter lock: every statement it prepares
(rows, content hashes, JSON, SQLAlchemy's parameter processing) stops the reactor, and each
socket call the reactor makes hands the lock to the writer for up to a switch interval.  On a
static shop that was a sixth of the crawl's time.  A child process does the same writes on
another core: the crawl only pickles each batch.

The child is the crawl's writer class (a :class:`~crawlers.store_writer.ListingWriter`, passed
by the writer that starts it, so this module does not import it back) writing in the foreground, with
its own connection to the same database; it is started in the background once a crawl has
written a few batches (short crawls never pay for it) and takes over when it is ready.
Failures come back with the batch's future and are raised in the crawl as the writer
thread's are.  A child whose crawl is killed exits within half a second: the writes
are idempotent and each batch is one transaction, so a resumed crawl loses and duplicates
nothing.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from store.settings import Settings

#: How much lower the child's scheduling priority is than the crawl's.
WRITER_NICENESS = 10
#: The child's writer (one per child process).
_writer: Any = None


def _open(crawl: int, writer_class: Any, owner: Any, url: str, settings: Settings,
          platform_code: str, run_id: int, batch_size: int) -> None:
    global _writer
    # Batches wait in a queue; pages wait for nothing the writer does.  On a machine with
    # as many busy processes as cores, the crawl's thread is what the crawl waits for.
    with contextlib.suppress(OSError):
        os.nice(WRITER_NICENESS)
    threading.Thread(target=_exit_with_parent, args=(crawl,), daemon=True).start()
    from store.db import Database

    db = Database.open(url, migrate=False, settings=settings)
    _writer = writer_class(db, platform_code, run_id, settings, batch_size, background=False,
                           owner=owner)


def _exit_with_parent(parent: int) -> None:
    """A pool worker holds both ends of its own task queue, so it never sees its crawl die:
    when the crawl is killed (this process is re-parented), exit; a batch being written is
    rolled back by the database, and the resumed crawl fetches those listings again."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _ready() -> bool:
    return _writer is not None


def _write(batch: Any) -> None:
    _writer._write(batch)


class WriterProcess:
    """One child process writing batches in order, at most *depth* outstanding."""

    def __init__(self, writer_class: type, owner: Any, url: str, settings: Settings,
                 platform_code: str, run_id: int, batch_size: int, depth: int = 2) -> None:
        """*writer_class* is pickled by name and instantiated in the child, which writes
        under the parent's hold on the run (*owner*: the same lease, fenced per batch)."""
        self.depth = depth
        self.pool = ProcessPoolExecutor(
            1, mp_context=multiprocessing.get_context("spawn"), initializer=_open,
            initargs=(os.getpid(), writer_class, owner, url, settings, platform_code, run_id,
                      batch_size))
        self._started: Future[bool] = self.pool.submit(_ready)
        #: Batches sent and not yet known to be written, with their counters.
        self.pending: deque[tuple[Future[None], Any]] = deque()

    @property
    def ready(self) -> bool:
        """Started and able to write (a child that failed to start is never ready)."""
        return self._started.done() and self._started.exception() is None

    def wait_started(self, timeout: float = 60.0) -> None:
        """Wait until the child has started (or failed to)."""
        with contextlib.suppress(Exception):
            self._started.result(timeout)

    @property
    def failed_to_start(self) -> BaseException | None:
        return self._started.exception() if self._started.done() else None

    def submit(self, batch: tuple[Any, Any, Any]) -> list[tuple[BaseException, Any]]:
        """Send *batch*; waits while *depth* batches are outstanding.  Returns the failures
        of batches found finished, each with that batch's counters."""
        failures = self.collect(self.depth - 1)
        self.pending.append((self.pool.submit(_write, batch), batch[2]))
        return failures

    def collect(self, keep: int = 0) -> list[tuple[BaseException, Any]]:
        """Wait until at most *keep* batches are outstanding; the failures met meanwhile."""
        failures: list[tuple[BaseException, Any]] = []
        while self.pending and (len(self.pending) > keep or self.pending[0][0].done()):
            future, counters = self.pending.popleft()
            exc = future.exception()
            if exc is not None:
                failures.append((exc, counters))
        return failures

    def close(self) -> None:
        """Stop the child once every batch it was sent is written.

        Waits for the batches, not for the child's exit: an interpreter with SQLAlchemy and
        a database connection takes ~0.3 s to finalise, which would otherwise be added to
        every crawl's duration.  The executor still reaps the child (at the latest when this
        process exits).
        """
        for future, _ in self.pending:
            with contextlib.suppress(Exception):
                future.result()
        self.pool.shutdown(wait=False, cancel_futures=False)
