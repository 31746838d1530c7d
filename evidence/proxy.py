"""The capture's network recorder: one warcprox recording proxy per capture.

The capture browser reaches the network only through this proxy (Chromium's per-context
proxy, loopback included, WebRTC's UDP off), so the proxy sees every hop: redirects,
subresources, workers, prefetches.  It is the Internet Archive's ``warcprox`` (a man in the
middle for HTTPS with its own CA, whose key the capture browser is told to accept, recording
the bytes as they come off the wire) with one change made here: before it connects, every
request asks the capture's :class:`~evidence.netguard.AddressPolicy`, which resolves the host
once and answers the address to use; the proxy then connects to that address only (no second
lookup, so DNS rebinding cannot move it), verifies the server's certificate itself (or its
pinned key) and notes the chain once per origin.  A refused request is answered ``403`` by the
proxy and listed; nothing is sent to the refused address.

Each capture gets its own proxy server (a port, a thread pool, a connection pool, a DNS cache,
a failed-host cache), so a page that floods or loops cannot slow or fail its neighbours, and
what it recorded is its own.  A URL failing ``repeat_limit`` times (an image a page
re-requests forever) is then answered at once and only counted.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import logging
import os
import socket
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import warcprox
import warcprox.mitmproxy
import warcprox.warcproxy
from warcprox.certauth import CertificateAuthority

from evidence.netguard import AddressPolicy
from evidence.tlsfacts import CertificateRefused, origin_facts, spki_sha256, wrap_verified
from evidence.warc import WireExchange

log = logging.getLogger(__name__)
for _name in ("warcprox", "urllib3.connectionpool"):  # warcprox logs every refusal as ERROR
    logging.getLogger(_name).setLevel(logging.CRITICAL)

MAX_LISTED = 500


@dataclass
class CaptureNet:
    """Everything one capture's proxy decided and recorded (shared with its threads)."""

    policy: AddressPolicy
    max_resources: int
    max_bytes: int
    repeat_limit: int = 3
    trusted_spki: list[str] = field(default_factory=list)
    timeout: float = 15.0
    exchanges: list[WireExchange] = field(default_factory=list)
    blocked: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    tls: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    bytes: int = 0
    over_limit: str | None = None
    over_bytes: bool = False
    failures: collections.Counter[str] = field(default_factory=collections.Counter)
    repeats_stopped: collections.Counter[str] = field(default_factory=collections.Counter)
    in_flight: dict[int, str] = field(default_factory=dict)
    #: ``time.monotonic()`` of the last request the proxy took on (not answered as stopped)
    #: and of the last one it answered as stopped: a page whose only traffic is stopped
    #: URLs is looping on them (``looping``).
    last_request: float = 0.0
    last_stopped: float = 0.0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self._origin_locks: dict[str, threading.Lock] = {}

    # -- decisions -----------------------------------------------------------------------

    def block(self, url: str, reason: str) -> None:
        with self.lock:
            if len(self.blocked) < MAX_LISTED:
                self.blocked.append({"url": url[:500], "reason": reason[:300]})

    def fail(self, url: str, error: str) -> None:
        with self.lock:
            self.failures[url] += 1
            if len(self.failed) < MAX_LISTED:
                self.failed.append({"url": url[:500], "error": error[:200]})

    def stopped(self, url: str) -> bool:
        """Whether *url* failed often enough to be answered without a connection."""
        with self.lock:
            if self.failures[url] >= self.repeat_limit:
                self.repeats_stopped[url] += 1
                self.last_stopped = time.monotonic()
                return True
            self.last_request = time.monotonic()
            return False

    def looping(self, quiet: float) -> bool:
        """Whether, for the last *quiet* seconds, the page has asked only for URLs the
        proxy stopped answering (and is still asking), with nothing else in flight."""
        now = time.monotonic()
        with self.lock:
            return (bool(self.repeats_stopped) and now - self.last_request >= quiet
                    and now - self.last_stopped < quiet
                    and all(u in self.repeats_stopped for u in self.in_flight.values()))

    def admit(self, url: str, host: str, port: int) -> tuple[str | None, str | None]:
        """(pinned address, None) for a request that may go out, else (None, reason)."""
        with self.lock:
            if self.over_bytes:
                return None, "byte limit reached"
            if self.requests >= self.max_resources:
                self.over_limit = self.over_limit or f"more than {self.max_resources} resources"
                return None, "resource limit reached"
            self.requests += 1
        ip, why = self.policy.pin(host, port)
        if why:
            with self.lock:
                self.requests -= 1
        return ip, why

    def record(self, ex: WireExchange) -> None:
        with self.lock:
            body = len(ex.response) - ex.payload_offset
            if self.bytes + body > self.max_bytes:
                self.over_limit = self.over_limit or f"more than {self.max_bytes} bytes"
                ex.response, ex.truncated = ex.response[:ex.payload_offset], "length"
                self.over_bytes = True
            else:
                self.bytes += body
            self.exchanges.append(ex)

    def origin_lock(self, origin: str) -> threading.Lock:
        with self.lock:
            return self._origin_locks.setdefault(origin, threading.Lock())


