"""Allow rules for the addresses a capture may reach: a network, optionally one port.

``127.0.0.2/32`` allows every port of that address, ``127.0.0.1:8080`` one port,
``10.0.0.0/8:443`` one port of a network, ``[::1]:8080`` / ``[fd00::]/8:443`` the same for
IPv6 (brackets because an IPv6 address is full of colons).  Parsed here, at the bottom layer,
so that the settings can refuse a malformed rule when they are read and ``evidence`` applies
the very same rules.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class AllowRule:
    """One rule: addresses in *network*, on *port* (any port when None)."""

    network: IPNetwork
    port: int | None = None

    def matches(self, address: IPAddress, port: int | None) -> bool:
        if address.version != self.network.version or address not in self.network:
            return False
        return self.port is None or port == self.port

    def __str__(self) -> str:
        net = str(self.network)
        if self.port is None:
            return net
        return f"[{net}]:{self.port}" if self.network.version == 6 else f"{net}:{self.port}"


def parse_rule(text: str) -> AllowRule:
    """The rule written as *text*; ValueError when it is not one."""
    t = text.strip()
    port_text: str | None = None
    if t.startswith("["):
        end = t.find("]")
        if end < 0:
            raise ValueError(f"{text!r}: missing ']'")
        addr, rest = t[1:end], t[end + 1:]
        if rest.startswith("/"):
            prefix, sep, port_text_ = rest[1:].partition(":")
            addr = f"{addr}/{prefix}"
            port_text = port_text_ if sep else None
        elif rest.startswith(":"):
            port_text = rest[1:]
        elif rest:
            raise ValueError(f"{text!r}: unexpected {rest!r} after ']'")
    elif t.count(":") == 1:
        addr, port_text = t.split(":")
    else:
        addr = t
    network = ipaddress.ip_network(addr, strict=False)
    port = None
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"{text!r}: {port_text!r} is not a port")
        port = int(port_text)
    return AllowRule(network, port)
