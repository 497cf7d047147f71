"""The address policy: which addresses probes and notification sends may connect to.

Everything that leaves the worker (HTTP, TCP and ICMP probes, every redirect hop, webhook,
Slack and SMTP sends) goes through this module. A host is resolved once, every address it
resolved to is checked here, and the connection is made to exactly the checked address, so a
name that resolves differently a moment later (DNS rebinding) cannot slip past the check.

Semantics: an address is refused when it lies in a network of ``UPTIME_BLOCKED_NETWORKS`` and
in no network of ``UPTIME_ALLOWED_NETWORKS``. Every spelling of an address is checked as the
address it stands for: names and the decimal, hex and short IPv4 forms go through the
resolver (which turns ``2852039166`` or ``169.254.43518`` into ``169.254.169.254``), an
IPv4-mapped IPv6 address is checked as its IPv4 address, and the IPv4 address embedded in a
NAT64 (``64:ff9b::/96``, local-use ``64:ff9b:1::/48``), IPv4-compatible (``::a.b.c.d``) or
6to4 (``2002::/16``) address is checked as well. Probes are also
refused the worker's own health endpoint (``UPTIME_WORKER_HEALTH_HOST`` and
``UPTIME_WORKER_HEALTH_PORT``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import socket
import ssl
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field

import anyio
import httpcore
import httpx

from uptime_core.runtime.settings import Settings, get_settings, is_loopback

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
SocketAddress = tuple[str, int] | tuple[str, int, int, int]

# The well-known NAT64 prefix and the local-use one of RFC 8215 (which sites subnet into /96s,
# so the IPv4 address is the last 32 bits there too).
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
# IPv4-compatible addresses (::a.b.c.d, deprecated but still routed by some stacks to the
# IPv4 address); :: and ::1 are the unspecified and loopback addresses, not embeddings.
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_UNSPECIFIED = (ipaddress.IPv4Network("0.0.0.0/8"), ipaddress.IPv6Network("::/128"))
_VERDICT_CACHE_SIZE = 4096


class AddressBlocked(Exception):
    """A connection was refused by the policy; the message names the address and the setting.

    Deliberately not an ``OSError``: nothing on the way (httpcore, anyio) may mistake it for a
    network failure and retry or rewrap it.
    """

    def __init__(self, address: str, message: str) -> None:
        super().__init__(message)
        self.address = address
        self.message = message


def address_forms(address: IPAddress) -> tuple[IPAddress, ...]:
    """The addresses `address` stands for: itself (an IPv4-mapped address as its IPv4 address)
    and the IPv4 address embedded in a NAT64 (well-known or local-use), IPv4-compatible or
    6to4 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return (address,)
    if address.ipv4_mapped is not None:
        return (address.ipv4_mapped,)
    plain = ipaddress.IPv6Address(int(address))  # without a scope id, for the embedded forms
    if any(plain in prefix for prefix in _NAT64) or (plain in _IPV4_COMPATIBLE and int(plain) > 1):
        return (address, ipaddress.IPv4Address(int(plain) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        return (address, address.sixtofour)
    return (address,)


@dataclass(frozen=True)
class AddressPolicy:
    """Blocked and allowed networks, and endpoints refused whatever the networks say.

    ``reserved_ports`` are refused on every loopback and unspecified address (and on a
    connection whose two ends are the same address: the machine itself);
    ``reserved_endpoints`` on exactly that address.
    """

    blocked: tuple[Network, ...]
    allowed: tuple[Network, ...] = ()
    reserved_endpoints: tuple[tuple[IPAddress, int], ...] = ()
    reserved_ports: tuple[int, ...] = ()
    _verdicts: dict[tuple[str, int | None], str | None] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    @classmethod
    def from_settings(cls, settings: Settings, *, probes: bool) -> AddressPolicy:
        """The policy of `settings`; for probes it also refuses the worker's health endpoint."""
        endpoints: list[tuple[IPAddress, int]] = []
        ports: list[int] = []
        if probes:
            host, port = settings.worker_health_host, settings.worker_health_port
            if host in ("", "0.0.0.0", "::") or is_loopback(host):
                ports.append(port)
            else:
                # A name other than localhost is not looked up here (documented).
                with contextlib.suppress(ValueError):
                    endpoints.append((_plain(ipaddress.ip_address(host)), port))
        return cls(
            blocked=tuple(settings.blocked_networks),
            allowed=tuple(settings.allowed_networks),
            reserved_endpoints=tuple(endpoints),
            reserved_ports=tuple(ports),
        )

    def refusal(self, address: str, port: int | None = None) -> str | None:
        """Why connecting to `address` (an IP address as text) on `port` is refused, or None.

        Remembered per address: the same targets come round every interval.
        """
        key = (address, port)
        try:
            return self._verdicts[key]
        except KeyError:
            pass
        verdict = self._judge(ipaddress.ip_address(address), port)
        if len(self._verdicts) >= _VERDICT_CACHE_SIZE:
            self._verdicts.clear()
        self._verdicts[key] = verdict
        return verdict

    def _judge(self, address: IPAddress, port: int | None) -> str | None:
        shown = str(address)
        for form in address_forms(address):
            network = _first_containing(self.blocked, form)
            if network is None or _first_containing(self.allowed, form) is not None:
                continue
            subject = shown if str(form) == shown else f"{shown} stands for {form}, which"
            return f"{subject} is in a blocked network ({network}, UPTIME_BLOCKED_NETWORKS)"
        if port is None:
            return None
        for form in address_forms(address):
            plain = _plain(form)
            if (plain, port) in self.reserved_endpoints or (
                port in self.reserved_ports
                and (plain.is_loopback or any(plain in net for net in _UNSPECIFIED))
            ):
                return f"{shown} {_health_endpoint(port)}"
        return None

    def check(self, address: str, port: int | None = None, *, host: str | None = None) -> None:
        """Raise `AddressBlocked` when `address` (resolved from `host`) is refused."""
        reason = self.refusal(address, port)
        if reason is not None:
            if host is not None and literal_address(host) is None:
                # "2852039166 resolves to 169.254.169.254, which is in a blocked network (...)"
                reason = f"{host} resolves to {address}, which {reason.removeprefix(address + ' ')}"
            raise AddressBlocked(address, reason)

    def check_connected(self, peer: str, local: str, port: int) -> None:
        """After connecting: refuse a reserved port on this machine's own address (a worker
        whose health endpoint listens on every interface is reachable on each of them)."""
        if port in self.reserved_ports and _plain(ipaddress.ip_address(peer)) == _plain(
            ipaddress.ip_address(local)
        ):
            raise AddressBlocked(peer, f"{peer} {_health_endpoint(port)}")


def _health_endpoint(port: int) -> str:
    return (
        f"is where this worker's health endpoint listens on port {port} "
        "(UPTIME_WORKER_HEALTH_HOST, UPTIME_WORKER_HEALTH_PORT)"
    )


def _plain(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        return ipaddress.IPv6Address(int(address))
    return address


def _first_containing(networks: Iterable[Network], address: IPAddress) -> Network | None:
    plain = _plain(address)
    for network in networks:
        if network.version == plain.version and plain in network:
            return network
    return None


_cached: tuple[Settings, AddressPolicy, AddressPolicy] | None = None


def _policies() -> tuple[AddressPolicy, AddressPolicy]:
    global _cached
    settings = get_settings()
    if _cached is None or _cached[0] is not settings:
        _cached = (
            settings,
            AddressPolicy.from_settings(settings, probes=True),
            AddressPolicy.from_settings(settings, probes=False),
        )
    return _cached[1], _cached[2]


def probe_policy() -> AddressPolicy:
    """The policy for probes, from `get_settings()`."""
    return _policies()[0]


def send_policy() -> AddressPolicy:
    """The policy for notification sends, from `get_settings()`."""
    return _policies()[1]


# -- resolving and connecting ------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def literal_address(host: str) -> str | None:
    """`host` as a canonical IP address when it is an IP literal (brackets allowed), else
    None: names and the decimal, hex and short IPv4 forms are for the resolver."""
    try:
        return ipaddress.ip_address(host.strip("[]") if host.startswith("[") else host).compressed
    except ValueError:
        return None


async def resolve_checked(
    host: str,
    port: int | None,
    policy: AddressPolicy,
    family: socket.AddressFamily = socket.AF_UNSPEC,
) -> list[tuple[socket.AddressFamily, SocketAddress]]:
    """The addresses of `host` (of `family`) that the policy lets through on `port` (None: no
    port, as for ICMP), in the resolver's order. An IP literal is used as written, whatever
    `family` says, and costs no lookup.

    Raise `AddressBlocked` (for the first refused one) when it refuses all of them, and
    `socket.gaierror` when the name does not resolve.
    """
    literal = literal_address(host)
    number = port or 0
    if literal is not None:
        version_family: socket.AddressFamily = socket.AF_INET6 if ":" in literal else socket.AF_INET
        candidates: list[tuple[socket.AddressFamily, SocketAddress]] = [
            (version_family, (literal, number, 0, 0) if ":" in literal else (literal, number))
        ]
    else:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, number, family=family, type=socket.SOCK_STREAM)
        candidates = []
        for info_family, _, _, _, sockaddr in infos:
            entry: tuple[socket.AddressFamily, SocketAddress] = (
                info_family,
                typing.cast(SocketAddress, sockaddr),
            )
            if info_family in (socket.AF_INET, socket.AF_INET6) and entry not in candidates:
                candidates.append(entry)
    allowed: list[tuple[socket.AddressFamily, SocketAddress]] = []
    first_refusal: AddressBlocked | None = None
    for entry in candidates:
        try:
            policy.check(entry[1][0], port, host=host)
        except AddressBlocked as refusal:
            first_refusal = first_refusal or refusal
            continue
        allowed.append(entry)
    if not allowed:
        if first_refusal is not None:
            raise first_refusal
        raise socket.gaierror(socket.EAI_NONAME, f"{host} has no IP address")
    return allowed


async def connect_checked(
    host: str,
    port: int,
    policy: AddressPolicy,
    family: socket.AddressFamily = socket.AF_UNSPEC,
) -> socket.socket:
    """A connected, non-blocking TCP socket to the first address of `host` that the policy
    allows and that accepts; the caller owns it."""
    loop = asyncio.get_running_loop()
    failure: OSError | None = None
    for address_family, address in await resolve_checked(host, port, policy, family):
        sock = socket.socket(address_family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
            policy.check_connected(address[0], sock.getsockname()[0], port)
        except OSError as exc:
            sock.close()
            failure = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    assert failure is not None
    raise failure


# -- httpx ---------------------------------------------------------------------------------------

_DEFAULT_LIMITS = httpx.Limits()
_LOCAL_FAMILIES = {None: socket.AF_UNSPEC, "0.0.0.0": socket.AF_INET, "::": socket.AF_INET6}


class PolicyNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks and connects to the checked address.

    httpcore still starts TLS with the URL's host name (SNI and certificate verification are
    unchanged): it passes `server_hostname` from the request, not from the stream.
    """

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        family = _LOCAL_FAMILIES.get(local_address, socket.AF_UNSPEC)
        with anyio.fail_after(timeout):
            try:
                addresses = await resolve_checked(host, port, self._policy, family)
            except OSError as exc:
                raise httpcore.ConnectError(str(exc)) from exc
            failure: Exception | None = None
            for _, address in addresses:
                try:
                    # An IP literal: anyio's own lookup of it returns exactly this address.
                    stream = await self._backend.connect_tcp(
                        address[0], port, timeout, local_address, socket_options
                    )
                except httpcore.ConnectError as exc:
                    failure = exc
                    continue
                local = stream.get_extra_info("client_addr")
                try:
                    if local:
                        self._policy.check_connected(address[0], str(local[0]), port)
                except AddressBlocked:
                    await stream.aclose()
                    raise
                return stream
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:  # pragma: no cover - no Unix sockets leave the worker
        raise httpcore.ConnectError("Unix sockets are not used by probes or sends")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def guarded_transport(
    policy: AddressPolicy,
    ssl_context: ssl.SSLContext,
    *,
    limits: httpx.Limits = _DEFAULT_LIMITS,
    local_address: str | None = None,
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection (each redirect hop too) obeys `policy`: for
    notification sends (the HTTP probe connects through `resolve_checked` itself, in
    uptime_core/probes/http_wire.py).

    httpx takes no network backend, so its connection pool is replaced by an equal one that
    has ours; tests/alerting/test_send_policy.py fails if an httpx upgrade breaks this.
    """
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        local_address=local_address,
        network_backend=PolicyNetworkBackend(policy),
    )
    return transport