#: The CA each :class:`ProxyCA` loaded, by its file.  warcprox's proxy server builds a
#: CertificateAuthority of its own in its constructor (reading the CA file and checking its
#: RSA key: 38 ms of CPU a proxy, against 0.6 ms now, loaded), which :class:`_Server` then
#: replaced with the shared one; the constructor is handed the loaded one instead
#: (:func:`_loaded_ca`, installed as warcprox's ``CertificateAuthority``).
_LOADED: dict[str, CertificateAuthority] = {}


def _loaded_ca(ca_file: str, certs_dir: str, ca_name: str, **kwargs: Any
               ) -> CertificateAuthority:
    """The CA loaded from *ca_file* already, else a new one (warcprox's own behaviour)."""
    loaded = _LOADED.get(ca_file)
    if loaded is not None:
        return loaded
    return CertificateAuthority(ca_file=ca_file, certs_dir=certs_dir, ca_name=ca_name,
                                **kwargs)


warcprox.mitmproxy.CertificateAuthority = _loaded_ca


class ProxyCA:
    """The recording proxies' certificate authority (one key for every host certificate,
    which is what the capture browser pins), kept in the installation's keys folder."""

    def __init__(self, keys_dir: Path) -> None:
        keys_dir.mkdir(parents=True, exist_ok=True)
        self.path = keys_dir / "capture-proxy-ca.pem"
        self.certs_dir = Path(tempfile.mkdtemp(prefix="spotcheck-proxy-certs-"))
        old = os.umask(0o077)
        try:
            self.ca = CertificateAuthority(ca_file=str(self.path), certs_dir=str(self.certs_dir),
                                           ca_name="spotcheck capture proxy CA")
        finally:
            os.umask(old)
        _LOADED[str(self.path)] = self.ca
        from cryptography.hazmat.primitives import serialization

        self.spki = spki_sha256(self.ca.cert.public_bytes(serialization.Encoding.DER))
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def server_context(self, hostname: str) -> ssl.SSLContext:
        """The TLS context the proxy shows the browser for *hostname*, made once per host
        certificate and shared by every capture's proxy: warcprox built one per CONNECT (the
        key read and parsed each time), and a shared context lets Chromium resume its TLS
        sessions instead of a full handshake for every tunnel."""
        certfile = self.ca.get_wildcard_cert(hostname)
        with self._lock:
            ctx = self._contexts.get(certfile)
            if ctx is None:
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.load_cert_chain(certfile)
                self._contexts[certfile] = ctx
            return ctx


class _Sink:
    """warcprox hands every recorded URL to a queue for its WARC writer; ours records them
    in the handler already (see ``_Handler._proxy_request``), so the queue drops them."""

    maxsize = 0

    def put(self, item: Any, *a: Any, **kw: Any) -> None:
        return None

    def qsize(self) -> int:
        return 0


