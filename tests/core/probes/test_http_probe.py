"""The HTTP probe against real local peers."""

from __future__ import annotations

import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.peers import BIG_BODY_BYTES, CertificateSet, HttpPeer, Target
from uptime_core.enums import CheckStatus, ErrorKind
from uptime_core.probes import probe


async def test_plain_get_is_up_with_latency_status_and_address(http_peer: HttpPeer) -> None:
    result = await probe(Target("http", url=http_peer.url("/ok")))

    assert result.status is CheckStatus.UP
    assert result.error_kind is None
    assert result.http_status == 200
    assert result.resolved_address == "127.0.0.1"
    assert result.latency_ms is not None and 0 < result.latency_ms < 3000
    assert result.tls_expires_at is None


async def test_every_check_opens_a_fresh_connection(http_peer: HttpPeer) -> None:
    for _ in range(3):
        assert (await probe(Target("http", url=http_peer.url("/ok")))).is_up
    assert http_peer.connections == 3


async def test_ipv6_literal_url(http_peer_v6: HttpPeer) -> None:
    result = await probe(Target("http", url=http_peer_v6.url("/ok")))

    assert result.status is CheckStatus.UP
    assert result.resolved_address == "::1"


async def test_ip_family_restricts_name_resolution(http_peer: HttpPeer) -> None:
    target = Target("http", url=http_peer.url("/ok", host="localhost"))
    target.options = {"ipFamily": "ipv4"}

    result = await probe(target)

    assert result.status is CheckStatus.UP, result.message
    assert result.resolved_address == "127.0.0.1"


async def test_method_headers_and_body_are_sent(http_peer: HttpPeer) -> None:
    options = {
        "method": "post",
        "headers": {"X-Probe": "yes", "User-Agent": "custom-agent"},
        "body": '{"ping": 1}',
        "jsonAssertion": {"path": "$.body", "operator": "==", "value": '{"ping": 1}'},
    }
    result = await probe(Target("http", url=http_peer.url("/echo"), options=options))
    assert result.status is CheckStatus.UP, result.message

    for path, expected in [
        ("method", "POST"),
        ("headers.x-probe", "yes"),
        ("headers.user-agent", "custom-agent"),
    ]:
        options["jsonAssertion"] = {"path": path, "value": expected}
        result = await probe(Target("http", url=http_peer.url("/echo"), options=options))
        assert result.status is CheckStatus.UP, result.message


async def test_unaccepted_status_is_down_with_the_code(http_peer: HttpPeer) -> None:
    result = await probe(Target("http", url=http_peer.url("/status/503")))

    assert result.status is CheckStatus.DOWN
    assert result.error_kind is ErrorKind.HTTP_STATUS
    assert result.http_status == 503
    assert result.message == "HTTP 503 Service Unavailable is not accepted (200-399)"
    assert result.latency_ms is not None


@pytest.mark.parametrize(
    ("codes", "status", "up"),
    [
        (["500-599"], 503, True),
        ([404, "200-299"], 404, True),
        (["200"], 204, False),
        (["200-299"], 302, False),
    ],
)
async def test_accepted_status_codes_and_ranges(
    http_peer: HttpPeer, codes: list[Any], status: int, up: bool
) -> None:
    target = Target(
        "http",
        url=http_peer.url(f"/status/{status}"),
        options={"acceptedStatusCodes": codes, "followRedirects": False},
    )
    result = await probe(target)

    assert result.is_up is up
    assert result.http_status == status


async def test_redirects_are_followed_to_the_final_response(http_peer: HttpPeer) -> None:
    result = await probe(Target("http", url=http_peer.url("/redirect/3")))

    assert result.status is CheckStatus.UP
    assert result.http_status == 200


async def test_redirects_beyond_the_maximum_fail(http_peer: HttpPeer) -> None:
    target = Target("http", url=http_peer.url("/redirect/3"), options={"maxRedirects": 2})
    result = await probe(target)

    assert result.status is CheckStatus.DOWN
    assert result.error_kind is ErrorKind.TOO_MANY_REDIRECTS
    assert result.message is not None and "more than 2 redirects" in result.message
    assert result.http_status == 302


async def test_redirect_loop_is_named_as_a_loop(http_peer: HttpPeer) -> None:
    result = await probe(Target("http", url=http_peer.url("/loop/a")))

    assert result.error_kind is ErrorKind.TOO_MANY_REDIRECTS
    assert result.message == (
        f"redirect loop: {http_peer.url('/loop/b')} -> {http_peer.url('/loop/a')}"
        f" -> {http_peer.url('/loop/b')}"
    )
    # The loop was followed up to the default maximum of 10, not forever.
    assert http_peer.connections == 11


