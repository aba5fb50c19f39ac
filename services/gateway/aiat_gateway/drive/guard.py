"""SSRF guard: user links may only reach Google Drive hosts, or the operator's configured endpoint."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

# Hosts a download may reach when no operator endpoint is configured.
GOOGLE_DRIVE_HOSTS = frozenset({"drive.google.com", "drive.usercontent.google.com", "docs.google.com"})
# Google serves some downloads from doc-XX-XX-docs.googleusercontent.com.
GOOGLE_CONTENT_SUFFIX = ".googleusercontent.com"
LOGIN_HOSTS = frozenset({"accounts.google.com"})

_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]


class BlockedUrl(ValueError):
    """A URL the guard refuses to contact."""


def is_forbidden_address(address: str | IPAddress) -> bool:
    """True for loopback, private, CGNAT, link-local (metadata), ULA, multicast and other non-global IPs."""
    try:
        ip: IPAddress = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_forbidden_address(embedded)
    return (
        not ip.is_global
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


async def resolve_host(host: str, port: int) -> list[str]:
    """Resolve a host name to its IP addresses."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _host_port(url: str) -> tuple[str, str, int]:
    """Scheme, lower-case host and effective port of a URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port or (443 if scheme == "https" else 80)
    return scheme, host, port


def is_google_host(host: str) -> bool:
    """True for the Google hosts that serve Drive downloads."""
    return host in GOOGLE_DRIVE_HOSTS or host.endswith(GOOGLE_CONTENT_SUFFIX)


def is_login_url(url: str) -> bool:
    """True when a URL is a Google sign-in page (the file is not shared publicly)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    path = parts.path
    return host in LOGIN_HOSTS or "ServiceLogin" in path or "/signin/" in path or path.endswith("/signin")


class UrlGuard:
    """Decides which URLs a Drive download may contact, and maps Google hosts to the operator endpoint."""

    def __init__(self, endpoint: str | None = None, resolver: Resolver | None = None) -> None:
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self._resolver = resolver or resolve_host
        self._endpoint_key: tuple[str, str, int] | None = None
        if self.endpoint:
            scheme, host, port = _host_port(self.endpoint)
            if scheme not in ("http", "https") or not host:
                raise ValueError(f"AIAT_DRIVE_ENDPOINT must be an http(s) URL, got {endpoint!r}")
            self._endpoint_key = (scheme, host, port)

    def base_url(self) -> str:
        """The base URL for Drive requests: the operator endpoint or https://drive.google.com."""
        return self.endpoint or "https://drive.google.com"

    def rewrite(self, url: str) -> str:
        """Replace a Google Drive host with the operator endpoint, when one is configured."""
        if not self.endpoint:
            return url
        parts = urlsplit(url)
        if not is_google_host((parts.hostname or "").lower().rstrip(".")):
            return url
        base = urlsplit(self.endpoint)
        path = base.path.rstrip("/") + (parts.path or "/")
        return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))

    def is_endpoint(self, url: str) -> bool:
        """True when a URL targets the operator-configured endpoint (scheme, host and port)."""
        try:
            return self._endpoint_key is not None and _host_port(url) == self._endpoint_key
        except ValueError:
            return False

    async def check(self, url: str) -> None:
        """Raise BlockedUrl unless the URL may be contacted (host allow-list plus DNS check)."""
        try:
            scheme, host, port = _host_port(url)
        except ValueError as exc:
            raise BlockedUrl(f"invalid URL {url!r}") from exc
        if self.is_endpoint(url):
            return
        if scheme not in ("http", "https") or not host:
            raise BlockedUrl(f"refusing non-http(s) URL {url!r}")
        if _is_ip_literal(host):
            raise BlockedUrl(f"refusing to contact an IP address directly: {host}")
        if self.endpoint is not None or not is_google_host(host):
            raise BlockedUrl(f"refusing to contact {host}: not a Google Drive host")
        if scheme != "https":
            raise BlockedUrl(f"refusing plain http to {host}")
        try:
            addresses = await self._resolver(host, port)
        except OSError as exc:
            raise BlockedUrl(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise BlockedUrl(f"cannot resolve {host}")
        bad = [a for a in addresses if is_forbidden_address(a)]
        if bad:
            raise BlockedUrl(f"refusing {host}: it resolves to a non-public address ({bad[0]})")

    def check_peer(self, url: str, peer_ip: str | None) -> None:
        """Raise BlockedUrl when a connection for `url` actually reached a non-public address."""
        if peer_ip is None or self.is_endpoint(url):
            return
        if is_forbidden_address(peer_ip.split("%", 1)[0]):
            raise BlockedUrl(f"refusing {urlsplit(url).hostname}: connected to non-public {peer_ip}")


def _is_ip_literal(host: str) -> bool:
    """True when a host is an IPv4/IPv6 literal."""
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True
