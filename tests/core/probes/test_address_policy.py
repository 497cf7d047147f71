"""The address policy on real loopback sockets: every spelling of a refused address is refused
before anything is sent, redirect hops are checked, allowed networks re-allow, and the
worker's own health port is off limits. The metadata address itself is tested inside a
network namespace of its own (test_metadata_namespace.py)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.peers import HttpPeer, Target, TcpPeer
from uptime_core.address_policy import AddressBlocked, AddressPolicy, address_forms
from uptime_core.enums import CheckStatus, ErrorKind
from uptime_core.probes import probe
from uptime_core.runtime.settings import Settings, get_settings

LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")
NO_LOOPBACK = AddressPolicy(blocked=(LOOPBACK_V4,))
REFUSED = "127.0.0.1 is in a blocked network (127.0.0.0/8, UPTIME_BLOCKED_NETWORKS)"
# Every way of writing 127.0.0.1 that a host field accepts (httpx refuses the octal one in a URL).
SPELLINGS = ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "0177.0.0.1", "::ffff:127.0.0.1"]
URL_SPELLINGS = [spelling for spelling in SPELLINGS if not spelling.startswith("0177")]


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """Settings read again from the environment the test sets (and again afterwards)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


# -- the policy itself --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "refused_as"),
    [
        ("169.254.169.254", "169.254.169.254 is in"),
        ("::ffff:169.254.169.254", "::ffff:a9fe:a9fe stands for 169.254.169.254, which is in"),
        ("64:ff9b::a9fe:a9fe", "64:ff9b::a9fe:a9fe stands for 169.254.169.254, which is in"),
        ("2002:a9fe:a9fe::1", "2002:a9fe:a9fe::1 stands for 169.254.169.254, which is in"),
        ("fe80::1", "fe80::1 is in"),
        ("fd00:ec2::254", "fd00:ec2::254 is in"),
        ("100.100.100.200", "100.100.100.200 is in"),
        ("0.0.0.0", "0.0.0.0 is in"),
        ("::", ":: is in"),
    ],
)
def test_default_policy_refuses_metadata_link_local_and_this_network(
    address: str, refused_as: str
) -> None:
    policy = AddressPolicy.from_settings(Settings(), probes=False)

    reason = policy.refusal(address, 80)

    assert reason is not None and reason.startswith(refused_as), reason
    assert reason.endswith(", UPTIME_BLOCKED_NETWORKS)")


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::1", "10.1.2.3", "192.168.1.1", "172.16.0.1", "fd12::1", "8.8.8.8"]
)
def test_default_policy_allows_loopback_private_and_public(address: str) -> None:
    policy = AddressPolicy.from_settings(Settings(), probes=False)

    assert policy.refusal(address, 443) is None


def test_a_refused_address_is_one_in_a_blocked_and_in_no_allowed_network() -> None:
    policy = AddressPolicy.from_settings(
        Settings(allowed_networks="169.254.169.254/32"), probes=False
    )

    assert policy.refusal("169.254.169.254", 80) is None
    assert policy.refusal("::ffff:169.254.169.254", 80) is None
    assert policy.refusal("169.254.169.253", 80) is not None


def test_embedded_addresses_are_read_from_nat64_and_6to4() -> None:
    forms = address_forms(ipaddress.ip_address("64:ff9b::7f00:1"))

    assert ipaddress.ip_address("127.0.0.1") in forms
    assert address_forms(ipaddress.ip_address("::ffff:10.0.0.1")) == (
        ipaddress.ip_address("10.0.0.1"),
    )


@pytest.mark.parametrize(
    ("address", "ipv4"),
    [
        ("64:ff9b:1::a9fe:a9fe", "169.254.169.254"),  # NAT64 local use (RFC 8215)
        ("64:ff9b:1:abcd::7f00:1", "127.0.0.1"),
        ("::169.254.169.254", "169.254.169.254"),  # IPv4-compatible
        ("::7f00:1", "127.0.0.1"),
        ("::0.0.0.2", "0.0.0.2"),
    ],
)
def test_embedded_addresses_are_read_from_local_nat64_and_ipv4_compatible(
    address: str, ipv4: str
) -> None:
    forms = address_forms(ipaddress.ip_address(address))
    policy = AddressPolicy.from_settings(Settings(), probes=False)

    assert ipaddress.ip_address(ipv4) in forms
    assert ipaddress.ip_address(address) in forms
    if ipv4 == "169.254.169.254":
        reason = policy.refusal(address, 80)
        assert reason is not None
        assert reason.startswith(f"{ipaddress.ip_address(address)} stands for 169.254.169.254")


