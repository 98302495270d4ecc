"""Webhook callback URLs that cannot reach inside our network (server-side request forgery).

A subscriber chooses the URL we POST events to, so without care it could point us at the cloud
metadata service, an admin port on localhost or a database on the private network. Two checks:

* :func:`check_callback_url` at subscribe time, for a clear 422 naming why a URL is refused;
* :func:`delivery_session` for every delivery, because DNS can change after subscribing (or on
  purpose between two look-ups: DNS rebinding). Its adapter resolves the host once, checks every
  address, and connects to the checked address itself, keeping the hostname for the ``Host``
  header, TLS SNI and certificate verification. Redirects are never followed.

Refused: schemes other than http/https; user:password@ in the URL; any address (of all a host
resolves to) that is not public: private, loopback, link-local, unspecified, multicast, reserved,
shared (100.64/10), site-local, NAT64, SIIT, Teredo and 6to4 (whatever they embed); cloud metadata
hosts and addresses always, even with ``allow_private`` (which lets local development and tests
reach everything else that is not public). An IPv6 address that carries an IPv4 address (see
:func:`embedded_ipv4`: IPv4-mapped, IPv4-compatible, SIIT, 6to4, Teredo, NAT64) is judged by that
IPv4 address as well, so a metadata address is refused in each of those forms too (a DNS64
resolver, for one, turns a name whose only record is 169.254.169.254 into ``64:ff9b::a9fe:a9fe``). Any port is allowed: a public
host's ports are its owner's business, and the address check is what keeps us out of our network.

From requests-hardened (Saleor) we take the session that never redirects and always has a
timeout (``HTTPSession``) and its list of ranges the stdlib ``ipaddress`` misses
(``EXTRA_BLOCKED_NET_RANGES``). Its own ``IPFilterAdapter`` pins the connection the same way as
ours, but checks only the first address, takes no resolver (tests), allows only loopback as an
exception, lets ``::a.b.c.d`` (IPv4-compatible) and ``fec0::/10`` through and knows no metadata
hosts, so the adapter here is our own.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import EXTRA_BLOCKED_NET_RANGES
from urllib3.util.connection import allowed_gai_family

from connector.errors import Problem
from connector.upstream import _NoCookies

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list[tuple[Any, ...]]]  # socket.getaddrinfo's signature

METADATA_HOSTS = frozenset(
    {"metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd20:ce::254",  # Google Cloud metadata over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer: a public address, reachable only from inside Azure
        "192.0.0.192",  # Oracle Cloud (legacy)
    )
)
SHARED = ipaddress.ip_network("100.64.0.0/10")

# IPv6 ranges that carry an IPv4 address at fixed bits, beyond what ``ipaddress`` decodes itself
# (``ipv4_mapped``, ``sixtofour``, ``teredo``): the range, and the bit offsets (from the most
# significant bit) of the 32-bit IPv4 address, in RFC 6052's layouts. The local-use NAT64 /48
# may hold a translator's prefix of any RFC 6052 length below it, so every layout that fits is read.
EMBEDDING_RANGES: tuple[tuple[ipaddress.IPv6Network, tuple[tuple[int, ...], ...]], ...] = (
    (ipaddress.ip_network("::/96"), ((96,),)),  # IPv4-compatible (RFC 4291, deprecated)
    (ipaddress.ip_network("::ffff:0:0:0/96"), ((96,),)),  # SIIT IPv4-translated (RFC 2765)
    (ipaddress.ip_network("64:ff9b::/96"), ((96,),)),  # NAT64 well-known prefix (RFC 6052)
    # NAT64 local-use prefix (RFC 8215); RFC 6052 layouts for a /48, /56, /64 and /96 prefix
    # (bits 64-71 are the zero "u" octet, skipped)
    (ipaddress.ip_network("64:ff9b:1::/48"), ((48, 72), (56, 72), (72,), (96,))),
)


class BlockedAddress(requests.RequestException):
    """A delivery refused before connecting: its host is, or now resolves to, a forbidden address.

    A :class:`requests.RequestException`, so code catching those sees it; ``reason`` is the
    sentence to record on the failed attempt."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _bits(value: int, start: int, count: int) -> int:
    """``count`` bits of the 128-bit ``value`` from bit ``start`` (0 is the most significant)."""
    return (value >> (128 - start - count)) & ((1 << count) - 1)


