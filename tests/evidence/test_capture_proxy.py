"""The recording proxy on its own (no browser): refusals keep the browser's tunnel open
without ever connecting, and every request on a kept tunnel is checked again.

A page whose images all sit on refused hosts used to cost a CONNECT and two TLS handshakes
per image; the proxy now answers each refusal with a keep-alive 403 inside the tunnel.  A
listener on the refused address proves that nothing reached it, however many requests the
tunnel carried.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence.netguard import AddressPolicy
from evidence.proxy import CaptureNet, ProxyCA, RecordingProxy
from tests.evidence.conftest import Listener


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[RecordingProxy]:
    net = CaptureNet(AddressPolicy([]), max_resources=100, max_bytes=10**6, timeout=5)
    p = RecordingProxy(net, ProxyCA(tmp_path / "keys"), socket_timeout=5)
    p.start()
    yield p
    p.stop()


def _tunnel(proxy: RecordingProxy, target: str) -> ssl.SSLSocket:
    host, port = proxy.server.server_address[:2]
    raw = socket.create_connection((host, port), timeout=5)
    raw.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    assert raw.recv(4096).split(b" ")[1] == b"200"
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    return ctx.wrap_socket(raw, server_hostname=target.rsplit(":", 1)[0])


def _read_response(sock: ssl.SSLSocket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        body += sock.recv(4096)
    return int(lines[0].split()[1]), headers, body


def test_refusals_keep_the_tunnel_and_check_every_request(
        proxy: RecordingProxy, listener: Listener) -> None:
    port = listener.port
    sock = _tunnel(proxy, f"localhost:{port}")
    for i in range(3):
        sock.sendall(f"GET /img/{i}.png HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
        status, headers, _ = _read_response(sock)
        assert status == 403 and headers["connection"] == "keep-alive"
    # a request with a body is refused too, and the tunnel closed (its body is unread)
    sock.sendall(f"POST /form HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Length: 3\r\n\r\n"
                 "a=b".encode())
    status, headers, _ = _read_response(sock)
    assert status == 403 and headers["connection"] == "close"
    sock.close()
    assert listener.accepted == 0  # nothing reached the refused address
    urls = [b["url"] for b in proxy.net.blocked]
    assert urls == [f"https://localhost:{port}/img/{i}.png" for i in range(3)] + [
        f"https://localhost:{port}/form"]
    assert all("non-public" in b["reason"] for b in proxy.net.blocked)


def test_a_url_that_keeps_failing_is_stopped_on_the_same_tunnel(
        proxy: RecordingProxy, listener: Listener) -> None:
    port = listener.port
    sock = _tunnel(proxy, f"localhost:{port}")
    for _ in range(proxy.net.repeat_limit + 2):  # a page re-requesting a missing image
        sock.sendall(f"GET /missing.png HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
        status, headers, _ = _read_response(sock)
        assert status == 403 and headers["connection"] == "keep-alive"
    sock.close()
    assert listener.accepted == 0
    url = f"https://localhost:{port}/missing.png"
    assert proxy.net.failures[url] == proxy.net.repeat_limit
    assert proxy.net.repeats_stopped[url] == 2


def test_a_page_asking_only_for_stopped_urls_is_looping(
        proxy: RecordingProxy, listener: Listener) -> None:
    """What ends a capture's load step early: for the quiet interval the page asked only
    for URLs the proxy stopped answering, and kept asking; any other request, or a
    pause in the re-requests, means it is not (yet) looping."""
    port = listener.port
    net, quiet = proxy.net, 0.3
    sock = _tunnel(proxy, f"localhost:{port}")

    def get(path: str) -> None:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode())
        assert _read_response(sock)[0] == 403

    for _ in range(net.repeat_limit):  # failing, not yet stopped: requests like any other
        get("/missing.png")
    assert not net.looping(quiet)
    get("/missing.png")  # stopped now, but another request went out just before
    assert not net.looping(quiet)
    time.sleep(quiet)
    get("/missing.png")
    assert net.looping(quiet)  # only stopped URLs for the whole interval, still asked for
    get("/other.png")  # a new URL: the page is doing something else
    assert not net.looping(quiet)
    time.sleep(quiet)
    assert not net.looping(quiet)  # nothing asked for at all: not a loop either
    sock.close()
    assert listener.accepted == 0



#: Chromium's most connections to one HTTP/1.1 proxy (net/socket/client_socket_pool_manager).
CHROMIUM_SOCKETS_PER_PROXY = 32


def test_idle_tunnels_cannot_stall_new_connections(proxy: RecordingProxy) -> None:
    """A tunnel kept open after a refusal holds one of warcprox's threads while the browser
    keeps it idle, and warcprox stops accepting when all are busy: the pool must be larger
    than the connections Chromium ever keeps to its proxy (it was 24)."""
    assert proxy.server.max_threads > CHROMIUM_SOCKETS_PER_PROXY
