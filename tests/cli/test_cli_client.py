"""Where `uptime targets` sends its requests: --url, else UPTIME_URL, else the local server."""

from __future__ import annotations

import pytest

from uptime_cli.client import ApiError, Client, resolve_url
from uptime_core.runtime.settings import Settings


def test_the_flag_beats_the_variable_and_the_local_server() -> None:
    settings = Settings(url="https://uptime.example.com", api_port=9000)
    assert resolve_url("http://10.0.0.5:8000/", settings) == "http://10.0.0.5:8000"
    assert resolve_url(None, settings) == "https://uptime.example.com"
    assert resolve_url("https://uptime.example.com/graphql", settings) == (
        "https://uptime.example.com"
    )


def test_the_local_server_is_where_the_api_listens() -> None:
    assert resolve_url(None, Settings(url=None, api_port=9000)) == "http://127.0.0.1:9000"
    every_address = Settings(url=None, api_host="0.0.0.0", api_port=9000)
    assert resolve_url(None, every_address) == "http://127.0.0.1:9000"
    assert resolve_url(None, Settings(url=None, api_host="::1")) == "http://[::1]:8000"


def test_a_password_in_the_url_never_reaches_a_message() -> None:
    from tests.support.net import free_port

    url = f"http://admin:s3cret-pass@127.0.0.1:{free_port()}"  # nothing listens there
    with Client(url, token=None, timeout=2) as client, pytest.raises(ApiError) as refused:
        client.execute("{ version }")
    message = str(refused.value)
    assert "cannot reach the API at http://***@127.0.0.1:" in message
    assert "s3cret-pass" not in message and "admin" not in message
