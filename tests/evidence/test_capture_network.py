"""Every hop a capture makes is checked before it connects; hostile pages end as evidence.

A page on 127.0.0.2 (the only allowed network) tries to reach a listener on 127.0.0.1
through 302/307 redirects, ``localhost``, a meta refresh, JavaScript, and an image that
redirects: the listener proves nothing connected.  In the same parallel batch: a page whose
load event never fires (a hanging image), one that re-requests a missing image forever, a
400,000 px page, and a plain page that must stay complete beside them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from evidence.capture import capture_urls
from evidence.netguard import AddressPolicy
from evidence.steps import note_text, partial_text
from store.artifacts import ArtifactStore
from store.db import Database
from store.models import Artifact, Capture, CaptureStatus
from tests.conftest import SiteHandler, serve_http
from tests.evidence.conftest import Listener, evidence_settings

WARCIO = str(Path(sys.executable).with_name("warcio"))


def _site(listener_port: int) -> type[SiteHandler]:
    """The hostile pages, each leading towards the listener on 127.0.0.1 (served on
    127.0.0.2 by :func:`tests.conftest.serve_http`)."""
    target = f"http://127.0.0.1:{listener_port}/secret"

    class Handler(SiteHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            p = self.path
            if p in ("/302", "/307"):
                self.send(int(p[1:]), headers={"Location": target})
            elif p == "/localhost":
                self.send(302, headers={"Location": f"http://localhost:{listener_port}/"})
            elif p == "/meta":
                self.send(200, f"<meta http-equiv=refresh content='0;url={target}'>"
                                "<p>meta".encode())
            elif p == "/js":
                self.send(200, f"<p>js<script>location.href='{target}'</script>".encode())
            elif p == "/img":
                self.send(200, b"<h1>img</h1><img src='/img-redirect'>")
            elif p == "/img-redirect":
                self.send(302, headers={"Location": target + ".png"})
            elif p == "/ok":
                self.send(200, "<title>好</title><h1>正常商品页</h1>".encode())
            elif p == "/neverload":
                self.send(200, "<h1>可读但不结束</h1><img src='/hang'>".encode())
            elif p == "/hang":
                import time

                time.sleep(30)
            elif p == "/loop":
                self.send(200, ("<h1>图片循环</h1><img id=i src='/missing.png'><script>"
                                 "document.getElementById('i').onerror=function(){"
                                 "this.src='/missing.png?'+(0*Date.now());};</script>"
                                 ).encode())
            elif p == "/tall":
                self.send(200, "<h1>长页面</h1><div style='height:400000px;background:"
                                "linear-gradient(#fff,#ccc)'>很长</div>".encode())
            else:
                self.send(404, b"missing", "text/plain")

    return Handler


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, local_tsa: Any,
            chromium_path: str | None) -> Iterator[dict[str, Any]]:
    listener = Listener()
    settings = evidence_settings(tmp_path_factory.mktemp("nethome"), local_tsa)
    settings = settings.model_copy(update={
        "capture_allow_networks": ["127.0.0.2/32"], "capture_concurrency": 4,
        "capture_step_timeouts": {**settings.capture_step_timeouts, "load": 6.0,
                                  "settle": 1.0}})
    db = Database.open(settings.database_url, settings=settings)
    names = ["302", "307", "localhost", "meta", "js", "img", "ok", "neverload", "loop", "tall"]
    with serve_http(_site(listener.port), host="127.0.0.2") as url:
        base = url.rstrip("/")
        ids = capture_urls(db, [f"{base}/{n}" for n in names], operator="t", settings=settings)
        caps: dict[str, Capture] = {}
        with db.session() as s:
            for n, cid in zip(names, ids, strict=True):
                cap = s.get(Capture, cid)
                assert cap is not None
                s.expunge(cap)
                caps[n] = cap
        yield {"caps": caps, "listener": listener, "db": db, "settings": settings,
               "base": base}
    listener.close()
    db.dispose()


def _roles(h: dict[str, Any], cap: Capture) -> dict[str, str]:
    with h["db"].session() as s:
        return {a.role: a.sha256 for a in s.scalars(
            select(Artifact).where(Artifact.capture_id == cap.id))}


@pytest.mark.browser
def test_no_hop_reaches_a_refused_address(hostile: dict[str, Any]) -> None:
    caps = hostile["caps"]
    assert hostile["listener"].accepted == 0  # nothing ever connected to 127.0.0.1
    for name in ("302", "307", "localhost", "meta", "js", "img"):
        cap = caps[name]
        assert any("non-public" in b["reason"] or "off the platform" in b["reason"]
                   for b in cap.meta["blocked"]), (name, cap.meta["blocked"])
        assert cap.started_at <= cap.finished_at
    for name in ("302", "307", "localhost"):  # the page itself led there: failed, exit 2
        assert caps[name].status == CaptureStatus.FAILED, name
        assert caps[name].meta["error_step"] == "load"
        assert "refused address" in caps[name].meta["error"]
        assert caps[name].meta["failure"]["code"] == "capture.refused_address"
    assert caps["localhost"].meta["dns"]["localhost"]  # what the proxy's lookup answered
    # The page stands (complete, or partial when a step's budget ran out on a loaded
    # machine); its image was refused either way.
    assert caps["img"].status in CaptureStatus.evidence(), caps["img"].meta.get("error")


@pytest.mark.browser
def test_hostile_pages_end_as_evidence(hostile: dict[str, Any], tmp_path: Path) -> None:
    caps = hostile["caps"]
    assert caps["ok"].status == CaptureStatus.OK, caps["ok"].meta.get("partial")
    never = caps["neverload"]
    assert never.status == CaptureStatus.PARTIAL, never.meta.get("error")
    assert any(r.startswith("load: took longer than its budget") for r in never.meta["partial"])
    # ... and says so in Chinese from its code (evidence page, evidence show, capture queue)
    assert "加载页面：超过了该步骤的时限" in (partial_text(never.meta["partial_reasons"],
                                                    locale="zh-CN") or "")
    assert never.meta["ready_state"] == "interactive"
    assert "screenshot_full" in _roles(hostile, never)
    loop = caps["loop"]
    assert loop.status in (CaptureStatus.OK, CaptureStatus.PARTIAL)
    stopped = {r["url"]: r["count"] for r in loop.meta["repeats_stopped"]}
    assert stopped and all(u.startswith(hostile["base"] + "/missing.png") for u in stopped)
    assert loop.meta["resources"] < 20  # three tries reached the server, the rest were stopped
    # Its load event never fires: the load step ends as soon as the page only re-requests
    # what the proxy stopped, well before the step's budget, and says why.
    load = next(step for step in loop.meta["steps"] if step["name"] == "load")
    assert loop.status == CaptureStatus.PARTIAL
    assert load["note"].startswith("the load event never fired: the page kept re-requesting 1 "
                                   "URL(s)"), load
    assert note_text(load, "zh-CN").startswith("页面加载事件始终未触发：页面反复请求 1 个失败的网址")
    assert load["ms"] < load["budget_s"] * 1000
    assert loop.meta["network_settled"] is False
    tall = caps["tall"]
    assert tall.meta["screenshot_clipped"] == {"page_height": 400000 + 200 - 200 + tall.meta[
        "screenshot_clipped"]["page_height"] - 400000, "kept": 20000}
    roles = _roles(hostile, tall)
    store = ArtifactStore(hostile["settings"].artifacts_dir)
    pdf = store.read(roles["pdf"])
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page\r") + pdf.count(
        b"/Type/Page") <= 20 or len(pdf) < 5_000_000
    path = tmp_path / "loop.warc.gz"
    path.write_bytes(store.read(_roles(hostile, loop)["warc"]))
    check = subprocess.run([WARCIO, "check", "-v", str(path)], capture_output=True, text=True)
    assert check.returncode == 0 and "no digest to check" not in check.stdout, check.stdout


def test_allow_rules_by_network_and_port() -> None:
    policy = AddressPolicy(["127.0.0.2/32", "127.0.0.1:8080", "[::1]:8443"])
    assert policy.address_allowed("127.0.0.2", 1) and policy.address_allowed("127.0.0.2", None)
    assert policy.address_allowed("127.0.0.1", 8080)
    assert not policy.address_allowed("127.0.0.1", 8081)
    assert not policy.address_allowed("127.0.0.1", None)
    assert policy.address_allowed("::1", 8443) and not policy.address_allowed("::1", 80)
    assert not policy.address_allowed("10.0.0.1", 80) and policy.address_allowed("8.8.8.8", 80)
    ip, why = policy.pin("localhost", 8081)
    assert ip is None and why and "non-public" in why
    assert policy.pin("127.0.0.1", 8080) == ("127.0.0.1", None)
    assert policy.pin("no-such-host.invalid", 80)[1] == "no-such-host.invalid does not resolve"


@pytest.mark.parametrize("bad", ["10.0.0.0/8:99999", "127.0.0.1:x", "[::1", "nonsense"])
def test_a_malformed_allow_rule_is_a_settings_error(bad: str, tmp_path: Path) -> None:
    from pydantic import ValidationError

    from store.settings import Settings

    with pytest.raises(ValidationError, match="SPOTCHECK_CAPTURE_ALLOW_NETWORKS"):
        Settings(home=tmp_path, capture_allow_networks=[bad])
