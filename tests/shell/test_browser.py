"""The configured Chromium opens a page served on 127.0.0.1 and renders Chinese text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import SiteHandler, serve_http

PAGE = "<!doctype html><meta charset=utf-8><title>抽检</title><h1 id=t>跨境电商 抽检 ✓</h1>"


class _Handler(SiteHandler):
    def do_GET(self) -> None:
        self.send(200, PAGE.encode(), "text/html; charset=utf-8")


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
