"""SSRF guard for outgoing webhooks: only globally routable addresses, unless allowed."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

_EXTRA_BLOCKED = (ipaddress.ip_network("100.64.0.0/10"), ipaddress.ip_network("64:ff9b::/96"))


class BlockedAddress(ValueError):
    """The URL resolves to an address inloop must not call."""


def _allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not any(ip in net for net in _EXTRA_BLOCKED)


def resolve_checked(url: str, *, allow_private: bool) -> list[str]:
    """The addresses to connect to for `url`; raises BlockedAddress if any is refused.

    Callers connect to one of the returned addresses, never re-resolving the name, so a
    DNS answer cannot change between the check and the connection.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise BlockedAddress(f"cannot resolve {host!r}") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not allow_private:
        refused = [a for a in addresses if not _allowed(ipaddress.ip_address(a))]
        if refused:
            raise BlockedAddress(f"{host} resolves to a non-public address ({refused[0]})")
    return addresses
