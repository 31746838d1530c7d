"""Which URLs and addresses a capture may reach.

Crawled pages are hostile: a listing may try to make the capture browser read ``file://``,
our own admin ports on loopback, or a private network behind us.  Only http(s) is allowed,
and hosts resolving to loopback, private, link-local or reserved addresses are refused unless
``settings.capture_allow_networks`` allows their network (and port, when the rule names one;
``store.netrules``).  Tests and the demo allow ``127.0.0.0/8`` for the sandbox.

The policy is asked by the capture's recording proxy (``evidence.proxy``) before it opens
any connection, for every hop the browser makes: it resolves a host once per capture, and
the proxy connects to the address it answered and to no other, so a DNS answer that changes
between the check and the connection (rebinding) cannot move the capture.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from store.errors import InvalidInput
from store.netrules import AllowRule, IPAddress, parse_rule


def check_url(url: str) -> str:
    """The host of an http(s) URL; InvalidInput for anything else (file:, data:, ...)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("netguard.only_http", url=url[:200])
    if not parts.hostname:
        raise InvalidInput("netguard.no_host", url=url[:200])
    return parts.hostname.lower()


def url_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def host_matches(host: str, domains: list[str]) -> bool:
    """Whether *host* is one of *domains* or a subdomain of one."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (d.lower().strip(".")
                                                             for d in domains))


def _address(ip: str) -> IPAddress:
    addr: IPAddress = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return addr


@dataclass
class AddressPolicy:
    """Decides, per host and port, whether a capture may connect; remembers DNS answers.

    One policy per capture: its DNS cache is that capture's (what the proxy used is what
    the metadata says), and thread-safe, since the proxy answers from a pool of threads.
    """

    allow_networks: list[str] = field(default_factory=list)
    dns: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rules: list[AllowRule] = [parse_rule(n) for n in self.allow_networks]
        self._lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}

    def address_allowed(self, ip: str, port: int | None = None) -> bool:
        addr = _address(ip)
        if any(rule.matches(addr, port) for rule in self._rules):
            return True
        return addr.is_global and not addr.is_multicast

    def resolve(self, host: str) -> list[str]:
        """The host's addresses, resolved once per policy (an IP literal is itself)."""
        host = host.strip("[]").lower()
        with self._lock:
            if host in self.dns:
                return self.dns[host]
            lock = self._host_locks.setdefault(host, threading.Lock())
        with lock:  # one lookup per host, however many requests wait for it
            with self._lock:
                if host in self.dns:
                    return self.dns[host]
            try:
                ipaddress.ip_address(host)
                answer = [host]
            except ValueError:
                try:
                    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
                except (OSError, UnicodeError):
                    answer = []
                else:
                    answer = sorted({str(i[4][0]) for i in infos})
            with self._lock:
                self.dns[host] = answer
            return answer

    def decide(self, host: str, port: int | None = None
               ) -> tuple[str | None, InvalidInput | None]:
        """(address to connect to, None) or (None, why the host may not be reached, coded:
        ``netguard.*`` so a person reads it in their language).

        Every address the host resolves to must be allowed (a name answering one public and
        one private address is refused): the proxy then connects to the first, only.
        """
        addresses = self.resolve(host)
        if not addresses:
            return None, InvalidInput("netguard.does_not_resolve", host=host)
        bad = [a for a in addresses if not self.address_allowed(a, port)]
        if bad:
            where = f"{', '.join(bad)}" + (f" port {port}" if port else "")
            return None, InvalidInput("netguard.non_public_address", host=host, where=where)
        return addresses[0], None

    def pin(self, host: str, port: int | None = None) -> tuple[str | None, str | None]:
        """:meth:`decide` with the reason as its English text (the proxy's refusal log)."""
        ip, why = self.decide(host, port)
        return ip, (str(why) if why is not None else None)

    def why_refused(self, host: str, port: int | None = None) -> str | None:
        """None if *host* may be reached, else the reason it may not (English text)."""
        return self.pin(host, port)[1]

    def refusal(self, host: str, port: int | None = None) -> InvalidInput | None:
        """None if *host* may be reached, else why not as a coded refusal."""
        return self.decide(host, port)[1]
