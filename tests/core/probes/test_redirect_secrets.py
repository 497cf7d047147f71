"""Stored secrets stay with the target's own origin: a redirect to another scheme, host or port
gets neither the stored header values nor the body nor the URL's password, while a redirect
within the origin carries all of them, and the User-Agent goes everywhere."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import pytest

from tests.support.peers import HttpPeer, Request, Target, respond
from uptime_core.enums import CheckStatus
from uptime_core.probes import probe

API_KEY = "s3cret-api-key"
BODY = '{"token": "body-s3cret"}'
PASSWORD = "pa55w0rd"


class RecordingPeer(HttpPeer):
    """Records every request; ``/hop/<status>`` redirects with that status to
    ``redirect_target``, ``/same/<status>`` to its own ``/ok``, anything else answers 200."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[Request] = []
        self.redirect_target = ""

    async def _route(self, request: Request, writer: asyncio.StreamWriter) -> None:
        self.requests.append(request)
        if request.path.startswith("/hop/"):
            status = int(request.path.removeprefix("/hop/"))
            await respond(writer, status, b"", {"Location": self.redirect_target})
        elif request.path.startswith("/same/"):
            status = int(request.path.removeprefix("/same/"))
            await respond(writer, status, b"", {"Location": "/ok"})
        else:
            await respond(writer, 200, b"fine")


@pytest.fixture
async def origin() -> AsyncIterator[RecordingPeer]:
    peer = RecordingPeer()
    await peer.start("127.0.0.1", None)
    yield peer
    await peer.stop()


@pytest.fixture
async def elsewhere() -> AsyncIterator[RecordingPeer]:
    peer = RecordingPeer()
    await peer.start("127.0.0.1", None)
    yield peer
    await peer.stop()


def secret_target(url: str) -> Target:
    options = {"method": "POST", "headers": {"X-Api-Key": API_KEY}, "body": BODY}
    return Target("http", url=url.replace("://", f"://monitor:{PASSWORD}@"), options=options)


def carries_a_secret(request: Request) -> bool:
    """Whether `request` holds the header value, the URL's password or any body at all."""
    seen = " ".join(request.headers.values())
    basic = request.headers.get("authorization", "").removeprefix("Basic ")
    seen += " " + base64.b64decode(basic).decode(errors="replace")
    return API_KEY in seen or PASSWORD in seen or bool(request.body)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_a_redirect_to_another_port_gets_no_stored_header_body_or_password(
    origin: RecordingPeer, elsewhere: RecordingPeer, status: int
) -> None:
    origin.redirect_target = elsewhere.url("/landing")

    result = await probe(secret_target(origin.url(f"/hop/{status}")))

    assert result.status is CheckStatus.UP, result.message
    [first] = origin.requests
    assert first.headers["x-api-key"] == API_KEY and first.body == BODY.encode()
    [hop] = elsewhere.requests
    assert hop.path == "/landing"
    assert not carries_a_secret(hop), hop
    assert "x-api-key" not in hop.headers and "authorization" not in hop.headers
    assert hop.headers["user-agent"] == "uptime-probe/0.1"
    if status in (307, 308):
        assert hop.method == "POST", "the method is kept; only the stored body stays behind"


@pytest.mark.parametrize("status", [302, 307])
async def test_a_redirect_within_the_origin_carries_everything(
    origin: RecordingPeer, status: int
) -> None:
    result = await probe(secret_target(origin.url(f"/same/{status}")))

    assert result.status is CheckStatus.UP, result.message
    _, hop = origin.requests
    assert hop.path == "/ok"
    assert hop.headers["x-api-key"] == API_KEY
    assert base64.b64decode(hop.headers["authorization"].removeprefix("Basic ")) == (
        f"monitor:{PASSWORD}".encode()
    )
    if status == 307:
        assert (hop.method, hop.body) == ("POST", BODY.encode())


async def test_once_off_the_origin_a_way_back_does_not_restore_the_secrets(
    origin: RecordingPeer, elsewhere: RecordingPeer
) -> None:
    origin.redirect_target = elsewhere.url("/hop/307")
    elsewhere.redirect_target = origin.url("/ok")

    result = await probe(secret_target(origin.url("/hop/307")))

    assert result.status is CheckStatus.UP, result.message
    assert [r.path for r in origin.requests] == ["/hop/307", "/ok"]
    assert not carries_a_secret(elsewhere.requests[0])
    assert not carries_a_secret(origin.requests[1]), "a hop elsewhere decided where it goes"
