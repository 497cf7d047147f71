"""One HTTP/1.1 exchange on a fresh connection: asyncio's transports and httptools' parser.

The hot path of the HTTP probe. httpx (with httpcore, h11 and anyio underneath) cost about
2 ms of CPU per check on a loopback server, five times the budget (docs/probes.md has the
profile); this does the same work (resolve and check every address against the policy,
connect, TLS with the shared context, send, parse the response head, read a capped and
decoded body when asked) for a fraction of it. httpx still builds the requests (http.py).
"""

from __future__ import annotations

import asyncio
import codecs
import ssl
import zlib
from collections import deque
from dataclasses import dataclass

import httptools

from uptime_core.address_policy import AddressPolicy
from uptime_core.probes.errors import InvalidResponse
from uptime_core.probes.observation import Observation
from uptime_core.probes.options import IpFamily
from uptime_core.probes.resolve import allowed_addresses, connect_first
from uptime_core.probes.tls import peer_certificate_expiry

# A body waiting to be read beyond this pauses reading from the socket (flow control).
_HIGH_WATER = 256 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})


@dataclass(frozen=True, slots=True)
class Hop:
    """Where one request goes and its bytes on the wire (head and body)."""

    host: str  # as resolved and as the TLS server name: ASCII (IDNA), IPv6 without brackets
    port: int
    tls: bool
    payload: bytes
    head_only: bool  # a HEAD request: the response has no body whatever its headers say


