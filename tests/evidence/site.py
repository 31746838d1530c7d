"""A small hostile-ish shop on 127.0.0.1 for capture tests (until/besides the sandbox).

Pages: a product listing in Chinese with JSON-LD, a consent overlay, lazy-loaded images
and gzip-compressed CSS; a redirect; a page that navigates off the platform; one that opens
a pop-up and offers a download; one that never stops loading; a heavy page.
"""

from __future__ import annotations

import contextlib
import gzip
import io
from urllib.parse import parse_qs, urlsplit

from PIL import Image

from tests.conftest import SiteHandler, serve_http


def _png(color: tuple[int, int, int], size: tuple[int, int] = (120, 80)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


CSS = b"body{font-family:'Noto Sans CJK SC',sans-serif;margin:20px} .price{color:#c00}" * 20

LISTING = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{title}</title><link rel="stylesheet" href="/style.css">
<script type="application/ld+json">
{{"@context":"https://schema.org","@type":"Product","name":"{title}",
 "offers":{{"@type":"Offer","price":"{price}","priceCurrency":"CNY",
 "availability":"https://schema.org/{avail}"}}}}</script></head>
<body style="background:{bg}">
<div id="consent" style="position:fixed;top:0;left:0;right:0;height:200px;background:#333;color:#fff;z-index:9">
 本网站使用 Cookie <button data-consent="accept" onclick="document.getElementById('consent').remove()">同意</button></div>
<h1>{title}</h1>
<p class="price">¥{price}</p><p>库存：{avail_zh}。产地：韩国。适用年龄 3 岁以上。</p>
<img src="/img/main.png" alt="商品图">
<div style="height:2500px">详情 · 规格参数 · 售后保障</div>
<img id="lazy" data-src="/img/lazy.png" alt="懒加载">
<script>
 const io = new IntersectionObserver(es => es.forEach(e => {{ if (e.isIntersecting) {{
   e.target.src = e.target.dataset.src; io.disconnect(); }} }}));
 io.observe(document.getElementById('lazy'));
</script>
</body></html>"""


class ShopState:
    """What the shop serves (tests change the price or title between captures)."""

    def __init__(self) -> None:
        self.title = "儿童保温杯 500ml 不锈钢"
        self.price = "89.00"
        self.available = True
        self.background = "#ffffff"


class Shop:
    """The shop served by :func:`tests.conftest.serve_http` between :meth:`start` and
    :meth:`stop` (a module's fixture keeps it for many tests, so not a ``with`` block)."""

    def __init__(self) -> None:
        self.state = ShopState()
        self._served: contextlib.ExitStack | None = None
        self._url = ""

    def start(self) -> str:
        state = self.state

        class Handler(SiteHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                path, query = parts.path, parse_qs(parts.query)
                if path.startswith("/item/"):
                    html = LISTING.format(
                        title=state.title, price=state.price, bg=state.background,
                        avail="InStock" if state.available else "OutOfStock",
                        avail_zh="有货" if state.available else "缺货")
                    self.send(200, html.encode(), "text/html; charset=utf-8")
                elif path == "/style.css":
                    self.send(200, gzip.compress(CSS), "text/css",
                               {"Content-Encoding": "gzip"})
                elif path == "/img/main.png":
                    self.send(200, _png((200, 30, 30)), "image/png")
                elif path == "/img/lazy.png":
                    self.send(200, _png((30, 30, 200)), "image/png")
                elif path == "/go":
                    self.send(302, b"", "text/html", {"Location": "/item/1"})
                elif path == "/offsite":
                    body = b"<html><body>x<script>location.href='http://example.invalid/';</script></body></html>"
                    self.send(200, body, "text/html")
                elif path == "/hostile":
                    text = ("<html><body><h1>弹窗</h1><a id=d href='/download.bin' download>d</a>"
                            "<script>window.open('/item/2');"
                            "fetch('http://10.255.255.1/x').catch(()=>{});"
                            "document.getElementById('d').click();</script></body></html>")
                    self.send(200, text.encode(), "text/html; charset=utf-8")
                elif path == "/download.bin":
                    self.send(200, b"\0" * 1000, "application/octet-stream",
                               {"Content-Disposition": "attachment; filename=x.bin"})
                elif path == "/slow":
                    import time

                    time.sleep(float(query.get("s", ["30"])[0]))
                    self.send(200, b"<html>late</html>", "text/html")
                elif path == "/many":
                    n = int(query.get("n", ["50"])[0])
                    imgs = "".join(f"<img src='/img/main.png?{i}'>" for i in range(n))
                    self.send(200, f"<html><body>{imgs}</body></html>".encode(), "text/html")
                else:
                    self.send(404, b"not found", "text/plain")

        self._served = contextlib.ExitStack()
        self._url = self._served.enter_context(serve_http(Handler)).rstrip("/")
        return self.url

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash: tests append ``/item/1``)."""
        assert self._served is not None, "the shop is not started"
        return self._url

    def stop(self) -> None:
        if self._served is not None:
            self._served.close()
            self._served = None