@pytest.mark.parametrize("address", ["::", "::1", "::1:0:0:0", "64:ff9b:2::a9fe:a9fe"])
def test_unspecified_loopback_and_other_prefixes_embed_nothing(address: str) -> None:
    assert address_forms(ipaddress.ip_address(address)) == (ipaddress.ip_address(address),)


def test_health_port_is_refused_to_probes_only() -> None:
    settings = Settings(worker_health_host="0.0.0.0", worker_health_port=8001)
    probes = AddressPolicy.from_settings(settings, probes=True)
    sends = AddressPolicy.from_settings(settings, probes=False)

    for address in ("127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"):
        reason = probes.refusal(address, 8001)
        assert reason is not None and "this worker's health endpoint" in reason, address
        assert probes.refusal(address, 8002) is None
        assert sends.refusal(address, 8001) is None
    with pytest.raises(AddressBlocked):
        probes.check_connected("10.0.0.5", "10.0.0.5", 8001)
    probes.check_connected("10.0.0.6", "10.0.0.5", 8001)


# -- probes on real sockets ---------------------------------------------------------------------


@pytest.mark.parametrize("spelling", URL_SPELLINGS)
async def test_http_probe_refuses_every_spelling(http_peer: HttpPeer, spelling: str) -> None:
    url = http_peer.url("/ok", host=spelling)

    result = await probe(Target("http", url=url), NO_LOOPBACK)

    assert result.status is CheckStatus.DOWN
    assert result.error_kind is ErrorKind.BLOCKED
    assert result.message is not None and REFUSED.split(" is in")[1] in result.message
    assert http_peer.connections == 0


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_tcp_probe_refuses_every_spelling(tcp_peer: TcpPeer, spelling: str) -> None:
    result = await probe(Target("tcp", host=spelling, port=tcp_peer.port), NO_LOOPBACK)

    assert result.error_kind is ErrorKind.BLOCKED
    assert result.message is not None and result.message.endswith(REFUSED.split("0.1 ")[1])
    assert result.resolved_address is not None
    assert tcp_peer.accepted == 0


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_icmp_probe_refuses_every_spelling(spelling: str) -> None:
    result = await probe(Target("icmp", host=spelling), NO_LOOPBACK)

    assert result.error_kind is ErrorKind.BLOCKED
    assert result.latency_ms is None


async def test_names_and_numeric_spellings_name_what_they_resolved_to(http_peer: HttpPeer) -> None:
    by_name = await probe(Target("http", url=http_peer.url("/ok", host="2130706433")), NO_LOOPBACK)
    literal = await probe(Target("http", url=http_peer.url("/ok")), NO_LOOPBACK)

    assert by_name.message == (
        "2130706433 resolves to 127.0.0.1, which is in a blocked network "
        "(127.0.0.0/8, UPTIME_BLOCKED_NETWORKS)"
    )
    assert literal.message == REFUSED
    assert literal.resolved_address == "127.0.0.1"


async def test_a_redirect_to_a_refused_address_is_refused_at_that_hop(
    http_peer: HttpPeer, http_peer_v6: HttpPeer
) -> None:
    http_peer.https_redirect_target = http_peer_v6.url("/ok")
    policy = AddressPolicy(blocked=(ipaddress.ip_network("::1/128"),))

    result = await probe(Target("http", url=http_peer.url("/to-https")), policy)

    assert result.error_kind is ErrorKind.BLOCKED
    assert result.message == "::1 is in a blocked network (::1/128, UPTIME_BLOCKED_NETWORKS)"
    assert http_peer.connections == 1
    assert http_peer_v6.connections == 0


async def test_allowed_networks_re_allow(http_peer: HttpPeer, tcp_peer: TcpPeer) -> None:
    policy = AddressPolicy(blocked=(LOOPBACK_V4,), allowed=(ipaddress.ip_network("127.0.0.1"),))

    http = await probe(Target("http", url=http_peer.url("/ok", host="2130706433")), policy)
    tcp = await probe(Target("tcp", host="::ffff:127.0.0.1", port=tcp_peer.port), policy)
    icmp = await probe(Target("icmp", host="127.1"), policy)

    assert (http.status, tcp.status, icmp.status) == (CheckStatus.UP,) * 3, (http, tcp, icmp)
    assert http_peer.connections == 1 and tcp_peer.accepted == 1


