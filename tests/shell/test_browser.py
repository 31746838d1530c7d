"""The configured Chromium opens a page served on 127.0.0.1 and renders Chinese text."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.conftest import serve_http

PAGE = "<!doctype html><meta charset=utf-8><title>抽检</title><h1 id=t>跨境电商 抽检 ✓</h1>"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def local_site() -> Iterator[str]:
    with serve_http(_Handler) as url:
        yield url


@pytest.mark.browser
def test_chromium_opens_a_page(browser_page: Any, local_site: str) -> None:
    response = browser_page.goto(local_site)
    assert response is not None and response.status == 200
    assert browser_page.title() == "抽检"
    assert browser_page.inner_text("#t") == "跨境电商 抽检 ✓"
    # The CJK glyphs have real width: with no CJK font they would be missing or boxes,
    # and a line of 6 CJK glyphs at 32px is far wider than 6 empty boxes would be.
    width = browser_page.evaluate("document.getElementById('t').getBoundingClientRect().width")
    assert width > 150
    png = browser_page.screenshot()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
