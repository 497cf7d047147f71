"""Turning what went wrong on the network into an `ErrorKind` and a short message."""

from __future__ import annotations

import errno
import os
import socket
import ssl
from collections.abc import Iterator

import httpx

from uptime_core.address_policy import AddressBlocked
from uptime_core.enums import ErrorKind

_UNREACHABLE_ERRNOS = frozenset(
    {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN, errno.EADDRNOTAVAIL}
)
_MESSAGE_LIMIT = 200
# The most of anything a target answered (reason phrase, body, JSON value, server error text),
# or a notification receiver (an SMTP reply, a Location), that a message may quote: a message
# is stored, shown and sent in alerts, and must not become a way to read what a peer serves.
QUOTE_LIMIT = 64


class InvalidResponse(Exception):
    """The peer's bytes are not a well-formed HTTP response (or its body does not decode)."""


class ProbeFailure(Exception):
    """Raised inside a probe when the cause is already known precisely."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def shorten(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    """Cut a message to `limit` characters so results stay small."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(text: str) -> str:
    """Text a peer sent, on one line and cut to `QUOTE_LIMIT` characters, for a message; the
    one quoting rule of probes and notification sends."""
    return shorten(text, QUOTE_LIMIT)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then everything it wraps: causes, contexts and group members."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                pending.append(linked)


def _os_error_text(exc: OSError) -> str:
    # asyncio replaces strerror with "Connect call failed (...)"; the errno says more.
    if not isinstance(exc, socket.gaierror) and exc.errno is not None and exc.errno > 0:
        return os.strerror(exc.errno)
    return exc.strerror or str(exc) or type(exc).__name__


def classify_exception(exc: BaseException, *, where: str = "") -> tuple[ErrorKind, str]:
    """Map an exception from httpx, asyncio or the socket layer to a kind and a message.

    The root cause is looked for through the whole chain, because httpx and anyio wrap
    the original `OSError` (sometimes in an exception group, one per address tried).
    """
    suffix = f" ({where})" if where else ""
    chain = list(_causes(exc))
    for cause in chain:
        if isinstance(cause, ProbeFailure):
            return cause.kind, cause.message
        if isinstance(cause, AddressBlocked):
            return ErrorKind.BLOCKED, shorten(cause.message)
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return ErrorKind.DNS, shorten(f"DNS lookup failed{suffix}: {_os_error_text(cause)}")
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or cause.reason or str(cause)
            return ErrorKind.TLS, shorten(f"TLS certificate rejected{suffix}: {quote(reason)}")
        if isinstance(cause, ssl.SSLError):
            reason = cause.reason or str(cause)
            return ErrorKind.TLS, shorten(f"TLS handshake failed{suffix}: {quote(reason)}")
    for cause in chain:
        if isinstance(cause, ConnectionRefusedError):
            return ErrorKind.REFUSED, shorten(f"connection refused{suffix}")
        if isinstance(cause, OSError) and cause.errno in _UNREACHABLE_ERRNOS:
            return ErrorKind.UNREACHABLE, shorten(f"{_os_error_text(cause)}{suffix}")
        if isinstance(cause, PermissionError):
            return ErrorKind.PERMISSION, shorten(f"not permitted{suffix}: {_os_error_text(cause)}")
    for cause in chain:
        if isinstance(cause, TimeoutError | httpx.TimeoutException):
            return ErrorKind.TIMEOUT, shorten(f"timed out{suffix}")
    for cause in chain:
        if isinstance(cause, InvalidResponse | httpx.RemoteProtocolError | httpx.DecodingError):
            detail = quote(str(cause))
            return ErrorKind.INVALID_RESPONSE, shorten(f"invalid response{suffix}: {detail}")
        if isinstance(cause, ConnectionError | EOFError | httpx.NetworkError):
            detail = _os_error_text(cause) if isinstance(cause, OSError) else quote(str(cause))
            return ErrorKind.CONNECTION, shorten(f"connection failed{suffix}: {detail}")
    if isinstance(exc, OSError):
        return ErrorKind.CONNECTION, shorten(f"network error{suffix}: {_os_error_text(exc)}")
    return ErrorKind.INVALID_RESPONSE, shorten(f"{type(exc).__name__}{suffix}: {quote(str(exc))}")
