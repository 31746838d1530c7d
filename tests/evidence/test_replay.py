"""Replay with Webrecorder's pywb: a captured page comes back from the pack's WACZ.

pywb cannot share the project's virtual environment (pywb 2.10 pins ``redis<3`` and an old
``fakeredis``, which would break the scheduler's Redis client), so it is installed once into
its own virtual environment cached under ``~/.cache/spotcheck/`` and run as the outside tool
it is: ``wb-manager add --unpack-wacz`` (which reads the WACZ's own CDX index), then
``wayback`` on 127.0.0.1.  Without network access for the first install the test is skipped
locally and fails under ``CI=true``.
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import pytest

from evidence.packs import export_pack
from tests.conftest import need

pytestmark = pytest.mark.browser

PYWB = "pywb==2.10.0"


def _cache() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "spotcheck" / PYWB.replace("==", "-")


def pywb_bin() -> Path | None:
    """The cached pywb venv's bin folder, made once (under a lock: tests may run in
    parallel); None when it cannot be installed (no network)."""
    venv = _cache()
    ready = venv / ".installed"
    if ready.exists():
        return venv / "bin"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists():
            return venv / "bin"
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True,
                           capture_output=True, timeout=300)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", PYWB], check=True,
                           capture_output=True, timeout=900)
            subprocess.run([str(venv / "bin" / "wayback"), "--version"], check=True,
                           capture_output=True, timeout=120)
        except (subprocess.SubprocessError, OSError):
            return None
        ready.write_text(PYWB + "\n")
    return venv / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_pywb_replays_the_listing_page_from_the_wacz(captured: dict[str, Any],
                                                     tmp_path: Path) -> None:
    bin_ = pywb_bin()
    need(bin_ is not None, f"{PYWB} could not be installed into {_cache()} (no network?)")
    assert bin_ is not None
    db, settings, ids = captured["db"], captured["settings"], captured["ids"]
    pack = export_pack(db, capture_ids=[ids["item"]], out=tmp_path / "p.zip", actor="t",
                       settings=settings, pdf=False)
    with zipfile.ZipFile(pack) as zf:
        (tmp_path / "archive.wacz").write_bytes(zf.read("archive.wacz"))
    site = tmp_path / "pywb"
    site.mkdir()
    env = {**os.environ, "PYTHONPATH": ""}
    for cmd in (["wb-manager", "init", "evidence"],
                ["wb-manager", "add", "--unpack-wacz", "evidence",
                 str(tmp_path / "archive.wacz")]):
        proc = subprocess.run([str(bin_ / cmd[0]), *cmd[1:]], cwd=site, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    # the WACZ's own index was merged (pywb reads it, it does not re-index the WARC)
    index = (site / "collections" / "evidence" / "indexes" / "index.cdxj").read_text()
    url = f"{captured['shop'].url}/item/1"
    assert "/item/1" in index
    port = _free_port()
    server = subprocess.Popen([str(bin_ / "wayback"), "-p", str(port), "-b", "127.0.0.1"],
                              cwd=site, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "wayback did not start"
                time.sleep(0.5)
        # id_: the archived response as recorded, no rewriting
        status, headers, body = _get(f"http://127.0.0.1:{port}/evidence/id_/{url}")
        assert status == 200, body[:500]
        assert "Memento-Datetime" in headers  # served from the archive, not the live site
        assert "儿童保温杯".encode() in body
        # the replay page (rewritten, with pywb's frame) also serves it
        status, _, body = _get(f"http://127.0.0.1:{port}/evidence/mp_/{url}")
        assert status == 200 and "儿童保温杯".encode() in body
        # a URL the capture never saw is not invented
        status, _, _ = _get(f"http://127.0.0.1:{port}/evidence/id_/{url}-never")
        assert status == 404
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
