"""Provenance of a capture, as Scoop records it: the capturing machine and how it captured.

The machine's public IP (the ``capture_public_ip`` setting, or looked up once per batch when
``capture_lookup_public_ip`` allows it), its OS, the browser and every tool's version, every
capture option in force, and the page itself: what was requested, what answered, what was
refused.  The provenance page is rendered twice: once into the WARC (and so the WACZ), as the
page ``file:///spotcheck/<uuid>/provenance-summary.html`` a replay shows next to the capture, without the
WARC's own hash (it cannot hold it), and once as the ``provenance`` file that lists every
file's hash.
"""

from __future__ import annotations

import functools
import platform
import socket
from importlib import metadata as importlib_metadata
from typing import Any

from evidence.hashing import sha256_bytes
from evidence.render import labels, render
from store.settings import Settings


def provenance_url(capture_uuid: str) -> str:
    """Where a replay finds a capture's provenance page (Scoop's ``file:///provenance-summary
    .html``, made unique per capture so a WACZ of several captures keeps each one's)."""
    return f"file:///spotcheck/{capture_uuid}/provenance-summary.html"
TOOLS = ("spotcheck", "playwright", "warcprox", "warcio", "cryptography", "pyOpenSSL",
         "asn1crypto")


@functools.cache
def tool_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in TOOLS:
        try:
            out[dist] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


@functools.cache
def _lookup_public_ip() -> str | None:
    import httpx

    for url in ("https://api.ipify.org", "https://ifconfig.me/ip"):
        try:
            text = httpx.get(url, timeout=5).text.strip()
        except Exception:
            continue
        if text and len(text) < 64:
            return text
    return None


def machine(settings: Settings) -> dict[str, Any]:
    """The capturing machine: host name, OS, public IP (or why it is unknown)."""
    facts: dict[str, Any] = {"hostname": socket.gethostname(),
                             "os": f"{platform.system()} {platform.release()}",
                             "os_version": platform.version(), "machine": platform.machine(),
                             "python": platform.python_version()}
    if settings.capture_public_ip:
        facts["public_ip"], facts["public_ip_source"] = settings.capture_public_ip, "setting"
    elif settings.capture_lookup_public_ip:
        ip = _lookup_public_ip()
        facts["public_ip"] = ip
        facts["public_ip_source"] = "looked up" if ip else "lookup failed"
    else:
        facts["public_ip"], facts["public_ip_source"] = None, "not configured"
    return facts


def options(settings: Settings) -> dict[str, Any]:
    """Every capture option in force (what a reader needs to redo the capture)."""
    return {k: v for k, v in settings.model_dump(mode="json").items()
            if k.startswith("capture_") or k in ("tsa_urls", "locale", "browser")}


def render_page(files: dict[str, bytes], meta: dict[str, Any], locale: str) -> bytes:
    """The provenance page listing *files* with their hashes (zh-CN and en labels)."""
    artifacts = [{"role": role, "sha256": sha256_bytes(data), "size": len(data)}
                 for role, data in sorted(files.items())]
    other = labels("en" if locale != "en" else "zh-CN")
    return render("evidence_provenance.html", locale, meta=meta, artifacts=artifacts,
                  other=other).encode("utf-8")
