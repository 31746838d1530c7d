"""Redacted persona captures: a real covert purchase on the sandbox (Chromium, logged in as a
persona) makes, beside each capture, a redacted copy with the persona's account, drop address,
payment reference and cookies masked; packs carry the copy by default (the original withheld,
listed by hash), the copy verifies, and investigators see it in the console.

Run under ``flock /tmp/spotcheck-browser.lock``."""

from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops
from sqlalchemy import select

from evidence.packs import export_pack
from evidence.redact import HEADER_MASK, MASK, redacted_copies
from evidence.trust import TrustAnchors
from evidence.verify import verify_pack
from scheduler import buying
from store.artifacts import ArtifactStore
from store.db import Database
from store.models import Artifact, Capture, Purchase
from store.settings import Settings
from tests.scheduler.test_buying import sandbox, secret_strings, world  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _files(db: Database, settings: Settings, capture_id: int) -> dict[str, bytes]:
    store = ArtifactStore(settings.artifacts_dir)
    with db.session() as s:
        return {a.role: store.read(a.sha256) for a in s.scalars(
            select(Artifact).where(Artifact.capture_id == capture_id))}


def test_persona_captures_get_redacted_copies_that_packs_carry(
        sqlite_db: Database, world: tuple[Settings, list[int]], tmp_path: Path) -> None:  # noqa: F811
    settings, ids = world
    settings = settings.model_copy(update={"tsa_urls": []})
    result = buying.buy(sqlite_db, ids[0], settings, actor="amy")
    assert result.status == "ordered", result
    with sqlite_db.session() as s:
        p = s.get(Purchase, ids[0])
        assert p is not None
        originals = {c.kind: c.id for c in s.scalars(select(Capture).where(
            Capture.purchase_id == p.id, Capture.persona_id.is_not(None)))}
        copies = redacted_copies(s, list(originals.values()))
        plan_item = p.plan_item_id
    assert set(originals) == {"listing", "order"} and set(copies) == set(originals.values())
    secrets = secret_strings()
    order_orig = _files(sqlite_db, settings, originals["order"])
    order_copy = _files(sqlite_db, settings, copies[originals["order"]])
    # the original shows the secrets (or the test would prove nothing) ...
    assert any(sec in order_orig["dom"].decode() for sec in secrets)
    # ... the copy's DOM, WARC and metadata show none of them, and no cookie value
    warc_text = gzip.decompress(order_copy["warc"]).decode("utf-8", "replace")
    for sec in secrets:
        assert sec not in order_copy["dom"].decode(), sec
        assert sec not in warc_text, sec
        assert sec not in order_copy["meta"].decode(), sec
    assert MASK in order_copy["dom"].decode()
    for line in warc_text.splitlines():
        if line.lower().startswith(("cookie:", "set-cookie:")):
            assert line.split(":", 1)[1].strip() == HEADER_MASK, line
    meta = json.loads(order_copy["meta"])
    assert meta["redacted_from"]["capture_id"] == originals["order"]
    assert meta["redaction"]["screenshot_boxes"] > 0
    assert not meta["redaction"]["screenshots_blacked_out"]
    # screenshots: the same picture with black boxes where the secrets were drawn
    a = Image.open(io.BytesIO(order_orig["screenshot_viewport"])).convert("RGB")
    b = Image.open(io.BytesIO(order_copy["screenshot_viewport"])).convert("RGB")
    assert a.size == b.size
    box = ImageChops.difference(a, b).getbbox()
    assert box is not None and (box[2] - box[0]) * (box[3] - box[1]) < a.width * a.height / 2
    assert order_copy["pdf"].startswith(b"%PDF")

    # a pack of the plan item: copies in, originals withheld with their hashes
    out = export_pack(sqlite_db, plan_item_id=plan_item, out=tmp_path / "p.zip", actor="ian",
                      settings=settings, pdf=False)
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        # each capture's screenshots again under a banner (URL, time, id, hash)
        for c in manifest["captures"]:
            assert c["renderings"]["screenshot_viewport"].startswith("renderings/")
            assert zf.read(c["renderings"]["screenshot_viewport"]).startswith(b"\x89PNG")
        text = b"".join(zf.read(n) for n in zf.namelist()
                        if n.endswith((".html", ".json", ".jsonl", ".txt")))
    packed = {c["id"] for c in manifest["captures"]}
    assert set(copies.values()) <= packed and not set(originals.values()) & packed
    assert {w["id"]: w["redacted_copy"] for w in manifest["withheld_captures"]} == copies
    for sec in secrets:
        assert sec.encode() not in text, sec
    report = verify_pack(out, anchors=TrustAnchors.for_installation(settings))
    assert report.ok, [(c.name, c.detail) for c in report.failures]


def test_console_shows_investigators_the_redacted_copy_only(
        sqlite_db: Database, world: tuple[Settings, list[int]]) -> None:  # noqa: F811
    from fastapi.testclient import TestClient

    from spotcheck.users import add_user
    from spotcheck.web.app import create_app

    settings, ids = world
    settings = settings.model_copy(update={"tsa_urls": []})
    assert buying.buy(sqlite_db, ids[0], settings, actor="amy").status == "ordered"
    with sqlite_db.session() as s:
        orig = s.scalar(select(Capture.id).where(Capture.kind == "order",
                                                 Capture.persona_id.is_not(None)))
        assert orig is not None
        copy = redacted_copies(s, [orig])[orig]
        shots = {cid: s.scalar(select(Artifact.sha256).where(
            Artifact.capture_id == cid, Artifact.role == "screenshot_viewport"))
            for cid in (orig, copy)}
    add_user(sqlite_db, "ian", "investigator", "a-long-password-1", actor="test")
    client = TestClient(create_app(settings, sqlite_db))
    page = client.get("/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = client.post("/login", data={"name": "ian", "password": "a-long-password-1",
                                     "csrf": token, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(f"/artifacts/{shots[orig]}").status_code == 403
    assert client.get(f"/artifacts/{shots[copy]}").status_code == 200
    html = client.get(f"/evidence/{copy}").text
    assert f"/artifacts/{shots[copy]}" in html
    for sec in secret_strings():
        assert sec not in html, sec
    _: Any = None
