"""Where a webhook may be sent: the guard against server-side request forgery (SSRF).

An admin registers a URL and Agora's servers call it, so a URL must not turn Agora into a way
in: to the loopback interface, the private network, link-local addresses (the cloud metadata
service at 169.254.169.254), multicast, or any address that is not globally routable. The name
is resolved and every address it resolves to is checked, at registration and again at each
delivery (a name may be pointed elsewhere later), and the delivery connects to the address that
was checked, never resolving again (no DNS rebinding between check and use).

Networks listed in `AGORA_WEBHOOK_ALLOWED_NETWORKS` are let through (a receiver on the private
network, or tests on 127.0.0.1).
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]


class RefusedUrl(ValueError):
    """A URL deliveries may not go to; `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: where to connect and what to ask for."""

    scheme: str
    host: str
    port: int
    path: str
    """Path and query, as sent in the request line."""

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("168.63.129.16", "100.100.100.200", "fd00:ec2::254")
)
"""Cloud metadata services, refused even where their network is public or allowed."""
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def public_part(url: str) -> str:
    """Scheme, host and path of a URL, without credentials, query or fragment."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


def parse(url: str) -> Target:
    """Check a URL's form: http or https, a host, no credentials, at most 2048 characters."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedUrl("url_too_long", f"A URL has at most {MAX_URL_LENGTH} characters.")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url):
        raise RefusedUrl("url_invalid", "A URL may not contain spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedUrl("url_invalid", "This is not a valid URL.") from exc
    if parts.scheme not in ("http", "https"):
        raise RefusedUrl("url_scheme_not_allowed", "Webhook URLs use http or https.")
    if parts.username is not None or parts.password is not None:
        raise RefusedUrl(
            "url_credentials_not_allowed", "A webhook URL may not carry a user or password."
        )
    if not parts.hostname or port == 0:
        raise RefusedUrl("url_invalid", "The URL has no host or port.")
    try:
        host = parts.hostname.encode("idna").decode("ascii")  # bücher.example -> xn--...
    except UnicodeError as exc:
        raise RefusedUrl("url_invalid", "The URL's host is not a valid name.") from exc
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        scheme=parts.scheme,
        host=host,
        port=port or (443 if parts.scheme == "https" else 80),
        path=path,
    )


async def resolve_system(host: str, port: int) -> list[str]:
    """The addresses a name resolves to, through the system's resolver (off the event loop)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


def _and_embedded(address: Address) -> list[Address]:
    """An address and the IPv4 addresses an IPv6 one leads to (mapped, 6to4, Teredo, NAT64,
    IPv4-compatible): each must be one deliveries may reach."""
    found: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            found.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            found.append(address.sixtofour)
        if address.teredo is not None:
            found.extend(address.teredo)
        packed = int(address)
        if address in _NAT64 or 1 < packed < 2**32:
            found.append(ipaddress.IPv4Address(packed & 0xFFFFFFFF))
    return found


class AddressGuard:
    def __init__(self, resolver: Resolver, allowed: Sequence[Network] = ()) -> None:
        self.resolver = resolver
        self.allowed = tuple(allowed)

    def permitted(self, address: Address) -> bool:
        return all(self._permitted(one) for one in _and_embedded(address))

    def _permitted(self, address: Address) -> bool:
        if address in _METADATA:
            return False
        if any(address in network for network in self.allowed):
            return True
        site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
        return address.is_global and not address.is_multicast and not site_local

    async def resolve(self, target: Target) -> str:
        """The address to connect to; raises `RefusedUrl` if the name does not resolve or any
        of its addresses is one deliveries may not reach."""
        try:
            found = await self.resolver(target.host, target.port)
        except (OSError, UnicodeError) as exc:
            raise RefusedUrl("url_unresolvable", f"{target.host} does not resolve.") from exc
        if not found:
            raise RefusedUrl("url_unresolvable", f"{target.host} does not resolve.")
        addresses = []
        for text in found:
            try:
                address = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError as exc:
                raise RefusedUrl("url_unresolvable", f"{target.host} does not resolve.") from exc
            if not self.permitted(address):
                raise RefusedUrl(
                    "url_address_not_allowed",
                    "The URL resolves to a loopback, private, link-local, multicast or otherwise "
                    "non-public address.",
                )
            addresses.append(address)
        return str(addresses[0])
