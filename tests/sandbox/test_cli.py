"""The Typer app: `truth` prints the same JSON as build_truth; `serve` listens on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from sandbox.cli import app
from sandbox.truth import build_truth

ROOT = Path(__file__).resolve().parents[2]


def test_truth_command_matches_build_truth() -> None:
    res = CliRunner().invoke(app, ["truth", "--seed", "3", "--listings", "300", "--day", "2"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == build_truth(3, 300, 2)
    res = CliRunner().invoke(app, ["truth", "--seed", "3", "--listings", "300", "--platform", "spa",
                                   "--port", "9100"])
    data = json.loads(res.output)
    assert {r["platform"] for r in data["listings"]} == {"spa"}
    assert data["listings"][0]["url"].startswith("http://127.0.0.1:9101/item/")


def free_base() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base < 65000:
            return base


def test_serve_command_serves_all_styles_on_consecutive_localhost_ports() -> None:
    base = free_base()
    proc = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--port", str(base), "--seed", "5",
                             "--listings", "300"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{base}/admin/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        styles = [httpx.get(f"http://127.0.0.1:{base + k}/admin/health").json()["style"] for k in range(3)]
        assert styles == ["mall", "spa", "shop"]
        assert httpx.get(f"http://127.0.0.1:{base + 3}/safety-gate/alerts.xml").status_code == 200
        # bound to 127.0.0.1 only: another address of the machine (127.0.0.2 is loopback too) is refused
        with socket.socket() as s, pytest.raises(ConnectionRefusedError):
            s.connect(("127.0.0.2", base))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
