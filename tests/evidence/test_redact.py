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
from collections.abc import Iterator
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
from store import settings as settings_module
from store.artifacts import ArtifactStore
from store.db import Database
from store.models import Artifact, Capture, Purchase
from store.settings import Settings, configure
from tests.conftest import copy_home
from tests.scheduler.test_buying import (  # noqa: F401
    make_world,
    sandbox,
    secret_strings,
    world,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def _bought_once(tmp_path_factory: pytest.TempPathFactory, sandbox: Any,  # noqa: F811
                 chromium_path: str | None) -> dict[str, Any]:
    """One covert purchase made with redaction on (a Chromium, the listing and order
    captures and their redacted copies: ~20 s on the loaded machine), made once for the
    tests that only read it; each gets its own copy of the data folder (:func:`bought`).
    The captures print their PDF (off by default), so the redacted copy's PDF is checked."""
    home = tmp_path_factory.mktemp("redact-once") / "data"
    with pytest.MonkeyPatch.context() as env:  # what tests/conftest.py's settings sets
        env.setenv("SPOTCHECK_HOME", str(home))
        env.setenv("SPOTCHECK_CONFIG", str(home.parent / "absent.toml"))
        for var in ("SPOTCHECK_DB", "SPOTCHECK_REDIS_URL", "SPOTCHECK_BROWSER"):
            env.delenv(var, raising=False)
        try:
            settings = configure(home=home)
            settings.ensure_home()
            db = Database.open(settings.database_url)
            try:
                world_settings, ids = make_world(db, settings, sandbox)
                result = buying.buy(db, ids[0], world_settings.model_copy(
                    update={"tsa_urls": [], "capture_pdf": True}), actor="amy")
            finally:
                db.dispose()
        finally:
            settings_module._settings = None
    assert result.status == "ordered", result
    return {"home": home, "ids": ids}


@pytest.fixture()
def bought(settings: Settings, _bought_once: dict[str, Any]
           ) -> Iterator[tuple[Database, Settings, list[int]]]:
    """The purchase of :func:`_bought_once` in this test's data folder: its database, the
    settings it was bought with, the purchase ids."""
    copy_home(_bought_once["home"], settings.home)
    db = Database.open(settings.database_url)
    yield db, settings.model_copy(update={"capture_allow_networks": ["127.0.0.0/8"],
                                          "tsa_urls": [], "capture_pdf": True}), \
        list(_bought_once["ids"])
    db.dispose()


def _ocr(png: bytes) -> str:
    """The text Tesseract (chi_sim + eng) reads in a screenshot, whitespace removed (it puts
    spaces between Chinese characters), lower-cased."""
    import re
    import shutil
    import subprocess

    from tests.conftest import need

    need(shutil.which("tesseract") is not None,
         "tesseract is not installed (apt-get install tesseract-ocr tesseract-ocr-chi-sim)")
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True)
    need("chi_sim" in langs.stdout, "tesseract has no chi_sim (tesseract-ocr-chi-sim)")
    out = subprocess.run(["tesseract", "stdin", "stdout", "-l", "chi_sim+eng", "--psm", "3"],
                         input=png, capture_output=True, check=True, timeout=120)
    return re.sub(r"\s+", "", out.stdout.decode("utf-8", "replace")).lower()


def _readable(secret: str, text: str) -> bool:
    """Whether OCR *text* shows *secret*: ASCII ones by any 6-character run of them (OCR
    misreads a character now and then; a run that survives masking is still a leak), others
    whole."""
    s = "".join(secret.split()).lower()
    if s.isascii() and len(s) > 6:
        return any(s[i:i + 6] in text for i in range(len(s) - 5))
    return s in text


def _files(db: Database, settings: Settings, capture_id: int) -> dict[str, bytes]:
    store = ArtifactStore(settings.artifacts_dir)
    with db.session() as s:
        return {a.role: store.read(a.sha256) for a in s.scalars(
            select(Artifact).where(Artifact.capture_id == capture_id))}


def test_persona_captures_get_redacted_copies_that_packs_carry(
        bought: tuple[Database, Settings, list[int]], tmp_path: Path) -> None:
    sqlite_db, settings, ids = bought
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
    # pixels, read by an OCR that knows nothing of our DOM: the original's screenshot shows
    # the persona's strings, the copy's shows none of them
    seen = _ocr(order_orig["screenshot_viewport"])
    shown = [sec for sec in secrets if _readable(sec, seen)]
    assert len(shown) >= 3, (shown, seen[:2000])
    left = _ocr(order_copy["screenshot_viewport"])
    assert [sec for sec in secrets if _readable(sec, left)] == [], left[:2000]
    assert len(left) > 20  # the rest of the page is still there to read
    # geometry: every box where a persona string was laid out is one uniform black area in
    # the copy, and was not uniform (text) in the original
    scale = a.width / meta["redaction"]["viewport_width"]
    inside = 0
    for x, y, w, h in meta["redaction"]["boxes"]:
        rect = (int(x * scale) + 1, int(y * scale) + 1, int((x + w) * scale) - 1,
                int((y + h) * scale) - 1)
        if rect[3] > a.height or rect[2] <= rect[0] or rect[3] <= rect[1]:
            continue  # below the viewport screenshot
        inside += 1
        assert b.crop(rect).getcolors() == [(  # one colour, black, over the whole box
            (rect[2] - rect[0]) * (rect[3] - rect[1]), (0, 0, 0))], rect
        assert len(a.crop(rect).getcolors(1 << 16) or []) > 1, rect
    assert inside >= 3

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
        bought: tuple[Database, Settings, list[int]]) -> None:
    from fastapi.testclient import TestClient

    from spotcheck.users import add_user
    from spotcheck.web.app import create_app

    sqlite_db, settings, _ids = bought
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


