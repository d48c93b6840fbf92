"""SSRF guard for outgoing webhooks: only globally routable addresses, unless allowed."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

from api.domain.errors import BlockedAddress, Unresolvable

# Not global, or carrying an IPv4 address that may be private: CGNAT, NAT64 (well-known
# and local-use), 6to4, IPv4-compatible and SIIT-translated addresses; and what Python
# still calls global: IPv6 site-local, IETF protocol assignments, multicast.
_EXTRA_BLOCKED = tuple(ipaddress.ip_network(n) for n in (
    "100.64.0.0/10", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "::/96",
    "::ffff:0:0:0/96", "fec0::/10", "192.0.0.0/24", "224.0.0.0/4", "ff00::/8"))


def _allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not any(ip in net for net in _EXTRA_BLOCKED)


def resolve_checked(url: str, *, allow_private: bool,
                    timeout: float | None = None) -> list[str]:
    """The addresses to connect to for `url`; raises BlockedAddress if any is refused,
    Unresolvable if the lookup fails or takes longer than `timeout` seconds.

    Callers connect to one of the returned addresses, never re-resolving the name, so a
    DNS answer cannot change between the check and the connection.
    """
    host, port = _host_port(url)
    try:
        infos = _getaddrinfo(host, port, timeout)
    except (socket.gaierror, UnicodeError):
        raise _unresolvable(host) from None
    return _checked(host, infos, allow_private)


async def aresolve_checked(url: str, *, allow_private: bool) -> list[str]:
    """`resolve_checked` for the event loop: the lookup runs in the loop's resolver (its
    executor), so a slow DNS server never blocks the loop; an IP literal needs none."""
    host, port = _host_port(url)
    try:
        if _is_ip(host):
            infos = _getaddrinfo(host, port, None)  # parsed, no lookup
        else:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise _unresolvable(host) from None
    return _checked(host, infos, allow_private)


def _unresolvable(host: str) -> Unresolvable:
    # The host only: the URL may carry credentials or tokens in its userinfo or query.
    return Unresolvable(f"cannot resolve the host {host!r}")


def _checked(host: str, infos: list[Any], allow_private: bool) -> list[str]:
    addresses = sorted({str(info[4][0]) for info in infos})
    if not allow_private:
        refused = [a for a in addresses if not _allowed(ipaddress.ip_address(a))]
        if refused:
            raise BlockedAddress(f"{host} resolves to a non-public address ({refused[0]})")
    return addresses


def _getaddrinfo(host: str, port: int, timeout: float | None) -> list[Any]:
    """getaddrinfo has no timeout of its own: a daemon thread runs it, given up on after
    `timeout` (it ends on its own when the resolver does). An IP literal needs no lookup,
    so it is parsed here without a thread."""
    if timeout is None or _is_ip(host):
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    outcome: list[Any] = []

    def lookup() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except (OSError, UnicodeError) as error:
            outcome.append(error)

    thread = threading.Thread(target=lookup, name="webhook-dns", daemon=True)
    thread.start()
    thread.join(max(timeout, 0))
    if not outcome:
        raise Unresolvable(f"resolving the host {host!r} took over {timeout:g} s")
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return list(outcome[0])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _host_port(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BlockedAddress("the URL's host or port is malformed") from None