def _rfc6052(value: int, layout: tuple[int, ...]) -> ipaddress.IPv4Address:
    """The IPv4 address at ``layout``: one offset for 32 contiguous bits, or two (RFC 6052 splits the
    address around the "u" octet, bits 64-71): the bits up to 64, then the rest after 72."""
    if len(layout) == 1:
        return ipaddress.IPv4Address(_bits(value, layout[0], 32))
    high = 64 - layout[0]
    return ipaddress.IPv4Address(_bits(value, layout[0], high) << (32 - high) | _bits(value, layout[1], 32 - high))


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (packets to it may end up there), none for IPv4:
    IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, SIIT ``::ffff:0:a.b.c.d``, 6to4
    ``2002:AABB:CCDD::/48``, Teredo ``2001::/32`` (its server and its XOR-ed client address), NAT64
    ``64:ff9b::a.b.c.d`` and the local-use ``64:ff9b:1::/48``."""
    if not isinstance(ip, ipaddress.IPv6Address) or ip.is_loopback or ip.is_unspecified:
        return []  # ::1 and :: are themselves, not the IPv4-compatible 0.0.0.1 and 0.0.0.0
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    value = int(ip)
    for network, layouts in EMBEDDING_RANGES:
        if ip in network:
            found.extend(_rfc6052(value, layout) for layout in layouts)
    return list(dict.fromkeys(address for address in found if address is not None))


def _own_refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` itself (not what it embeds) is not a public address, or None."""
    for kind, test in (
        ("a loopback", ip.is_loopback),
        ("an unspecified", ip.is_unspecified),
        ("a link-local", ip.is_link_local),
        ("a multicast", ip.is_multicast),
        ("a shared (carrier-grade NAT)", ip in SHARED),
        ("a private", ip.is_private),
    ):
        if test:
            return f"{kind} address"
    # is_global alone lets multicast, ::/8 (IPv4-compatible, NAT64), site-local and 6to4 through
    if (
        not ip.is_global
        or ip.is_reserved
        or getattr(ip, "is_site_local", False)
        or any(ip in net for net in EXTRA_BLOCKED_NET_RANGES)
    ):
        return "a reserved or non-public address"
    return None


def address_refusal(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why connecting to ``ip`` is refused (``"a private address"``), or None if it is allowed.

    An IPv6 address is judged by every IPv4 address it embeds as well (:func:`embedded_ipv4`):
    a metadata address in any of those forms is refused even with ``allow_private``."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:a.b.c.d is a.b.c.d on the wire; judge that
    embedded = embedded_ipv4(ip)
    if ip in METADATA_ADDRESSES or any(address in METADATA_ADDRESSES for address in embedded):
        return "a cloud metadata address"
    if allow_private:
        return None
    if refusal := _own_refusal(ip):
        return refusal
    for address in embedded:
        if refusal := _own_refusal(address):
            return f"{refusal} embedded in an IPv6 address"
    return None


def resolve_checked(
    host: str, port: int, *, allow_private: bool, resolve: Resolver, family: int = 0
) -> list[IPAddress]:
    """Resolve ``host`` once and return its addresses, or raise :class:`BlockedAddress` if ANY is
    refused (the verdict must not depend on which address a client happens to try first).
    Resolution errors (``OSError``, ``UnicodeError``) propagate."""
    name = host.rstrip(".").lower()
    if name in METADATA_HOSTS:
        raise BlockedAddress(f"{host} is a cloud metadata host")
    infos = resolve(name, port, family, socket.SOCK_STREAM)
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos if info[0] in (socket.AF_INET, socket.AF_INET6)]
    if not addresses:
        raise OSError(f"no address for {host}")
    for ip in addresses:
        if refusal := address_refusal(ip, allow_private=allow_private):
            inner = embedded_ipv4(ip)  # name the embedded addresses that matter most, else all
            inner = (
                [a for a in inner if a in METADATA_ADDRESSES]
                or [a for a in inner if address_refusal(a, allow_private=allow_private)]
                or inner
            )
            shown = f"{ip} ({', '.join(map(str, inner))})" if inner else str(ip)
            raise BlockedAddress(f"{host} resolves to {shown}, {refusal}")
    return addresses