def _login(client: Any, name: str, password: str) -> None:
    page = client.get("/login")
    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = client.post("/login", data={"name": name, "password": password, "csrf": token,
                                     "next": "/"}, follow_redirects=False)
    assert r.status_code == 303


def test_evidence_redact_makes_the_copies_older_captures_lack(
        sqlite_db: Database, world: tuple[Settings, list[int]], tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Captures whose copy was never made (before copies existed, or the redaction failed)
    are withheld everywhere until ``spotcheck evidence redact`` makes it: only a logged-in
    sampler or admin may run it; a second run makes nothing; the copy names the original."""
    from fastapi.testclient import TestClient

    import evidence.redact
    from spotcheck.users import add_user
    from spotcheck.web.app import create_app
    from tests.clirun import spotcheck

    settings, ids = world
    settings = settings.model_copy(update={"tsa_urls": []})

    async def broken(*_a: Any, **_k: Any) -> int:
        raise RuntimeError("redaction not available (an older installation)")

    with monkeypatch.context() as m:
        m.setattr(evidence.redact, "redact_capture_async", broken)
        result = buying.buy(sqlite_db, ids[0], settings, actor="amy")
    assert result.status == "ordered", result
    assert any("no redacted copy" in n for n in result.notes), result.notes
    with sqlite_db.session() as s:
        originals = {c.kind: c.id for c in s.scalars(select(Capture).where(
            Capture.purchase_id == ids[0], Capture.persona_id.is_not(None)))}
        assert redacted_copies(s, list(originals.values())) == {}
        plan_item = s.get(Purchase, ids[0]).plan_item_id  # type: ignore[union-attr]
    secrets = secret_strings()
    add_user(sqlite_db, "ian", "investigator", "a-long-password-1", actor="test")
    add_user(sqlite_db, "sue", "supervisor", "a-long-password-3", actor="test")
    add_user(sqlite_db, "amy", "sampler", "a-long-password-2", actor="test")

    # meanwhile: investigators and supervisors get neither the original nor a copy
    for name, pw in (("ian", "a-long-password-1"), ("sue", "a-long-password-3")):
        client = TestClient(create_app(settings, sqlite_db))
        _login(client, name, pw)
        html = client.get(f"/evidence/{originals['order']}").text
        assert 'id="no-redacted-copy"' in html and 'id="redacted-copy"' not in html
        for sec in secrets:
            assert sec not in html, (name, sec)
    # and a pack of the item has nothing it may carry: refused, nothing written
    from store.errors import InvalidInput

    with pytest.raises(InvalidInput, match="withheld"):
        export_pack(sqlite_db, plan_item_id=plan_item, out=tmp_path / "before.zip",
                    actor="ian", settings=settings, pdf=False)
    assert not (tmp_path / "before.zip").exists()

    def redact(*args: str, user: str, password: str | None) -> Any:
        env = {"SPOTCHECK_USER": user}
        if password:
            env["SPOTCHECK_PASSWORD"] = password
        return spotcheck("evidence", "redact", *args, "--json", env=env,
                         unset=() if password else ("SPOTCHECK_PASSWORD",))

    # the command reads persona secrets: never an investigator, never a bare --user claim
    assert redact("--all-missing", user="ian", password="a-long-password-1").returncode == 4
    assert redact("--all-missing", user="amy", password=None).returncode == 4
    assert redact("--capture", "999999", user="amy",
                  password="a-long-password-2").returncode == 3
    ran = redact("--all-missing", user="amy", password="a-long-password-2")
    assert ran.returncode == 0, ran.stderr
    info = json.loads(ran.stdout)
    assert (info["made"], info["existing"], info["failed"]) == (2, 0, 0), info
    made = {c["capture"]: c["copy"] for c in info["captures"]}
    assert set(made) == set(originals.values())
    again = json.loads(redact("--all-missing", user="amy",
                              password="a-long-password-2").stdout)
    assert (again["made"], again["existing"]) == (0, 0)  # nothing is missing any more
    one = json.loads(redact("--capture", str(originals["order"]), user="amy",
                            password="a-long-password-2").stdout)
    assert one["captures"] == [{"capture": originals["order"],
                                "copy": made[originals["order"]], "made": False}]
    assert redact("--capture", str(made[originals["order"]]), user="amy",
                  password="a-long-password-2").returncode == 2  # a copy is no persona's

    with sqlite_db.session() as s:
        assert redacted_copies(s, list(originals.values())) == made
        orig = s.get(Capture, originals["order"])
        copy = s.get(Capture, made[originals["order"]])
        assert orig is not None and copy is not None
        assert copy.persona_id is None and copy.signature and copy.manifest_sha256
        assert copy.meta["redacted_from"]["manifest_sha256"] == orig.manifest_sha256
        assert copy.operator == "amy"
    copy_files = _files(sqlite_db, settings, made[originals["order"]])
    for sec in secrets:
        assert sec not in copy_files["dom"].decode(), sec
    client = TestClient(create_app(settings, sqlite_db))
    _login(client, "ian", "a-long-password-1")
    html = client.get(f"/evidence/{originals['order']}").text
    assert f'href="/evidence/{made[originals["order"]]}"' in html
    out = export_pack(sqlite_db, plan_item_id=plan_item, out=tmp_path / "after.zip",
                      actor="ian", settings=settings, pdf=False)
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert {w["id"]: w["redacted_copy"] for w in manifest["withheld_captures"]} == made
    assert verify_pack(out, anchors=TrustAnchors.for_installation(settings)).ok
