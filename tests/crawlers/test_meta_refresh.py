"""The crawl's meta-refresh middleware decides what Scrapy's decides, decoding less."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefresh
from scrapy.http import HtmlResponse, Response
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawlers.middlewares import MetaRefreshMiddleware, _cannot_refresh

REFRESH = '<meta http-equiv="refresh" content="0; url=/moved.html">'
PAGES = [
    ("utf-8", f"<html><head>{REFRESH}</head><body>x</body></html>"),
    ("utf-8", "<html><head><META HTTP-EQUIV='Refresh' CONTENT='1;URL=/b'></head></html>"),
    ("utf-8", "<html><body><h1>商品</h1><p>no redirect here</p></body></html>"),
    ("utf-8", f"<html><!-- {REFRESH} --><body></body></html>"),
    ("utf-8", f"<html><script>var s = '{REFRESH}';</script></html>"),
    ("utf-8", "<p>" + "填充" * 3000 + f"</p>{REFRESH}"),  # beyond the first 4,096 characters
    ("gbk", f"<html><head>{REFRESH}<title>儿童玩具</title></head></html>"),
    ("gbk", "<html><head><title>儿童玩具 refresh</title></head></html>"),
    ("utf-16", f"<html><head>{REFRESH}</head></html>"),
    ("utf-16", "<html><head><title>nothing</title></head></html>"),
    ("iso-2022-jp", f"<html><head>{REFRESH}</head></html>"),
    ("iso-2022-jp", "<html><head><title>日本語</title></head></html>"),
]


def _decision(mw: object, response: Response) -> str:
    result = mw.process_response(Request(response.url), response)  # type: ignore[attr-defined]
    return result.url if isinstance(result, Request) else "kept"


@pytest.mark.parametrize(("encoding", "html"), PAGES)
def test_same_decision_as_scrapys(encoding: str, html: str) -> None:
    crawler = get_crawler(settings_dict={})
    settings = Settings({"METAREFRESH_ENABLED": True})
    ours, theirs = MetaRefreshMiddleware(settings), ScrapyMetaRefresh(settings)
    ours.crawler = theirs.crawler = crawler  # type: ignore[attr-defined]
    body = html.encode(encoding)
    headers = {"Content-Type": f"text/html; charset={encoding}"}
    expected = _decision(theirs, HtmlResponse("http://h.test/a", body=body, headers=headers))
    assert _decision(ours, HtmlResponse("http://h.test/a", body=body, headers=headers)) == expected


def test_the_comparison_covers_redirects() -> None:
    """Scrapy itself follows some of these pages: the comparison above is not all 'kept'."""
    crawler = get_crawler(settings_dict={})
    mw = MetaRefreshMiddleware(Settings({"METAREFRESH_ENABLED": True}))
    mw.crawler = crawler  # type: ignore[attr-defined]
    followed = [_decision(mw, HtmlResponse("http://h.test/a", body=html.encode(enc), headers={
        "Content-Type": f"text/html; charset={enc}"})) for enc, html in PAGES]
    assert followed.count("http://h.test/moved.html") >= 3 and "http://h.test/b" in followed


def test_pages_without_refresh_are_not_decoded() -> None:
    plain = HtmlResponse("http://h.test/", body="<h1>商品</h1>".encode(),
                         headers={"Content-Type": "text/html; charset=utf-8"})
    assert _cannot_refresh(plain)
    wide = HtmlResponse("http://h.test/", body="<h1>x</h1>".encode("utf-16"),
                        headers={"Content-Type": "text/html; charset=utf-16"})
    assert not _cannot_refresh(wide)  # ASCII is not its own bytes: Scrapy decides
