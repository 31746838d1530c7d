"""The evidence package's own small HTTP endpoints on 127.0.0.1, served one way.

Two parts of a pack's making talk HTTP to this process: the local RFC 3161 time-stamp authority
(:mod:`evidence.localtsa`, for installations without a TSA of their own) and the
authsign-compatible signing endpoint that ``wacz create --signing-url`` calls
(:mod:`evidence.waczsign`).  Both want the same things: a free port on the loopback interface
only, a server thread that does not keep the process alive, a whole response written at once,
and no request line on stderr (a CLI's output is read by people and scripts).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Endpoint", "serve"]


class Endpoint(BaseHTTPRequestHandler):
    """A handler of one of these endpoints: :meth:`reply` answers 200 with a body, and the
    server's per-request log line is not written."""

    def reply(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(handler: type[Endpoint], name: str) -> Iterator[str]:
    """Serve *handler* on a free port of 127.0.0.1 in a daemon thread called *name*; yields
    ``http://127.0.0.1:PORT`` and stops the server after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True, name=name)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
