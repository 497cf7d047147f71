"""Messages quote at most 64 characters of anything a target answered: a check must not become
a way to read what a target serves (a page, a token) through its stored and alerted message."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from tests.support.peers import HttpPeer, Request, Target
from uptime_core.enums import ErrorKind
from uptime_core.probes import probe

TARGET_TEXT = "TOPSECRET" + "".join(f"{n:03d}" for n in range(100))  # 309 distinct characters


def longest_quote(text: str) -> int:
    """The longest piece of TARGET_TEXT found in `text`."""
    longest = 0
    for start in range(len(TARGET_TEXT)):
        while (
            start + longest < len(TARGET_TEXT) and TARGET_TEXT[start : start + longest + 1] in text
        ):
            longest += 1
    return longest


class ChattyPeer(HttpPeer):
    """Answers with TARGET_TEXT in the reason phrase, a JSON value and a redirect target."""

    async def _route(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if request.path == "/reason":
            writer.write(f"HTTP/1.1 503 {TARGET_TEXT}\r\nContent-Length: 0\r\n\r\n".encode())
        elif request.path == "/json":
            body = json.dumps({"token": TARGET_TEXT}).encode()
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
            writer.write(head.encode() + body)
        elif request.path.startswith("/hop"):
            head = (
                f"HTTP/1.1 302 Found\r\nLocation: /hop/{TARGET_TEXT}\r\nContent-Length: 0\r\n\r\n"
            )
            writer.write(head.encode())
        await writer.drain()


@pytest.fixture
async def chatty() -> AsyncIterator[ChattyPeer]:
    peer = ChattyPeer()
    await peer.start("127.0.0.1", None)
    yield peer
    await peer.stop()


async def test_reason_phrase_json_value_and_redirect_target_are_quoted_briefly(
    chatty: ChattyPeer,
) -> None:
    reason = await probe(Target("http", url=chatty.url("/reason")))
    value = await probe(
        Target(
            "http",
            url=chatty.url("/json"),
            options={"jsonAssertion": {"path": "$.token", "operator": "==", "value": "x"}},
        )
    )
    hops = await probe(Target("http", url=chatty.url("/hop"), options={"maxRedirects": 1}))

    assert reason.error_kind is ErrorKind.HTTP_STATUS
    assert value.error_kind is ErrorKind.JSON_ASSERTION
    assert hops.error_kind is ErrorKind.TOO_MANY_REDIRECTS
    for result in (reason, value, hops):
        assert result.message is not None
        assert 8 < longest_quote(result.message) <= 64, result.message
