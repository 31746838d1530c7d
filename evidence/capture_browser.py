"""The browser a capture runs in: Chromium's flags, the context's options, the proxy's net.

The browser reaches the network only through the capture's own recording proxy
(:mod:`evidence.proxy`); these are the settings that make it so (accept the proxy's key and
only it, no UDP around the proxy, every request to the proxy) and the page's fixed viewport,
locale and time zone, which every capture's metadata records.
"""

from __future__ import annotations

from typing import Any

from evidence.netguard import AddressPolicy
from evidence.proxy import CaptureNet, ProxyCA
from store import chromium
from store.settings import Settings

VIEWPORT: Any = {"width": 1366, "height": 900}
TIMEZONE = "Asia/Shanghai"
LOCALE = "zh-CN"


def capture_net(settings: Settings) -> CaptureNet:
    """The recorder one capture's proxy fills, bounded by the capture settings."""
    return CaptureNet(AddressPolicy(settings.capture_allow_networks),
                      max_resources=settings.capture_max_resources,
                      max_bytes=settings.capture_max_bytes,
                      repeat_limit=settings.capture_repeat_limit,
                      trusted_spki=list(settings.capture_trusted_spki),
                      timeout=max(5.0, min(15.0, settings.capture_timeout)))


def proxy_context_options(proxy_url: str) -> dict[str, Any]:
    """Playwright context options that send everything, loopback included, to the proxy."""
    return {"proxy": {"server": proxy_url, "bypass": "<-loopback>"},
            "viewport": VIEWPORT, "locale": LOCALE, "timezone_id": TIMEZONE,
            "accept_downloads": False, "service_workers": "block"}


def browser_args(settings: Settings) -> list[str]:
    """Chromium flags for a browser that captures: accept the recording proxy's key (and
    only it: every other certificate is the proxy's to verify), no UDP around the proxy."""
    ca = proxy_ca(settings)
    return [*chromium.spki_args([ca.spki]), "--disable-quic",
            "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
            "--webrtc-ip-handling-policy=disable_non_proxied_udp"]


_CAS: dict[str, ProxyCA] = {}


def proxy_ca(settings: Settings) -> ProxyCA:
    """The recording proxy's CA for *settings*' keys folder, loaded once per process (the
    browser was launched trusting its key: :func:`browser_args`)."""
    key = str(settings.keys_dir.resolve())
    if key not in _CAS:
        _CAS[key] = ProxyCA(settings.keys_dir)
    return _CAS[key]

