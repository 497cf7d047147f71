"""What the API's edge tests share: the secrets they plant, an `uptime api` process with its
log in a file, raw sockets where a client library would hide what is sent (a body that is
never finished, one sent while the answer is read), and a subscription's first answer."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import secrets
import select
import socket
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from tests.support.net import free_port, wait_for_http

TOKEN = secrets.token_hex(32)
SLACK_URL = "https://hooks.slack.com/services/T000/B000/SECRETSECRET"
BEARER_SECRET = "Bearer SECRETBEARERVALUE0123456789"
SECRETS = ("SECRETSECRET", "SECRETBEARERVALUE", TOKEN)
UNREACHABLE_DATABASE = "postgresql://uptime:unused@127.0.0.1:9/uptime"
WS_PROTOCOL = [Subprotocol("graphql-transport-ws")]
MIB = 1024 * 1024


# -- an `uptime api` process ------------------------------------------------------------------


class ApiProcess:
    """`uptime api` as it runs in production, its log (stdout and stderr) in a file."""

    def __init__(self, log_path: Path, **settings: str) -> None:
        self.port = free_port()
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith("UPTIME_")}
        env.update({"UPTIME_API_PORT": str(self.port), "UPTIME_LOG_LEVEL": "info"})
        env.update({f"UPTIME_{k.upper()}": v for k, v in settings.items() if k != "database_url"})
        env["DATABASE_URL"] = settings.get("database_url", UNREACHABLE_DATABASE)
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uptime_cli", "api"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_http(f"{self.url}/healthz", timeout=60)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lines(self) -> list[str]:
        return self.log_path.read_text(errors="replace").splitlines()

    def memory_kib(self, field: str) -> int:
        """``VmRSS`` or ``VmHWM`` (peak) of the process, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc/{self.process.pid}/status")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def send_and_read(
    port: int, head: str, body: Iterable[bytes] = (), *, chunked: bool = False
) -> tuple[int, bytes, int]:
    """Send ``head`` then ``body`` on a raw connection, stopping as soon as an answer comes;
    (status, answer, body bytes sent). Blocking sockets (run it in a thread): after the
    server closes, the answer stays readable, where asyncio's streams would drop it."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        try:
            sock.sendall(head.encode())
            for chunk in body:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered (or closed) before the body was all sent
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                sent += len(chunk)
            else:
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
        except (ConnectionResetError, BrokenPipeError):
            pass  # the server closed the connection after answering, as it may
        received = b""
        try:
            while data := sock.recv(65536):
                received += data
        except ConnectionResetError:
            pass
    assert received.startswith(b"HTTP/1.1 "), received[:200]
    return int(received.split(b" ", 2)[1]), received, sent


async def exchange(
    port: int, head: str, body: Iterable[bytes] = (), *, chunked: bool = False
) -> tuple[int, bytes, int]:
    return await asyncio.to_thread(send_and_read, port, head, body, chunked=chunked)


def post_head(port: int, *, length: int | None, extra: str = "") -> str:
    framing = f"content-length: {length}" if length is not None else "transfer-encoding: chunked"
    return (
        f"POST /graphql HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        f"content-type: application/json\r\n{framing}\r\n{extra}connection: close\r\n\r\n"
    )


def lazy_body(total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes of a JSON-looking body, made as it is sent (one piece in memory)."""
    filler = b"x" * piece
    yield b'{"query": "'
    yield from itertools.repeat(filler, total // piece)


async def subscribe(
    url: str,
    payload: dict[str, Any] | None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """connection_init with ``payload``, then a subscription: the server's first answer, or
    ``{"closed": code}``."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=WS_PROTOCOL, additional_headers=headers) as ws:
        init: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            init["payload"] = payload
        await ws.send(json.dumps(init))
        try:
            answer: dict[str, Any] = json.loads(await ws.recv())
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return {"closed": closed.rcvd.code}
        assert answer == {"type": "connection_ack"}
        return answer
