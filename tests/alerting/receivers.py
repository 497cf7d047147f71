"""Real receivers for notifications: an HTTP webhook receiver and an SMTP server (aiosmtpd),
both on loopback, recording everything they are sent."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.net import free_port
from tests.support.peers import HttpPeer, Request, _response_head, respond


@dataclass
class Received:
    """One request as the webhook receiver saw it, and what it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None = None
    at: float = field(default_factory=time.monotonic)  # when it arrived

    @property
    def document(self) -> Any:
        return json.loads(self.body)

    @property
    def key(self) -> str:
        return self.headers["idempotency-key"]


class WebhookReceiver(HttpPeer):
    """POSTs to any path are recorded. ``fail_first[path] = n`` answers 503 to the first n,
    ``answer[path]`` always that status; ``delay`` holds every answer that long (so a test
    can kill a sender mid-send); ``trickle[path] = s`` answers one byte every s seconds (a
    tarpit: no single read waits long, the whole answer takes ages)."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Received] = []
        self.fail_first: dict[str, int] = {}
        self.answer: dict[str, int] = {}  # a fixed status for a path
        self.trickle: dict[str, float] = {}
        self.delay = 0.0

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def accepted(self, path: str | None = None) -> list[Received]:
        return [r for r in self.received if r.answered == 200 and path in (None, r.path)]

    async def _route(self, request: Request, writer: asyncio.StreamWriter) -> None:
        received = Received(request.path, request.headers, request.body)
        self.received.append(received)
        seen = len(self.on(request.path))
        status = 503 if seen <= self.fail_first.get(request.path, 0) else 200
        status = self.answer.get(request.path, status)
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.path in self.trickle:
            head = {"Content-Length": "2", "Content-Type": "application/json"}
            for byte in _response_head(status, head) + b"{}":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(self.trickle[request.path])
        else:
            await respond(writer, status, b"{}", {"Content-Type": "application/json"})
        received.answered = status


@dataclass
class SmtpServer:
    """An aiosmtpd server in its own thread. ``security``: ``starttls`` (required, with
    AUTH only over TLS), ``tls`` (implicit TLS) or ``none``."""

    context: ssl.SSLContext | None
    security: str
    username: str = "alerts"
    password: str = "correct horse battery staple"
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.port = free_port()
        kwargs: dict[str, Any] = {"authenticator": self._authenticate, "auth_required": True}
        if self.security == "starttls":
            kwargs.update(tls_context=self.context, require_starttls=True)
        elif self.security == "tls":
            # The whole connection is TLS, which aiosmtpd's AUTH-over-TLS check does not see.
            kwargs.update(ssl_context=self.context, auth_require_tls=False, auth_required=False)
        else:
            kwargs.update(auth_required=False, auth_require_tls=False)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        ):
            with self._lock:
                self.logins.append(self.username)
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK"

    def copy(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)


class SwitchableTarget(HttpPeer):
    """A monitored service: ``/health`` answers 200 while ``healthy``, else 503."""

    def __init__(self) -> None:
        super().__init__()
        self.healthy = True

    async def _route(self, request: Request, writer: asyncio.StreamWriter) -> None:
        if request.path == "/health":
            status = 200 if self.healthy else 503
            await respond(writer, status, b"ok" if self.healthy else b"broken")
        else:
            await super()._route(request, writer)
