"""SSRF guard for webhook targets: only public addresses, reached by the address we checked.

The host is resolved once, every address it resolves to must be global, and the request is
then sent to that address (Host header and TLS SNI keep the name), so a DNS answer that
changes between the check and the connection (rebinding) can't redirect the delivery.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from app.errors import Unprocessable


class TargetRefused(Exception):
    """The reason is a fixed phrase about the target, safe for logs and API answers.

    `permanent`: retrying cannot help (the address is refused); a name that does not resolve
    may resolve later.
    """

    def __init__(self, reason: str, *, permanent: bool = True) -> None:
        super().__init__(reason)
        self.permanent = permanent


# IPv6 ranges that carry an IPv4 address in their low 32 bits (NAT64, RFC 6052 and 8215),
# and IPv4-compatible addresses (deprecated, ::a.b.c.d): judged by the address they carry.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("::/96"))
# Local-use NAT64 translates to whatever the operator's network holds: never public.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:  # 2002::/16
        return ip.sixtofour
    if ip.teredo is not None:  # 2001::/32: (server, client)
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


@dataclass(frozen=True)
class Target:
    url: str  # what to connect to (the checked address when pinned)
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


def address_allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Private, loopback, link-local, reserved, shared (CGNAT) and multicast are refused, and
    so are IPv6 addresses that embed one of those (mapped, NAT64, 6to4, Teredo)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            # Teredo and 6to4 relays are public hosts of their own: refuse them outright.
            if ip.teredo is not None or ip.sixtofour is not None:
                return False
            ip = embedded
    return ip.is_global and not ip.is_multicast


# Named in the refusals: the one switch a developer with a local receiver needs.
ALLOW_PRIVATE_SETTING = "LEAD_ROUTER_ALLOW_PRIVATE_WEBHOOK_TARGETS"


def check_url_shape(url: str, *, allow_private: bool) -> tuple[str, str, int]:
    """Scheme, host and port of an acceptable URL; plain HTTP only where private is allowed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("the URL is not valid") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TargetRefused("the URL must be an absolute https:// URL")
    if parts.scheme == "http" and not allow_private:
        raise TargetRefused(
            "plain-HTTP webhook targets are refused; use https:// (a local receiver in "
            f"development: set {ALLOW_PRIVATE_SETTING}=true)"
        )
    if parts.username or parts.password:
        raise TargetRefused("credentials in the URL are refused")
    if port == 0:
        raise TargetRefused("port 0 is not a port one can connect to")
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, parts.hostname, port or default


async def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = await asyncio.to_thread(
            socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError):
        raise TargetRefused("the host does not resolve", permanent=False) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_target(url: str, *, allow_private: bool) -> Target:
    """Check the URL and pick the address to connect to; raises TargetRefused."""
    scheme, host, port = check_url_shape(url, allow_private=allow_private)
    if allow_private:
        return Target(url)
    addresses = await _resolve(host, port)
    if not addresses:
        raise TargetRefused("the host does not resolve", permanent=False)
    for addr in addresses:
        if not address_allowed(ipaddress.ip_address(addr.split("%", 1)[0])):
            raise TargetRefused(
                "the host resolves to a private, loopback or reserved address (a local receiver "
                f"in development: set {ALLOW_PRIVATE_SETTING}=true)"
            )
    pinned = addresses[0]
    parts = urlsplit(url)
    netloc = f"[{pinned}]" if ":" in pinned else pinned
    if parts.port:
        netloc += f":{parts.port}"
    extensions = {"sni_hostname": host} if scheme == "https" else {}
    return Target(
        urlunsplit(parts._replace(netloc=netloc)),
        headers={"host": parts.netloc},
        extensions=extensions,
    )


async def validate_subscription_url(url: str, *, allow_private: bool) -> None:
    """At subscription time: the same rules, answered as 422."""
    try:
        await resolve_target(url, allow_private=allow_private)
    except TargetRefused as exc:
        raise Unprocessable(f"Webhook URL refused: {exc}.", type="webhook-target-refused") from None
