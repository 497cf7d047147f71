"""`validate_target_settings`: every problem named by its API field, canonical options out."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.peers import Target
from uptime_core.enums import CheckStatus, ErrorKind, ProbeKind
from uptime_core.probes import HttpOptions, probe, validate_target_settings
from uptime_core.probes.options import MAX_HEADER_BYTES, MAX_HEADERS
from uptime_core.probes.validation import redact_password
from uptime_core.validation import InvalidFields


def _errors(**settings: Any) -> dict[str, str]:
    settings.setdefault("timeout_seconds", 5.0)
    with pytest.raises(InvalidFields) as raised:
        validate_target_settings(**settings)
    return {error.field: error.message for error in raised.value.errors}


def test_empty_options_are_valid_and_filled_with_defaults() -> None:
    settings = validate_target_settings(
        kind="http", url=" https://example.com/health ", timeout_seconds=5, options={}
    )

    assert settings.kind is ProbeKind.HTTP
    assert settings.url == "https://example.com/health"
    assert settings.options == {
        "method": "GET",
        "headers": {},
        "body": None,
        "acceptedStatusCodes": ["200-399"],
        "followRedirects": True,
        "maxRedirects": 10,
        "verifyTls": True,
        "certExpiryDays": None,
        "keyword": None,
        "keywordAbsent": False,
        "jsonAssertion": None,
        "degradedLatencyMs": None,
        "ipFamily": "any",
    }
    assert validate_target_settings(
        kind="tcp", host="db.internal", port=5432, timeout_seconds=5
    ).options == {
        "tls": False,
        "verifyTls": True,
        "certExpiryDays": None,
        "degradedLatencyMs": None,
        "ipFamily": "any",
    }
    assert validate_target_settings(kind="icmp", host="::1", timeout_seconds=5).options == {
        "degradedLatencyMs": None,
        "ipFamily": "any",
    }


def test_canonical_options_validate_to_themselves() -> None:
    raw = {
        "method": "post",
        "acceptedStatusCodes": [200, "300 - 308"],
        "jsonAssertion": {"path": "status", "value": "ok"},
    }
    first = validate_target_settings(kind="http", url="http://x", timeout_seconds=1, options=raw)
    second = validate_target_settings(
        kind="http", url="http://x", timeout_seconds=1, options=first.options
    )

    assert first.options["method"] == "POST"
    assert first.options["acceptedStatusCodes"] == ["200", "300-308"]
    assert first.options["jsonAssertion"] == {"path": "status", "operator": "==", "value": "ok"}
    assert second.options == first.options
    assert HttpOptions.model_validate(first.options) == first.parsed_options


def test_host_is_normalised() -> None:
    assert validate_target_settings(kind="icmp", host=" [::1] ", timeout_seconds=1).host == "::1"
    assert (
        validate_target_settings(kind="tcp", host="Example.COM.", port=1, timeout_seconds=1).host
        == "Example.COM."
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"kind": "smtp"}, {"kind": "must be one of http, tcp, icmp"}),
        ({"kind": "http"}, {"url": "is required for http targets"}),
        (
            {"kind": "http", "url": "ftp://example.com"},
            {"url": "must start with http:// or https://"},
        ),
        ({"kind": "http", "url": "http://"}, {"url": "has no host name"}),
        (
            {"kind": "http", "url": "http://x", "host": "x", "port": 80},
            {
                "host": "is not used by http targets; put it in url",
                "port": "is not used by http targets; put it in url",
            },
        ),
        ({"kind": "tcp", "host": "x"}, {"port": "is required for tcp targets"}),
        ({"kind": "tcp", "host": "x", "port": 0}, {"port": "must be between 1 and 65535"}),
        ({"kind": "tcp", "host": "x", "port": 65536}, {"port": "must be between 1 and 65535"}),
        ({"kind": "tcp", "port": 22}, {"host": "is required for tcp targets"}),
        (
            {"kind": "tcp", "host": "http://x", "port": 22},
            {"host": "must be a host name or IP address, not a URL"},
        ),
        ({"kind": "icmp", "host": "bad host"}, {"host": "'bad host' is not a valid host name"}),
        ({"kind": "icmp", "host": "x", "port": 7}, {"port": "is not used by icmp targets"}),
        (
            {"kind": "icmp", "host": "x", "timeout_seconds": 0},
            {"timeoutSeconds": "must be above 0 and at most 300"},
        ),
        (
            {"kind": "icmp", "host": "x", "timeout_seconds": 30, "interval_seconds": 10},
            {"timeoutSeconds": "must not exceed intervalSeconds"},
        ),
        (
            {"kind": "icmp", "host": "x", "interval_seconds": 0.5},
            {"intervalSeconds": "must be at least 1"},
        ),
    ],
)
def test_top_level_fields(settings: dict[str, Any], expected: dict[str, str]) -> None:
    assert _errors(**settings) == expected


@pytest.mark.parametrize(
    ("kind", "options", "field", "message"),
    [
        (
            "http",
            {"jsonAssertion": {"path": "$.a", "operator": "~="}},
            "options.jsonAssertion.operator",
            None,
        ),
        ("http", {"jsonAssertion": {"path": "$.a[x]"}}, "options.jsonAssertion.path", None),
        ("http", {"jsonAssertion": {"operator": "=="}}, "options.jsonAssertion.path", None),
        (
            "http",
            {"jsonAssertion": {"path": "$.a", "operator": "<", "value": "10"}},
            "options.jsonAssertion.value",
            'operator "<" needs a number',
        ),
        ("http", {"method": "BREW"}, "options.method", None),
        ("http", {"headers": {"Bad Name": "x"}}, "options.headers[0].name", None),
        ("http", {"headers": {"X-A": "a\r\nInjected: 1"}}, "options.headers[0].value", None),
        (
            "http",
            {"acceptedStatusCodes": ["2xx"]},
            "options.acceptedStatusCodes",
            '"2xx" is not a status code or a range like "200-299"',
        ),
        ("http", {"acceptedStatusCodes": []}, "options.acceptedStatusCodes", None),
        ("http", {"maxRedirects": -1}, "options.maxRedirects", None),
        ("http", {"keywordAbsent": True}, "options.keywordAbsent", "needs a keyword to look for"),
        ("http", {"degradedLatencyMs": 0}, "options.degradedLatencyMs", None),
        ("http", {"tls": True}, "options.tls", "unknown option"),
        ("tcp", {"certExpiryDays": 7}, "options.certExpiryDays", "needs options.tls to be true"),
        ("tcp", {"tls": "maybe"}, "options.tls", None),
        ("icmp", {"ipFamily": "ipv5"}, "options.ipFamily", None),
        ("icmp", {"keyword": "x"}, "options.keyword", "unknown option"),
    ],
)
def test_option_fields(kind: str, options: dict[str, Any], field: str, message: str | None) -> None:
    where = (
        {"url": "http://x"}
        if kind == "http"
        else {"host": "x", "port": 1 if kind == "tcp" else None}
    )
    errors = _errors(kind=kind, options=options, **where)

    assert list(errors) == [field]
    if message is not None:
        assert errors[field] == message


def test_all_problems_are_reported_at_once() -> None:
    errors = _errors(
        kind="http",
        url=None,
        timeout_seconds=-1,
        options={"method": "FOO", "jsonAssertion": {"path": "$", "operator": "?"}, "extra": 1},
    )

    assert set(errors) == {
        "url",
        "timeoutSeconds",
        "options.method",
        "options.jsonAssertion.operator",
        "options.extra",
    }


async def test_probe_reports_invalid_settings_instead_of_raising() -> None:
    result = await probe(Target("tcp", host="127.0.0.1", port=70000))

    assert result.status is CheckStatus.DOWN
    assert result.error_kind is ErrorKind.INVALID_TARGET
    assert result.message == "invalid target settings: port: must be between 1 and 65535"


def _http_errors(url: str = "http://x.example/", **options: Any) -> dict[str, str]:
    return _errors(kind="http", url=url, options=options)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://x.example/a b", "contains ' '"),
        ("http://x .example/", "contains ' '"),
        ("http://x.example/\x01", "contains '\\x01'"),
        ("http://x.example/\x7f", "contains '\\x7f'"),
        ("http://x.example\\@y.example/", "contains '\\\\'"),
        ("http://x.example:99999/", "has a port outside 1-65535"),
        ("http://x.example:0/", "has a port outside 1-65535"),
        ("http://x.example:-1/", "has a port outside 1-65535"),
        ("http://x.example:+80/", "has a port outside 1-65535"),
        ("http://[::1]:70000/", "has a port outside 1-65535"),
        ("http://x.example:/", "has an empty port"),
        ("http://:80/", "has no host name"),
        ("http:///path", "has no host name"),
        ("http://[::1/", "has a malformed IPv6 address"),
        ("http://[not-v6]/", "is not an IPv6 address"),
        ("http://a%20b/", "is not a valid host name"),
        ("http://-x.example/", "is not a valid host name"),
        ("file:///etc/passwd", "must start with http:// or https://"),
        ("javascript:alert(1)", "must start with http:// or https://"),
        ("x.example", "must start with http:// or https://"),
        ("http://x.example/" + "a" * 2048, "is longer than 2048 characters"),
    ],
)
def test_urls_that_cannot_be_requested_are_refused(url: str, message: str) -> None:
    errors = _errors(kind="http", url=url)
    assert list(errors) == ["url"]
    assert message in errors["url"], errors


@pytest.mark.parametrize(
    "url",
    [
        "http://x.example",
        "HTTPS://X.example:8443/a?b=c#d",
        "http://[::1]:8080/",
        "http://127.0.0.1:1/",
        "http://bücher.example/ä",
        "http://user:p%40ss@x.example/",
        "http://x.example/a%20b",
    ],
)
def test_urls_that_can_be_requested_are_kept_as_written(url: str) -> None:
    assert validate_target_settings(kind="http", url=url, timeout_seconds=1).url == url


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([{"name": "Bad Name", "value": "x"}], {"options.headers[0].name"}),
        ([{"name": "", "value": "x"}], {"options.headers[0].name"}),
        (
            [{"name": "X-A", "value": "ok"}, {"name": "X-B", "value": "é"}],
            {"options.headers[1].value"},
        ),
        ([{"name": "X-A", "value": "€"}], {"options.headers[0].value"}),
        ([{"name": "X-A", "value": "a\nB: 1"}], {"options.headers[0].value"}),
        ([{"name": "X-A", "value": "a\rb"}], {"options.headers[0].value"}),
        ([{"name": "X-A", "value": "a\x00b"}], {"options.headers[0].value"}),
        ([{"name": "X-A", "value": "a\x7fb"}], {"options.headers[0].value"}),
        ([{"name": "X-A", "value": "a\x85b"}], {"options.headers[0].value"}),
        (
            [{"name": "X-A", "value": "1"}, {"name": "x-a", "value": "2"}],
            {"options.headers[1].name"},
        ),
        ([{"name": "Transfer-Encoding", "value": "chunked"}], {"options.headers[0].name"}),
        ([{"name": "content-length", "value": "5"}], {"options.headers[0].name"}),
        ([{"name": "Connection", "value": "close"}], {"options.headers[0].name"}),
        ([{"name": "Keep-Alive", "value": "timeout=5"}], {"options.headers[0].name"}),
        ([{"name": "TE", "value": "trailers"}], {"options.headers[0].name"}),
        ([{"name": "Trailer", "value": "X"}], {"options.headers[0].name"}),
        ([{"name": "Upgrade", "value": "websocket"}], {"options.headers[0].name"}),
        ([{"name": "Proxy-Authorization", "value": "Basic x"}], {"options.headers[0].name"}),
        ([{"name": f"X-{n}", "value": "v"} for n in range(MAX_HEADERS + 1)], {"options.headers"}),
        ([{"name": "X-Big", "value": "v" * MAX_HEADER_BYTES}], {"options.headers"}),
        ([{"name": "X-A"}], {"options.headers[0]"}),
        ("X-A: 1", {"options.headers"}),
    ],
)
def test_headers_that_cannot_be_sent_are_refused_by_index(headers: Any, expected: set[str]) -> None:
    assert set(_http_errors(headers=headers)) == expected


def test_stored_headers_are_named_by_position_too() -> None:
    errors = _http_errors(headers={"X-A": "1", "Upgrade": "h2c"})
    assert errors == {
        "options.headers[1].name": "Upgrade is a hop-by-hop or framing header: the probe sets "
        "those itself"
    }


def test_headers_that_can_be_sent_are_stored_as_an_object() -> None:
    pairs = [{"name": f"X-{n}", "value": f" v{n}\t"} for n in range(MAX_HEADERS - 1)]
    pairs.append({"name": "Host", "value": "vhost.example"})  # virtual-host checks: allowed
    settings = validate_target_settings(
        kind="http", url="http://x.example/", timeout_seconds=1, options={"headers": pairs}
    )
    assert settings.options["headers"] == {
        **{f"X-{n}": f"v{n}" for n in range(MAX_HEADERS - 1)},
        "Host": "vhost.example",
    }
    again = validate_target_settings(
        kind="http", url="http://x.example/", timeout_seconds=1, options=settings.options
    )
    assert again.options == settings.options


def test_every_header_problem_is_reported_with_the_other_options() -> None:
    errors = _http_errors(
        method="BREW", headers=[{"name": "Connection", "value": "x"}, {"name": "Y", "value": "\n"}]
    )
    assert set(errors) == {
        "options.method",
        "options.headers[0].name",
        "options.headers[1].value",
    }


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:s3cret@x.example/", "http://user:***@x.example/"),
        ("https://user:p@ss@x.example:8443/a?b=c@d", "https://user:***@x.example:8443/a?b=c@d"),
        ("http://user:@x.example/", "http://user:***@x.example/"),
        ("http://user@x.example/", "http://user@x.example/"),
        ("http://x.example/?u=a:b@c", "http://x.example/?u=a:b@c"),
    ],
)
def test_url_passwords_are_redacted(url: str, shown: str) -> None:
    assert redact_password(url) == shown