async def test_redirect_messages_never_show_the_url_password(http_peer: HttpPeer) -> None:
    url = http_peer.url("/loop/a").replace("://", "://monitor:pa55w0rd@")
    loop = await probe(Target("http", url=url))
    too_many = await probe(
        Target("http", url=url.replace("/loop/a", "/redirect/3"), options={"maxRedirects": 1})
    )

    for result in (loop, too_many):
        assert result.error_kind is ErrorKind.TOO_MANY_REDIRECTS
        assert result.message is not None and "pa55w0rd" not in result.message
        assert "monitor:***@" in result.message


async def test_redirects_not_followed_when_disabled(http_peer: HttpPeer) -> None:
    target = Target("http", url=http_peer.url("/redirect/3"), options={"followRedirects": False})
    result = await probe(target)

    assert result.status is CheckStatus.UP
    assert result.http_status == 302
    assert http_peer.connections == 1


async def test_slow_response_times_out_within_the_bound(http_peer: HttpPeer) -> None:
    started = time.perf_counter()
    result = await probe(Target("http", url=http_peer.url("/slow"), timeout_seconds=0.5))
    elapsed = time.perf_counter() - started

    assert result.status is CheckStatus.DOWN
    assert result.error_kind is ErrorKind.TIMEOUT
    assert result.message == "no answer within 0.5 s (waiting for the response)"
    assert result.resolved_address == "127.0.0.1"
    assert 0.5 <= elapsed < 0.8


