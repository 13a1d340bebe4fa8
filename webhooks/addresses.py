"""Where a webhook may be sent: http(s) to public addresses only (no SSRF).

The host is resolved when the URL is registered and again at every delivery,
and the delivery connects to the very address that was checked, so a name that
resolves publicly at registration and privately later (DNS rebinding) is refused.
`settings.WEBHOOKS_ALLOW_PRIVATE` lifts the address check for development and tests.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from config.errors import DomainError

from .errors import UNSAFE_URL

METADATA = ipaddress.ip_address("169.254.169.254")


class UnsafeURL(DomainError):
    code = UNSAFE_URL


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # with the query string
    address: str  # the checked IP address to connect to


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to (a seam the tests patch)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (
        ip == METADATA
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def check_url(url: str) -> Target:
    """The URL's parts and one checked address to connect to; UnsafeURL otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeURL(f"Not a valid URL: {error}.") from error
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("Only http and https URLs are allowed.")
    if not parts.hostname:
        raise UnsafeURL("The URL has no host.")
    if parts.username or parts.password:
        raise UnsafeURL("Credentials in the URL are not allowed; use the signature.")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(parts.hostname, port)
    except (OSError, UnicodeError) as error:
        raise UnsafeURL(f"The host {parts.hostname} does not resolve.") from error
    if not addresses:
        raise UnsafeURL(f"The host {parts.hostname} does not resolve.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE:
        refused = [address for address in addresses if not is_public(address)]
        if refused:
            # Every address must be public: a resolver may hand out any of them later.
            raise UnsafeURL(
                f"The host {parts.hostname} resolves to a non-public address ({refused[0]})."
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])
