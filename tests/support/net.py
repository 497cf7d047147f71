"""Ports and HTTP polling for tests that start servers."""

from __future__ import annotations

import socket
import time

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(url: str, *, timeout: float, expect: int = 200) -> httpx.Response:
    """Poll ``url`` until it answers ``expect`` or ``timeout`` seconds pass (then fail)."""
    deadline = time.monotonic() + timeout
    last: str = "no answer"
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == expect:
                return response
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.TransportError as error:
            last = repr(error)
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {expect} within {timeout} s; last: {last}")
