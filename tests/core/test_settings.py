"""Settings that guard the edges: read from the environment, refused with a clear message."""

from __future__ import annotations

import ipaddress
import re

import pytest
from pydantic import ValidationError

from uptime_core.runtime.settings import DEFAULT_BLOCKED_NETWORKS, Settings


def settings_from(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_the_default_policy_blocks_link_local_and_metadata_only() -> None:
    blocked = Settings().blocked_networks
    assert [str(n) for n in blocked] == list(DEFAULT_BLOCKED_NETWORKS)
    assert any(ipaddress.ip_address("169.254.169.254") in n for n in blocked)
    for reachable in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "::1"):
        assert not any(ipaddress.ip_address(reachable) in n for n in blocked), reachable
    assert Settings().allowed_networks == []


def test_network_lists_are_comma_separated_cidrs(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(
        monkeypatch,
        UPTIME_BLOCKED_NETWORKS=" 10.0.0.0/8 , fe80::1/64",
        UPTIME_ALLOWED_NETWORKS="10.9.0.0/16",
    )
    assert settings.blocked_networks == [
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("fe80::/64"),
    ]
    assert settings.allowed_networks == [ipaddress.ip_network("10.9.0.0/16")]
    assert settings_from(monkeypatch, UPTIME_BLOCKED_NETWORKS="").blocked_networks == []


def test_a_bad_network_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        ValidationError, match=re.escape("'10.0.0.0/33', which is not a CIDR network")
    ):
        settings_from(monkeypatch, UPTIME_BLOCKED_NETWORKS="10.0.0.0/8,10.0.0.0/33")


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("change-me-to-a-long-random-token", "example value"),
        ("example-token-change-me", "example value"),
    ],
)
def test_an_empty_or_example_token_is_refused(
    monkeypatch: pytest.MonkeyPatch, token: str, reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        settings_from(monkeypatch, UPTIME_API_TOKEN=token)


def test_allowed_hosts_are_names_or_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(
        monkeypatch, UPTIME_API_ALLOWED_HOSTS="Status.Example.com., [FD00::1], 10.0.0.5"
    )
    assert settings.api_allowed_hosts == ["status.example.com", "fd00::1", "10.0.0.5"]
    for bad in ("status.example.com:8000", "https://status.example.com", "a/b"):
        with pytest.raises(ValidationError, match="no scheme, port or path"):
            settings_from(monkeypatch, UPTIME_API_ALLOWED_HOSTS=bad)


def test_the_api_url_is_an_http_url(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().url is None  # `uptime targets` then asks the local server
    given = settings_from(monkeypatch, UPTIME_URL="https://uptime.example.com/")
    assert given.url == "https://uptime.example.com"
    for bad in ("uptime.example.com", "ftp://uptime.example.com", "http://"):
        with pytest.raises(ValidationError, match="must be an http:// or https:// URL"):
            settings_from(monkeypatch, UPTIME_URL=bad)
