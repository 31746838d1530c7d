"""Extraction workers: child processes that parse pages and answer a spider's questions.

A crawl's reactor runs on one core; parsing HTML and evaluating field rules is most of its CPU
on a static shop.  Workers take that to the other cores: the crawl sends a page (URL, content
type, body) with the *plan* of ops the spider will ask of it (:mod:`crawlers.extract.page`),
a worker answers every op, and the spider reads the answers instead of parsing.

The protocol is length-prefixed pickles over the child's stdin/stdout (both ends are this
program; nothing from outside is unpickled).  Plans are sent once per worker and then named by
number.  A worker that dies, or a page it cannot answer, costs nothing but speed: the spider
parses that page itself, exactly as it would without workers.  A worker exits when its stdin
closes, so a crawl killed with SIGKILL leaves none behind.

Run as ``python -m crawlers.extract.workers`` (by :class:`ExtractionWorkers` only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import struct
import subprocess
import sys
import threading
from typing import Any, BinaryIO

from scrapy.http import TextResponse

from crawlers.extract.page import Op, Plan, answer

log = logging.getLogger(__name__)

_HEAD = struct.Struct(">I")
_PROTOCOL = pickle.HIGHEST_PROTOCOL


class WorkerLost(RuntimeError):
    """The worker process ended (killed, crashed) with pages outstanding."""


# -- the child ------------------------------------------------------------------------------

def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """Answer pages until stdin closes."""
    plans: dict[int, Plan] = {}
    ready = pickle.dumps("ready", protocol=_PROTOCOL)
    stdout.write(_HEAD.pack(len(ready)) + ready)
    stdout.flush()
    while True:
        head = stdin.read(_HEAD.size)
        if len(head) < _HEAD.size:
            return
        (size,) = _HEAD.unpack(head)
        message = pickle.loads(stdin.read(size))
        if message[0] == "plan":
            plans[message[1]] = message[2]
            continue
        _, request_id, plan_id, cls, url, content_type, encoding, body, context = message
        try:
            headers = {"Content-Type": content_type} if content_type else None
            # The encoding the page declares, as the crawl found it (BOM, headers, then the
            # page's own <meta>): the same answer, without looking again.  (An encoding
            # Scrapy inferred from the bytes is not passed: given explicitly, it decodes
            # differently — "ascii" becomes cp1252.)
            response = cls(url=url, body=body, headers=headers, encoding=encoding)
            # The answers in the plan's order: the parent knows the ops (unpickling them
            # again, a listing recipe among them, cost the crawl's thread more than the page).
            result: tuple[bool, Any] = (True, tuple(
                answer(response, op, context) for op in plans[plan_id]))
        except Exception as exc:  # the spider parses the page itself and meets it there
            result = (False, f"{type(exc).__name__}: {exc}"[:500])
        data = pickle.dumps((request_id, result), protocol=_PROTOCOL)
        stdout.write(_HEAD.pack(len(data)) + data)
        stdout.flush()


# -- the parent -----------------------------------------------------------------------------

class _Worker:
    """One child process, read and written without blocking from the crawl's event loop
    (``add_reader`` on its stdout: no reader task, no thread)."""

    def __init__(self, proc: subprocess.Popen[bytes], owner: ExtractionWorkers) -> None:
        self.proc = proc
        self.owner = owner
        self.pending: dict[int, asyncio.Future[tuple[bool, Any]]] = {}
        self.plans: set[int] = set()
        self.alive = True
        self.ready = False
        self._in = bytearray()
        self._out = bytearray()
        assert proc.stdin is not None and proc.stdout is not None
        self.wfd, self.rfd = proc.stdin.fileno(), proc.stdout.fileno()
        os.set_blocking(self.wfd, False)
        os.set_blocking(self.rfd, False)
        self.loop = asyncio.get_running_loop()
        #: Done when the worker has said it is ready, or has ended.
        self.started: asyncio.Future[None] = self.loop.create_future()
        self.loop.add_reader(self.rfd, self._readable)

    def send(self, message: tuple[Any, ...]) -> None:
        data = pickle.dumps(message, protocol=_PROTOCOL)
        frame = _HEAD.pack(len(data)) + data
        if self._out:
            self._out += frame
            return
        try:
            written = os.write(self.wfd, frame)
        except BlockingIOError:
            written = 0
        if written < len(frame):
            self._out += frame[written:]
            self.loop.add_writer(self.wfd, self._writable)

    def _writable(self) -> None:
        try:
            written = os.write(self.wfd, self._out)
        except BlockingIOError:
            return
        except OSError as exc:
            self.end(exc)
            return
        del self._out[:written]
        if not self._out:
            self.loop.remove_writer(self.wfd)

    def _readable(self) -> None:
        try:
            chunk = os.read(self.rfd, 1 << 20)
        except BlockingIOError:
            return
        except OSError as exc:
            self.end(exc)
            return
        if not chunk:
            self.end(EOFError("extraction worker closed its output"))
            return
        buf = self._in
        buf += chunk
        offset = 0
        while len(buf) - offset >= _HEAD.size:
            (size,) = _HEAD.unpack_from(buf, offset)
            if len(buf) - offset - _HEAD.size < size:
                break
            start = offset + _HEAD.size
            message = pickle.loads(buf[start:start + size])
            offset = start + size
            if message == "ready":
                self.ready = True
                if not self.started.done():
                    self.started.set_result(None)
                continue
            request_id, result = message
            future = self.pending.pop(request_id, None)
            if future is not None and not future.done():
                future.set_result(result)
        del buf[:offset]

    def end(self, reason: BaseException) -> None:
        if not self.alive:
            return
        self.alive = False
        if not self.started.done():
            self.started.set_result(None)
        self.loop.remove_reader(self.rfd)
        self.loop.remove_writer(self.wfd)
        if self.pending:
            self.owner.lost += 1
            log.warning("an extraction worker ended with %d pages outstanding (%s); the "
                        "crawl parses them itself", len(self.pending), reason)
        for future in self.pending.values():
            if not future.done():
                future.set_exception(WorkerLost(str(reason)))
        self.pending.clear()


class ExtractionWorkers:
    """A few worker processes, started on first use, shared by one crawl."""

    def __init__(self, count: int) -> None:
        self.count = max(1, count)
        self._workers: list[_Worker] = []
        #: Plan ids by the plan's identity (a spider's plans are made once; hashing one
        #: hashes every rule in it), with the plan itself, so that its id is not reused.
        self._plan_ids: dict[int, tuple[int, Plan]] = {}
        self._next_id = 0
        self.lost = 0

    @property
    def running(self) -> int:
        return sum(1 for w in self._workers if w.alive)

    def start(self) -> None:
        """Start the workers; they say when they are ready, and the crawl goes on meanwhile."""
        if self._workers:
            return
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        for _ in range(self.count):
            proc = subprocess.Popen([sys.executable, "-m", "crawlers.extract.workers"],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
            self._workers.append(_Worker(proc, self))

    @property
    def ready(self) -> bool:
        return any(w.ready and w.alive for w in self._workers)

    async def wait_ready(self, timeout: float = 30.0) -> bool:
        """Wait until a worker is ready (or all have ended); whether one is."""
        self.start()
        if not self.ready:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait([w.started for w in self._workers], timeout=timeout,
                                   return_when=asyncio.FIRST_COMPLETED)
        return self.ready

    async def ask(self, plan: Plan, response: TextResponse,
                  context: dict[str, Any] | None = None) -> dict[Op, Any] | None:
        """The answers to *plan* for *response*, or None (ask the page yourself): also while
        the workers are still starting, rather than keep the page waiting."""
        self.start()
        alive = [w for w in self._workers if w.alive and w.ready]
        if not alive:
            return None
        worker = min(alive, key=lambda w: len(w.pending))
        known = self._plan_ids.get(id(plan))
        if known is None:
            known = self._plan_ids[id(plan)] = (len(self._plan_ids), plan)
        plan_id = known[0]
        self._next_id += 1
        request_id = self._next_id
        future: asyncio.Future[tuple[bool, Any]] = worker.loop.create_future()
        try:
            if plan_id not in worker.plans:
                worker.plans.add(plan_id)
                worker.send(("plan", plan_id, plan))
            worker.send(("page", request_id, plan_id, type(response), response.url,
                         response.headers.get("Content-Type"), _declared_encoding(response),
                         response.body, context))
        except OSError as exc:
            worker.end(exc)
            return None
        worker.pending[request_id] = future
        try:
            ok, result = await future
        except WorkerLost:
            return None
        return dict(zip(plan, result, strict=True)) if ok else None

    async def close(self, timeout: float = 5.0) -> None:
        """Stop the workers: close their stdin, and reap them in the background.

        A worker exits when its stdin closes; its interpreter takes ~0.2 s to finalise, which
        the crawl need not wait for.  A daemon thread waits for each one, kills it if it has
        not exited after *timeout* seconds, and closes its pipe.
        """
        for worker in self._workers:
            worker.end(EOFError("crawl finished"))
            with contextlib.suppress(OSError):
                assert worker.proc.stdin is not None
                worker.proc.stdin.close()
            threading.Thread(target=_reap, args=(worker.proc, timeout), daemon=True,
                             name="extract-worker-reaper").start()
        self._workers.clear()


def _declared_encoding(response: TextResponse) -> str | None:
    declared = getattr(response, "_declared_encoding", None)
    return declared() if declared is not None else None


def _reap(proc: subprocess.Popen[bytes], timeout: float) -> None:
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        with contextlib.suppress(OSError):
            proc.stdout.close()


def default_worker_count() -> int:
    """One worker per core beyond the crawl's own, at most two: the reactor and the
    pipelines keep one core busy, and more workers than cores only take turns."""
    return max(0, min(2, (os.cpu_count() or 1) - 1))


if __name__ == "__main__":
    import time as _t
    serve(sys.stdin.buffer, sys.stdout.buffer)
    if os.environ.get("SPOTCHECK_WORKER_CPU"):
        print("worker cpu", _t.process_time(), file=sys.stderr)