async def test_default_settings_reach_loopback_and_refuse_this_network(
    http_peer: HttpPeer, tcp_peer: TcpPeer, fresh_settings: None
) -> None:
    up = await probe(Target("http", url=http_peer.url("/ok")))
    zero_http = await probe(Target("http", url=http_peer.url("/ok", host="0.0.0.0")))
    zero_tcp = await probe(Target("tcp", host="0", port=tcp_peer.port))

    assert up.status is CheckStatus.UP
    assert zero_http.error_kind is ErrorKind.BLOCKED
    assert zero_http.message == (
        "0.0.0.0 is in a blocked network (0.0.0.0/8, UPTIME_BLOCKED_NETWORKS)"
    )
    assert zero_tcp.error_kind is ErrorKind.BLOCKED
    assert http_peer.connections == 1 and tcp_peer.accepted == 0


async def test_settings_from_the_environment(
    http_peer: HttpPeer, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    monkeypatch.setenv("UPTIME_BLOCKED_NETWORKS", "127.0.0.0/8")
    blocked = await probe(Target("http", url=http_peer.url("/ok")))
    monkeypatch.setenv("UPTIME_ALLOWED_NETWORKS", "127.0.0.1/32")
    get_settings.cache_clear()
    allowed = await probe(Target("http", url=http_peer.url("/ok")))

    assert blocked.error_kind is ErrorKind.BLOCKED
    assert allowed.status is CheckStatus.UP
    assert http_peer.connections == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.0.0.2", "::ffff:127.0.0.1"])
async def test_the_workers_own_health_port_is_refused(
    http_peer: HttpPeer, monkeypatch: pytest.MonkeyPatch, fresh_settings: None, host: str
) -> None:
    monkeypatch.setenv("UPTIME_WORKER_HEALTH_HOST", "127.0.0.1")
    monkeypatch.setenv("UPTIME_WORKER_HEALTH_PORT", str(http_peer.port))

    http = await probe(Target("http", url=http_peer.url("/metrics", host=host)))
    tcp = await probe(Target("tcp", host=host, port=http_peer.port))

    for result in (http, tcp):
        assert result.error_kind is ErrorKind.BLOCKED, result
        assert result.message is not None
        assert result.message.endswith(
            f"is where this worker's health endpoint listens on port {http_peer.port} "
            "(UPTIME_WORKER_HEALTH_HOST, UPTIME_WORKER_HEALTH_PORT)"
        )
    assert http_peer.connections == 0


async def test_a_name_is_resolved_once_and_the_checked_address_is_the_one_connected(
    http_peer: HttpPeer, tcp_peer: TcpPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: the first answer passes the check, every later one is a blocked address.
    # Connecting must not look the name up again.
    loop = asyncio.get_running_loop()
    real_getaddrinfo = loop.getaddrinfo
    lookups: list[str] = []

    async def rebinding(host: Any, port: Any, **kwargs: Any) -> Any:
        lookups.append(str(host))
        answer = "127.0.0.1" if len(lookups) == 1 else "169.254.169.254"
        return await real_getaddrinfo(answer, port, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", rebinding)
    policy = AddressPolicy(blocked=(ipaddress.ip_network("169.254.0.0/16"),))

    http = await probe(Target("http", url=f"http://rebind.test:{http_peer.port}/ok"), policy)
    assert lookups == ["rebind.test"]
    lookups.clear()
    tcp = await probe(Target("tcp", host="rebind.test", port=tcp_peer.port), policy)

    assert lookups == ["rebind.test"]
    assert (http.status, http.resolved_address) == (CheckStatus.UP, "127.0.0.1")
    assert (tcp.status, tcp.resolved_address) == (CheckStatus.UP, "127.0.0.1")


async def test_an_ip_literal_costs_no_lookup_and_a_name_one_in_the_family_asked_for(
    tcp_peer: TcpPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()
    real_getaddrinfo = loop.getaddrinfo
    lookups: list[tuple[str, int]] = []

    async def counting(host: Any, port: Any, **kwargs: Any) -> Any:
        lookups.append((str(host), kwargs.get("family", 0)))
        return await real_getaddrinfo(host, port, **kwargs)

    monkeypatch.setattr(loop, "getaddrinfo", counting)
    literals = [
        await probe(Target("tcp", host="127.0.0.1", port=tcp_peer.port, options=options))
        for options in ({}, {"ipFamily": "ipv6"})
    ]
    icmp = await probe(Target("icmp", host="127.0.0.1"))
    assert lookups == []
    by_name = await probe(
        Target("tcp", host="localhost", port=tcp_peer.port, options={"ipFamily": "ipv4"})
    )

    assert [r.status for r in (*literals, icmp, by_name)] == [CheckStatus.UP] * 4
    assert lookups == [("localhost", socket.AF_INET)]
    assert by_name.resolved_address == "127.0.0.1"