class Exchange(asyncio.Protocol):
    """The response side of one request: status line and headers, then the body on demand.

    httptools calls the `on_*` methods from `data_received`.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, head_only: bool) -> None:
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.head_ready: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._head_only = head_only
        self._informational = False
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self._paused = False
        self._complete = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    # -- asyncio --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # 101 or CONNECT: the head is all a check reads
        except httptools.HttpParserError as exc:
            self._fail(InvalidResponse(str(exc).strip() or type(exc).__name__))

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.head_ready.done():
            error = exc or InvalidResponse("Server disconnected without sending a response.")
            self.head_ready.set_exception(error)
            return
        if self._complete or self._error is not None:
            return
        if exc is None and self._framed_by_close():
            self._complete = True
        else:
            self._error = exc or InvalidResponse(
                "peer closed connection without sending complete message body"
            )
        self._wake()

    def pause_writing(self) -> None:  # pragma: no cover - a request is a few hundred bytes
        pass

    # -- httptools ------------------------------------------------------------------------

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            # 100 Continue, 103 Early Hints: the final response follows on the same stream.
            self._informational = True
            self.reason = b""
            self.headers = []
            return
        self.status = status
        if self._head_only or status in _NO_BODY_STATUSES:
            self._complete = True
        if not self.head_ready.done():
            self.head_ready.set_result(None)

    def on_body(self, body: bytes) -> None:
        if self._informational or self._complete:
            return
        self._chunks.append(body)
        self._queued += len(body)
        if self._queued > _HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._informational:
            self._informational = False
            return
        self._complete = True
        self._wake()

    # -- the reader's side ----------------------------------------------------------------

    def header(self, name: bytes) -> str | None:
        """The first value of header `name` (lower case), as text."""
        for key, value in self.headers:
            if key.lower() == name:
                return _text(value)
        return None

    def header_values(self, name: bytes) -> list[str]:
        """Every value of header `name` (lower case), comma-separated lists split."""
        values: list[str] = []
        for key, value in self.headers:
            if key.lower() == name:
                values.extend(part.strip() for part in _text(value).split(","))
        return values

    def abort(self) -> None:
        """Drop the connection without waiting for anything."""
        if self.transport is not None:
            self.transport.abort()

    async def read_body(self, limit: int) -> tuple[bytes, bool]:
        """The body decoded (gzip, deflate), at most `limit` bytes of it, and whether there
        was more."""
        decoders = [_decoder(name) for name in reversed(self.header_values(b"content-encoding"))]
        stages = [stage for stage in decoders if stage is not None]
        parts: list[bytes] = []
        size = 0
        while True:
            while self._chunks:
                raw = self._chunks.popleft()
                self._queued -= len(raw)
                decoded = _decode(stages, raw, limit - size)
                if size + len(decoded) > limit:
                    parts.append(decoded[: limit - size])
                    return b"".join(parts), True
                parts.append(decoded)
                size += len(decoded)
            if self._error is not None:
                raise self._error
            if self._complete:
                tail = _flush(stages)
                if size + len(tail) > limit:
                    parts.append(tail[: limit - size])
                    return b"".join(parts), True
                parts.append(tail)
                return b"".join(parts), False
            if self._paused and self.transport is not None:
                self._paused = False
                self.transport.resume_reading()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def charset(self) -> str:
        """The body's text encoding: the Content-Type's known charset, else UTF-8."""
        content_type = self.header(b"content-type")
        if content_type:
            for parameter in content_type.split(";")[1:]:
                key, _, value = parameter.partition("=")
                if key.strip().lower() == "charset":
                    name = value.strip().strip("'\"")
                    try:
                        codecs.lookup(name)
                    except LookupError:
                        break
                    return name
        return "utf-8"

    def _framed_by_close(self) -> bool:
        for key, value in self.headers:
            lowered = key.lower()
            if lowered == b"content-length" or (
                lowered == b"transfer-encoding" and b"chunked" in value.lower()
            ):
                return False
        return True

    def _fail(self, error: BaseException) -> None:
        if not self.head_ready.done():
            self.head_ready.set_exception(error)
        elif self._error is None and not self._complete:
            self._error = error
            self._wake()
        if self.transport is not None:
            self.transport.abort()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


# -- content decoding: what httpx decodes without optional packages --------------------------


class _Inflate:
    """gzip, or deflate with the zlib header or (as some servers send it) without."""

    __slots__ = ("_first", "_gzip", "_stream")

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._first = not gzip
        self._stream = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)

    def decode(self, data: bytes, room: int) -> bytes:
        first, self._first = self._first, False
        try:
            out = self._stream.decompress(data, room + 1) if room >= 0 else b""
        except zlib.error as exc:
            if first:
                self._stream = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(data, room)
            raise InvalidResponse(str(exc)) from exc
        return out

    def flush(self) -> bytes:
        try:
            return self._stream.flush()
        except zlib.error as exc:  # pragma: no cover - flush reports nothing in practice
            raise InvalidResponse(str(exc)) from exc


def _decoder(name: str) -> _Inflate | None:
    name = name.lower()
    if name in ("gzip", "x-gzip"):
        return _Inflate(gzip=True)
    if name == "deflate":
        return _Inflate(gzip=False)
    return None  # identity, or an encoding httpx would not decode either: passed through


def _decode(stages: list[_Inflate], data: bytes, room: int) -> bytes:
    # Only the last stage is bounded: past `room` bytes nothing more is needed.
    for index, stage in enumerate(stages):
        data = stage.decode(data, room if index == len(stages) - 1 else 1 << 62)
    return data


def _flush(stages: list[_Inflate]) -> bytes:
    data = b""
    for stage in stages:
        data = stage.decode(data, 1 << 62) + stage.flush() if data else stage.flush()
    return data


# -- connecting -----------------------------------------------------------------------------


async def exchange(
    hop: Hop,
    ip_family: IpFamily,
    ssl_context: ssl.SSLContext,
    observation: Observation,
    policy: AddressPolicy,
) -> Exchange:
    """Connect to the first address of `hop.host` that `policy` allows and that accepts, send
    the request and return once the response's head has arrived. The caller aborts it."""
    loop = asyncio.get_running_loop()
    addresses = await allowed_addresses(hop.host, hop.port, ip_family, policy, observation)
    sock = await connect_first(addresses, hop.port, policy, observation, "{address}:{port}")
    protocol = Exchange(loop, hop.head_only)
    if hop.tls:
        observation.enter("in the TLS handshake")
        try:
            transport, _ = await loop.create_connection(
                lambda: protocol, sock=sock, ssl=ssl_context, server_hostname=hop.host
            )
        except BaseException:
            sock.close()
            raise
    else:
        transport, _ = await loop.create_connection(lambda: protocol, sock=sock)
    try:
        if hop.tls:
            observation.tls_expires_at = peer_certificate_expiry(
                transport.get_extra_info("ssl_object")
            )
        observation.enter("sending the request")
        transport.write(hop.payload)
        observation.enter("waiting for the response")
        await protocol.head_ready
    except BaseException:
        transport.abort()
        raise
    return protocol