class _Handler(warcprox.warcproxy.WarcProxyHandler):
    allow_localhost = True  # the capture's policy decides, with the settings' allow rules

    @property
    def net(self) -> CaptureNet:
        return self.server.net

    # warcprox's own control requests are not for pages to send
    def do_GET(self) -> None:
        self.do_COMMAND()

    def do_WARCPROX_WRITE_RECORD(self, warc_type: Any = None) -> None:
        self.do_COMMAND()

    def do_PUTMETA(self) -> None:
        self.do_COMMAND()

    def _refuse(self, url: str, reason: str, *, count: bool = True) -> None:
        self.net.block(url, reason)
        if count:
            self.net.fail(url, f"refused: {reason}")
        self._deny("refused by spotcheck's capture proxy")
        raise warcprox.RequestBlockedByRule(reason)

    def _deny(self, text: str) -> None:
        """Answer 403 without a connection upstream.  Inside a CONNECT tunnel the tunnel is
        kept open for the browser's next request (a bodiless one; ``Connection: close``
        otherwise): warcprox closed it after every refusal, so a page whose images all sit
        on refused hosts cost a CONNECT and two TLS handshakes (browser and proxy) per image.
        Every request on a kept tunnel is checked again like the first."""
        body = f"{text}\n".encode()
        keep = (self.is_connect and self.request_version == "HTTP/1.1"
                and self.headers.get("Content-Length", "0") == "0"
                and not self.headers.get("Transfer-Encoding")
                and self.headers.get("Connection", "").lower() != "close")
        head = ("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\n"
                f"Connection: {'keep-alive' if keep else 'close'}\r\n\r\n").encode()
        try:
            self.wfile.write(head if self.command == "HEAD" else head + body)
            self.wfile.flush()
        except OSError:
            keep = False
        self.close_connection = not keep

    def do_COMMAND(self) -> None:
        try:
            url = self._construct_tunneled_url() if self.is_connect else self.path
        except Exception:
            url = self.path
        key = threading.get_ident()
        with self.net.lock:
            self.net.in_flight[key] = url
        try:
            if self.net.stopped(url):
                self._deny("stopped: this URL kept failing")
                return
            super().do_COMMAND()
        finally:
            with self.net.lock:
                self.net.in_flight.pop(key, None)

    def _transition_to_ssl(self) -> None:
        ctx = self.server.proxy_ca.server_context(self.hostname)
        plain: socket.socket = self.connection  # type: ignore[has-type]
        self.request = self.connection = ctx.wrap_socket(plain, server_side=True)

    def _connect_to_remote_server(self) -> Any:
        del self.headers["Warcprox-Meta"]  # a page must not steer the proxy
        url, host, port = self.url, self.hostname, int(self.port)
        ip, why = self.net.admit(url, host, port)
        if why or ip is None:
            self._refuse(url, why or "refused")
        assert ip is not None
        self._conn_pool = self.server.remote_connection_pool.connection_from_host(
            host=host, port=port, scheme="http",
            pool_kwargs={"maxsize": 6, "timeout": self._socket_timeout})
        conn = self._conn_pool._get_conn()
        self._remote_server_conn = conn
        if warcprox.mitmproxy.is_connection_dropped(conn):
            try:
                sock: Any = socket.create_connection((ip, port), timeout=self._socket_timeout)
                if self.is_connect:
                    sock = self._tls(sock, host, ip, port)
            except CertificateRefused as exc:
                self._refuse(url, str(exc))
            except OSError as exc:
                self.net.fail(url, f"{type(exc).__name__}: {exc}")
                raise
            conn.sock = sock
        return conn.sock

    def _tls(self, sock: socket.socket, host: str, ip: str, port: int) -> Any:
        net = self.net
        tls, how = wrap_verified(sock, host, ip, port, net.trusted_spki, net.timeout)
        origin = f"{host}:{port}"
        with net.origin_lock(origin):
            if origin not in net.tls:
                net.tls[origin] = origin_facts(tls, how, ip, port, host, min(net.timeout, 10))
        return tls

    def _proxy_request(self) -> Any:
        try:
            rec = super()._proxy_request()
        except warcprox.RequestBlockedByRule:
            raise
        except Exception as exc:
            self.net.fail(self.url, f"{type(exc).__name__}: {str(exc)[:150]}")
            raise
        recorder = rec.response_recorder
        recorder.tempfile.seek(0)
        raw = recorder.tempfile.read()
        request = rec.request_data if isinstance(rec.request_data, bytes) else b""
        ip = rec.remote_ip.decode("ascii") if isinstance(rec.remote_ip, bytes) else rec.remote_ip
        self.net.record(WireExchange(
            url=self.url, method=self.command, request=request, response=raw,
            payload_offset=recorder.payload_offset or len(raw), status=int(rec.status),
            at=rec.timestamp, server_ip=ip,
            truncated=rec.truncated.decode() if isinstance(rec.truncated, bytes) else None))
        if int(rec.status) >= 400:
            self.net.fail(self.url, f"HTTP {rec.status}")
        return rec


class _Server(warcprox.warcproxy.WarcProxy):
    def __init__(self, options: Any, net: CaptureNet, ca: ProxyCA) -> None:
        warcprox.mitmproxy.PooledMitmProxy.__init__(self, options)
        warcprox.mitmproxy.SingleThreadedMitmProxy.__init__(self, _Handler, options)
        self.ca = ca.ca  # one CA object (one lock) for every capture's proxy
        self.proxy_ca = ca
        self.net = net
        self.stats_db = None
        self.status_callback = None
        self.recorded_url_q = _Sink()
        self.running_stats = warcprox.stats.RunningStats()
        self.start_time = dt.datetime.now(dt.UTC)


class RecordingProxy:
    """One capture's proxy: ``start()`` → its port; ``stop()`` aborts what is in flight.

    warcprox serves each browser connection on a thread of a fixed pool and stops accepting
    while every thread is busy.  A tunnel kept open after a refusal holds its thread while
    the browser keeps it idle, so the pool is larger than the most connections Chromium opens
    to one proxy (32): a page's idle tunnels can never stall its next request.
    """

    def __init__(self, net: CaptureNet, ca: ProxyCA, *, socket_timeout: float = 15.0,
                 max_threads: int = 64) -> None:
        options = warcprox.Options(
            address="127.0.0.1", port=0, cacert=str(ca.path), certs_dir=str(ca.certs_dir),
            max_threads=max_threads, socket_timeout=socket_timeout,
            max_resource_size=net.max_bytes + 1, tmp_file_max_memory_size=1 << 20,
            digest_algorithm="sha256")
        self.net = net
        self.server = _Server(options, net, ca)
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="capture-proxy", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> list[str]:
        """Stop; the URLs still in flight (unfinished: a hanging resource) are returned."""
        with self.net.lock:
            unfinished = sorted(set(self.net.in_flight.values()))
        self.server.shutdown()
        with contextlib.suppress(Exception):
            self.server.server_close()
        self.server.pool.shutdown(wait=False, cancel_futures=True)
        self._thread.join(2)
        return unfinished
