"""Which URLs and addresses a capture may reach.

Crawled pages are hostile: a listing may try to make the capture browser read ``file://``,
our own admin ports on loopback, or a private network behind us.  Only http(s) is allowed,
and hosts resolving to loopback, private, link-local or reserved addresses are refused unless
``settings.capture_allow_networks`` names their network (tests and the demo allow
``127.0.0.0/8`` for the sandbox).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from store.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_url(url: str) -> str:
    """The host of an http(s) URL; InvalidInput for anything else (file:, data:, ...)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(f"only http and https URLs can be captured, not {url[:200]!r}")
    if not parts.hostname:
        raise InvalidInput(f"the URL has no host: {url[:200]!r}")
    return parts.hostname.lower()


def host_matches(host: str, domains: list[str]) -> bool:
    """Whether *host* is one of *domains* or a subdomain of one."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (d.lower().strip(".")
                                                             for d in domains))


@dataclass
class AddressPolicy:
    """Decides, per host, whether the capture browser may connect; remembers DNS answers."""

    allow_networks: list[str] = field(default_factory=list)
    dns: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._nets = [ipaddress.ip_network(n, strict=False) for n in self.allow_networks]

    def address_allowed(self, ip: str) -> bool:
        addr: IPAddress = ipaddress.ip_address(ip.split("%")[0])
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        if any(addr in net for net in self._nets):
            return True
        return addr.is_global and not addr.is_multicast

    async def resolve(self, host: str) -> list[str]:
        if host not in self.dns:
            try:
                ipaddress.ip_address(host.strip("[]"))
                self.dns[host] = [host.strip("[]")]
            except ValueError:
                loop = asyncio.get_running_loop()
                try:
                    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
                except OSError:
                    self.dns[host] = []
                else:
                    self.dns[host] = sorted({str(i[4][0]) for i in infos})
        return self.dns[host]

    async def why_refused(self, host: str) -> str | None:
        """None if *host* may be reached, else the reason it may not."""
        addresses = await self.resolve(host)
        if not addresses:
            return f"{host} does not resolve"
        bad = [a for a in addresses if not self.address_allowed(a)]
        if bad:
            return (f"{host} resolves to a non-public address ({', '.join(bad)}); "
                    "allow its network with SPOTCHECK_CAPTURE_ALLOW_NETWORKS if intended")
        return None