def check_callback_url(
    url: str, *, allow_private: bool, field: str = "callback_url", resolve: Resolver | None = None
) -> str:
    """The normalised ``url`` (as requests will send it), or a 422 :class:`Problem` saying why not.

    A subscribe-time courtesy: the address is checked again at every delivery."""
    resolve = resolve or socket.getaddrinfo  # looked up now, so tests can replace the system's

    def refuse(message: str) -> Problem:
        return Problem(
            422, f"The {field} is not allowed: {message}.", errors={field: [message]}, kind="callback-refused"
        )

    url = url.strip()
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise refuse(f"the scheme must be http or https, not {scheme or 'missing'}")
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)  # IDNA, lower-cased host: exactly what is sent
        parts = urlsplit(prepared.url)
        host, port = parts.hostname, parts.port  # .port raises ValueError when out of range
    except (requests.RequestException, ValueError, UnicodeError):
        raise refuse("it is not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        raise refuse("it must not contain a user name or password")
    if not host:
        raise refuse("it has no host")
    try:
        resolve_checked(host, port or (443 if scheme == "https" else 80), allow_private=allow_private, resolve=resolve)
    except BlockedAddress as exc:
        raise refuse(exc.reason) from None
    except (OSError, UnicodeError):
        raise refuse(f"the host {host} cannot be resolved") from None
    assert prepared.url is not None
    return prepared.url


class PinnedAddressAdapter(HTTPAdapter):
    """Resolves the request's host once, checks all its addresses, and connects to the first.

    The pool is keyed by that IP (and, for https, the hostname used for SNI and certificate
    checks), so urllib3 never resolves the name again: the address checked is the one used."""

    def __init__(self, *, allow_private: bool, resolve: Resolver = socket.getaddrinfo, pool_size: int = 10) -> None:
        super().__init__(max_retries=0, pool_maxsize=pool_size)  # the delivery worker owns retries
        self.allow_private = allow_private
        self.resolve = resolve

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host, port, scheme = host_params["host"], host_params["port"], host_params["scheme"]
        if not host:
            raise requests.exceptions.InvalidURL("missing host")
        try:
            addresses = resolve_checked(
                host,
                port or (443 if scheme == "https" else 80),
                allow_private=self.allow_private,
                resolve=self.resolve,
                family=allowed_gai_family(),  # as urllib3 would: no IPv6 address on an IPv4-only host
            )
        except BlockedAddress:
            raise  # a RequestException, so an OSError too: not a resolution failure
        except (OSError, UnicodeError) as exc:
            raise requests.ConnectionError(f"cannot resolve {host}: {exc}", request=request) from None
        request.headers = CaseInsensitiveDict(request.headers)  # don't touch a dict shared with others
        request.headers["Host"] = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
        if scheme == "https":
            pool_kwargs["assert_hostname"] = host
            pool_kwargs["server_hostname"] = host
        host_params["host"] = str(addresses[0])
        return host_params, pool_kwargs


def delivery_session(
    *, allow_private: bool, timeout: float, resolve: Resolver = socket.getaddrinfo, pool_size: int = 10
) -> requests.Session:
    """The session deliveries are POSTed with: checked at every connect, no redirects (a 3xx comes
    back as is: a failed delivery), no cookies, no proxy or netrc from the environment, and a
    timeout even when the caller forgets one. A refused address raises :class:`BlockedAddress`."""
    session = HTTPSession(
        Config(
            ip_filter_enable=False,  # our adapter below does it
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=(timeout, timeout),
        )
    )
    session.trust_env = False
    session.proxies = {}
    session.cookies.set_policy(_NoCookies())
    # pool_size: connections kept per subscriber address; one per concurrent delivery chain
    adapter = PinnedAddressAdapter(allow_private=allow_private, resolve=resolve, pool_size=pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
