"""The HTTP probe's own wire handling (uptime_core/probes/http_wire.py) against scripted peers
on 127.0.0.1: each test's peer reads the request head and answers with exactly the bytes,
pauses and closes the test gives it."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.support.peers import CertificateSet, Target
from uptime_core.enums import CheckStatus, ErrorKind
from uptime_core.probes import probe

# A step is bytes to send, a float to sleep for, or None to close the connection there.
Script = list[bytes | float | None]


class ScriptedPeer:
    """Answers every connection with `script(request_head)`; remembers the request heads."""

    def __init__(self, script: Callable[[bytes], Script]) -> None:
        self.script = script
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None

    async def start(self, ssl_context: Any = None) -> ScriptedPeer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=ssl_context)
        return self

    def url(self, path: str = "/", scheme: str = "http") -> str:
        assert self._server is not None
        return f"{scheme}://127.0.0.1:{self._server.sockets[0].getsockname()[1]}{path}"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            self.requests.append(head)
            for step in self.script(head):
                if step is None:
                    break
                if isinstance(step, float):
                    await asyncio.sleep(step)
                else:
                    writer.write(step)
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Callable[[bytes], Script]], Any]]:
    peers: list[ScriptedPeer] = []

    async def start(script: Callable[[bytes], Script], ssl_context: Any = None) -> ScriptedPeer:
        peer = await ScriptedPeer(script).start(ssl_context)
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        await peer.stop()


def head(status: str = "200 OK", *headers: str) -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode()


def chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


KEYWORD = {"keyword": "needle"}


async def check(url: str, **options: Any) -> Any:
    return await probe(Target("http", url=url, timeout_seconds=2, options=options))


async def test_a_chunked_body_is_decoded_for_the_keyword(scripted: Any) -> None:
    body = chunked(b"hay hay ne", b"edle hay", b"")
    peer = await scripted(lambda _: [head("200 OK", "Transfer-Encoding: chunked"), body])

    result = await check(peer.url(), **KEYWORD)

    assert result.status is CheckStatus.UP, result.message


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
    ],
)
async def test_compressed_bodies_are_decoded(
    scripted: Any, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    body = compress(b"x" * 5000 + b" needle " + b"y" * 5000)
    response = head("200 OK", f"Content-Encoding: {encoding}", f"Content-Length: {len(body)}")
    peer = await scripted(lambda _: [response, body])

    found = await check(peer.url(), **KEYWORD)
    absent = await check(peer.url(), keyword="nothere")

    assert found.status is CheckStatus.UP, found.message
    assert absent.message == "'nothere' not found in the body"
    assert b"accept-encoding: gzip, deflate" in peer.requests[0].lower()


async def test_a_compressed_bomb_is_read_no_further_than_one_mib(scripted: Any) -> None:
    body = gzip.compress(b"\0" * (64 * 1024 * 1024))
    response = head("200 OK", "Content-Encoding: gzip", f"Content-Length: {len(body)}")
    peer = await scripted(lambda _: [response, body])

    result = await check(peer.url(), **KEYWORD)

    assert result.message == "'needle' not found in the first 1 MiB of the body"


async def test_a_body_that_does_not_decompress_is_an_invalid_response(scripted: Any) -> None:
    response = head("200 OK", "Content-Encoding: gzip", "Content-Length: 12")
    peer = await scripted(lambda _: [response, b"not gzip at!"])

    result = await check(peer.url(), **KEYWORD)

    assert result.error_kind is ErrorKind.INVALID_RESPONSE
    assert result.message is not None
    assert result.message.startswith("invalid response (reading the body): ")


async def test_a_response_in_many_small_packets(scripted: Any) -> None:
    response = head("203 Non-Authoritative Information", "Content-Length: 13") + b"a needle here"
    steps: Script = []
    for index in range(len(response)):
        steps += [response[index : index + 1], 0.001]
    peer = await scripted(lambda _: steps)

    result = await check(peer.url(), **KEYWORD)

    assert result.status is CheckStatus.UP, result.message
    assert result.http_status == 203


async def test_a_status_line_in_pieces_keeps_its_whole_reason(scripted: Any) -> None:
    peer = await scripted(
        lambda _: [b"HTTP/1.1 503 Serv", 0.01, b"ice Unava", 0.01, b"ilable\r\n\r\n"]
    )

    result = await check(peer.url())

    assert result.message == "HTTP 503 Service Unavailable is not accepted (200-399)"


@pytest.mark.parametrize(
    "sent",
    [b"", b"HTTP/1.1 200 OK\r\nContent-Le", b"HTTP/1.1 200 OK\r\n"],
    ids=["nothing", "mid-header", "after-status-line"],
)
async def test_a_server_that_closes_before_the_head_ends(scripted: Any, sent: bytes) -> None:
    peer = await scripted(lambda _: [sent, None])

    result = await check(peer.url())

    assert result.status is CheckStatus.DOWN
    assert result.error_kind is ErrorKind.INVALID_RESPONSE
    assert result.message == (
        "invalid response (waiting for the response): "
        "Server disconnected without sending a response."
    )


async def test_a_body_cut_short_of_its_length_is_an_invalid_response(scripted: Any) -> None:
    peer = await scripted(lambda _: [head("200 OK", "Content-Length: 100"), b"only this", None])

    result = await check(peer.url(), **KEYWORD)

    assert result.error_kind is ErrorKind.INVALID_RESPONSE
    assert result.message == (
        "invalid response (reading the body): "
        "peer closed connection without sending complete message body"
    )


async def test_a_body_framed_by_closing_the_connection(scripted: Any) -> None:
    peer = await scripted(lambda _: [head("200 OK"), b"hay ", 0.01, b"needle", None])

    result = await check(peer.url(), **KEYWORD)

    assert result.status is CheckStatus.UP, result.message


async def test_informational_responses_are_skipped(scripted: Any) -> None:
    final = head("200 OK", "Content-Length: 6") + b"needle"
    peer = await scripted(lambda _: [head("100 Continue"), head("103 Early Hints"), final])

    result = await check(peer.url(), **KEYWORD)

    assert (result.status, result.http_status) == (CheckStatus.UP, 200), result.message


async def test_head_has_no_body_whatever_its_length_says(scripted: Any) -> None:
    peer = await scripted(lambda _: [head("200 OK", "Content-Length: 1000")])

    result = await check(peer.url(), method="HEAD", keyword="needle", keywordAbsent=True)

    assert result.status is CheckStatus.UP, result.message
    assert peer.requests[0].startswith(b"HEAD / HTTP/1.1\r\n")


async def test_the_keyword_is_searched_in_the_declared_charset(scripted: Any) -> None:
    body = "Grüße".encode("latin-1")
    response = head(
        "200 OK", "Content-Type: text/plain; charset=ISO-8859-1", f"Content-Length: {len(body)}"
    )
    peer = await scripted(lambda _: [response + body])

    assert (await check(peer.url(), keyword="Grüße")).status is CheckStatus.UP


async def test_the_request_head(scripted: Any) -> None:
    peer = await scripted(lambda _: [head("204 No Content")])

    result = await check(peer.url("/path?q=1").replace("://", "://user:pw@"), headers={"X-A": "b"})

    assert result.status is CheckStatus.UP, result.message
    request_line, *lines = peer.requests[0].decode().split("\r\n")
    assert request_line == "GET /path?q=1 HTTP/1.1"
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines)}
    assert headers["host"] == peer.url().split("/")[2]
    assert headers["user-agent"] == "uptime-probe/0.1"
    assert headers["connection"] == "close"
    assert headers["x-a"] == "b"
    assert headers["authorization"] == "Basic dXNlcjpwdw=="


async def test_cookies_set_by_a_redirect_go_with_the_next_hop(scripted: Any) -> None:
    def script(request: bytes) -> Script:
        if request.startswith(b"GET /login "):
            return [head("302 Found", "Set-Cookie: session=abc; Path=/", "Location: /home")]
        return [head("200 OK", "Content-Length: 0")]

    peer = await scripted(script)

    result = await check(peer.url("/login"))

    assert result.status is CheckStatus.UP, result.message
    assert b"\r\nCookie: session=abc\r\n" in peer.requests[1]


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("http://[::1", "invalid response (waiting for the response): Invalid URL in location"),
        ("ftp://127.0.0.1/file", "invalid response (waiting for the response): Request URL has"),
    ],
)
async def test_a_redirect_that_cannot_be_followed(
    scripted: Any, location: str, message: str
) -> None:
    peer = await scripted(lambda _: [head("302 Found", f"Location: {location}")])

    result = await check(peer.url())

    assert result.error_kind is ErrorKind.INVALID_RESPONSE
    assert result.message is not None and result.message.startswith(message), result.message
    assert result.http_status == 302


async def test_a_silent_peer_times_out_while_waiting(scripted: Any) -> None:
    peer = await scripted(lambda _: [5.0])

    result = await probe(Target("http", url=peer.url(), timeout_seconds=0.3))

    assert result.error_kind is ErrorKind.TIMEOUT
    assert result.message == "no answer within 0.3 s (waiting for the response)"


async def test_https_reports_expiry_with_a_keyword_and_a_chunked_body(
    scripted: Any, certificates: CertificateSet
) -> None:
    response = head("200 OK", "Transfer-Encoding: chunked") + chunked(b"a nee", b"dle")
    peer = await scripted(lambda _: [response], certificates.valid.server_context())

    result = await check(peer.url(scheme="https"), verifyTls=False, **KEYWORD)

    assert result.status is CheckStatus.UP, result.message
    assert result.tls_expires_at == certificates.valid.not_after


async def test_a_tls_handshake_answered_in_plain_http_fails_as_tls() -> None:
    async def plain(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head("400 Bad Request", "Content-Length: 0"))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(plain, "127.0.0.1", 0)
    try:
        result = await check(f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/")
    finally:
        server.close()
        await server.wait_closed()

    assert result.error_kind is ErrorKind.TLS
    assert result.message is not None
    assert result.message.startswith("TLS handshake failed (in the TLS handshake): ")