async def test_hundred_mib_body_is_read_no_further_than_one_mib(http_peer: HttpPeer) -> None:
    target = Target(
        "http", url=http_peer.url("/big"), timeout_seconds=10, options={"keyword": "needle"}
    )
    tracemalloc.start()
    try:
        result = await probe(target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await http_peer.big_body_done.wait()

    assert result.error_kind is ErrorKind.KEYWORD
    assert result.message == "'needle' not found in the first 1 MiB of the body"
    # The server could push only what fits in socket buffers beyond the 1 MiB read.
    assert http_peer.big_body_bytes_sent < BIG_BODY_BYTES // 4
    assert peak < 8 * 1024 * 1024


@pytest.mark.parametrize(
    ("options", "status", "kind", "message"),
    [
        ({"keyword": "operational"}, CheckStatus.UP, None, None),
        (
            {"keyword": "outage"},
            CheckStatus.DOWN,
            ErrorKind.KEYWORD,
            "'outage' not found in the body",
        ),
        ({"keyword": "outage", "keywordAbsent": True}, CheckStatus.UP, None, None),
        (
            {"keyword": "operational", "keywordAbsent": True},
            CheckStatus.DOWN,
            ErrorKind.KEYWORD,
            "'operational' found in the body",
        ),
    ],
)
async def test_keyword(
    http_peer: HttpPeer,
    options: dict[str, Any],
    status: CheckStatus,
    kind: ErrorKind | None,
    message: str | None,
) -> None:
    result = await probe(Target("http", url=http_peer.url("/ok"), options=options))

    assert (result.status, result.error_kind, result.message) == (status, kind, message)


@pytest.mark.parametrize(
    ("assertion", "failure"),
    [
        ({"path": "$.status", "operator": "==", "value": "ok"}, None),
        ({"path": "status", "value": "down"}, 'expected $.status == "down", found "ok"'),
        ({"path": "$.checks.db.latency", "operator": "<", "value": 100}, None),
        (
            {"path": "$.checks.db.latency", "operator": ">=", "value": 100},
            "expected $.checks.db.latency >= 100, found 12.5",
        ),
        ({"path": "$.checks.db.up", "operator": "==", "value": True}, None),
        ({"path": "$.items", "operator": "contains", "value": 2}, None),
        ({"path": "$.items[-1]", "operator": "!=", "value": 1}, None),
        ({"path": "$.checks", "operator": "exists"}, None),
        ({"path": "$.checks.cache", "operator": "exists"}, "$.checks.cache not found"),
        (
            {"path": "$.status", "operator": ">", "value": 1},
            '$.status is "ok", not a number',
        ),
    ],
)
async def test_json_assertion(
    http_peer: HttpPeer, assertion: dict[str, Any], failure: str | None
) -> None:
    options = {"jsonAssertion": assertion}
    result = await probe(Target("http", url=http_peer.url("/json"), options=options))

    if failure is None:
        assert result.status is CheckStatus.UP, result.message
    else:
        assert result.status is CheckStatus.DOWN
        assert result.error_kind is ErrorKind.JSON_ASSERTION
        assert result.message == failure


async def test_json_assertion_on_a_body_that_is_not_json(http_peer: HttpPeer) -> None:
    options = {"jsonAssertion": {"path": "$.status", "value": "ok"}}
    result = await probe(Target("http", url=http_peer.url("/ok"), options=options))

    assert result.error_kind is ErrorKind.INVALID_RESPONSE
    assert result.message is not None and result.message.startswith("body is not JSON")


async def test_a_response_that_is_not_http(http_peer: HttpPeer) -> None:
    result = await probe(Target("http", url=http_peer.url("/garbage")))

    assert result.status is CheckStatus.DOWN
    assert result.error_kind is ErrorKind.INVALID_RESPONSE


async def test_closed_port_is_refused(closed_port: int) -> None:
    result = await probe(Target("http", url=f"http://127.0.0.1:{closed_port}/"))

    assert result.error_kind is ErrorKind.REFUSED
    assert result.message == f"connection refused (connecting to 127.0.0.1:{closed_port})"


async def test_name_that_cannot_resolve_is_dns() -> None:
    result = await probe(Target("http", url="http://no-such-host.invalid/"))

    assert result.status is CheckStatus.DOWN
    assert result.error_kind is ErrorKind.DNS
    assert result.resolved_address is None


async def test_slow_but_correct_is_degraded(http_peer: HttpPeer) -> None:
    # Any real round trip takes longer than a microsecond.
    target = Target("http", url=http_peer.url("/ok"), options={"degradedLatencyMs": 0.001})
    result = await probe(target)

    assert result.status is CheckStatus.DEGRADED
    assert result.error_kind is ErrorKind.SLOW
    assert result.message is not None and "above 0.001 ms" in result.message


# --- HTTPS ---------------------------------------------------------------------------------


async def test_https_expiry_is_read_back_exactly(
    https_peer: HttpPeer, certificates: CertificateSet
) -> None:
    target = Target("http", url=https_peer.url("/ok"), options={"verifyTls": False})
    result = await probe(target)

    assert result.status is CheckStatus.UP
    assert result.tls_expires_at == datetime(2034, 7, 19, 13, 47, 29, tzinfo=UTC)
    assert result.tls_expires_at == certificates.valid.not_after


async def test_https_untrusted_certificate_is_a_tls_failure(https_peer: HttpPeer) -> None:
    result = await probe(Target("http", url=https_peer.url("/ok")))

    assert result.status is CheckStatus.DOWN
    assert result.error_kind is ErrorKind.TLS
    assert result.message is not None and "unable to get local issuer" in result.message
    assert result.resolved_address == "127.0.0.1"


@pytest.mark.usefixtures("trust_test_ca")
async def test_https_verified_with_a_trusted_ca(
    https_peer: HttpPeer, certificates: CertificateSet
) -> None:
    for host in ("127.0.0.1", "localhost"):
        result = await probe(Target("http", url=https_peer.url("/ok", host=host)))
        assert result.status is CheckStatus.UP, result.message
        assert result.tls_expires_at == certificates.valid.not_after


@pytest.mark.usefixtures("trust_test_ca")
async def test_certificate_closer_than_the_configured_days_is_degraded(
    https_peer_expiring: HttpPeer, certificates: CertificateSet
) -> None:
    target = Target("http", url=https_peer_expiring.url("/ok"), options={"certExpiryDays": 7})
    result = await probe(target)

    assert result.status is CheckStatus.DEGRADED
    assert result.error_kind is ErrorKind.CERT_EXPIRING
    assert result.tls_expires_at == certificates.expiring.not_after
    assert result.message is not None and "expires in 3.0 days" in result.message

    target.options = {"certExpiryDays": 2}
    assert (await probe(target)).status is CheckStatus.UP


@pytest.mark.usefixtures("trust_test_ca")
async def test_expiry_reported_is_the_final_hop_after_a_redirect(
    http_peer: HttpPeer, https_peer: HttpPeer, certificates: CertificateSet
) -> None:
    http_peer.https_redirect_target = https_peer.url("/ok")
    result = await probe(Target("http", url=http_peer.url("/to-https")))

    assert result.status is CheckStatus.UP, result.message
    assert result.tls_expires_at == certificates.valid.not_after
    assert result.tls_expires_at - datetime.now(UTC) > timedelta(days=365)
