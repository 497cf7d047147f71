"""Real peers for the probe tests: HTTP(S) and TCP servers, certificates made here, and a
network namespace that swallows or rejects packets. conftest.py wraps them in fixtures."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BIG_BODY_BYTES = 100 * 1024 * 1024
JSON_DOCUMENT = {"status": "ok", "checks": {"db": {"latency": 12.5, "up": True}}, "items": [1, 2]}


# --- Targets -------------------------------------------------------------------------------


@dataclass
class Target:
    """Satisfies `ProbeTarget`, as the `Target` table row will."""

    kind: str
    url: str | None = None
    host: str | None = None
    port: int | None = None
    timeout_seconds: float = 3.0
    options: dict[str, Any] = field(default_factory=dict)


# --- Certificates --------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path
    not_after: datetime

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


@dataclass(frozen=True)
class CertificateSet:
    ca_path: Path
    valid: Certificate  # expires far in the future, at an exact second
    expiring: Certificate  # expires in three days


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    directory: Path,
    stem: str,
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    not_after: datetime,
) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.now(UTC) - timedelta(days=1))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path = directory / f"{stem}.pem"
    key_path = directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_path, key_path, not_after)


def make_certificates(directory: Path) -> CertificateSet:
    """A private CA and two server certificates for localhost, 127.0.0.1 and ::1."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("uptime test CA"))
        .issuer_name(_name("uptime test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    # An odd, exact second so that reading it back cannot pass by rounding.
    far = datetime(2034, 7, 19, 13, 47, 29, tzinfo=UTC)
    soon = (now + timedelta(days=3)).replace(microsecond=0)
    return CertificateSet(
        ca_path=ca_path,
        valid=_issue(directory, "valid", ca_key, ca_cert, far),
        expiring=_issue(directory, "expiring", ca_key, ca_cert, soon),
    )


# --- A small HTTP/1.1 peer -----------------------------------------------------------------

Handler = Callable[["Request", asyncio.StreamWriter], Awaitable[None]]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


def _response_head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


_REASONS = {200: "OK", 302: "Found", 404: "Not Found", 503: "Service Unavailable"}


async def respond(
    writer: asyncio.StreamWriter,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> None:
    head = {"Content-Length": str(len(body)), "Connection": "close", **(headers or {})}
    writer.write(_response_head(status, head) + body)
    await writer.drain()


class HttpPeer:
    """An HTTP/1.1 server on loopback with the routes the tests need (one request per
    connection). It counts connections and how much of the big body it managed to send."""

    def __init__(self) -> None:
        self.connections = 0
        self.big_body_bytes_sent = 0
        self.big_body_done = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None
        self._stopped = False
        self._scheme = "http"
        self._host = "127.0.0.1"
        self.https_redirect_target = ""

    async def start(self, host: str, ssl_context: ssl.SSLContext | None) -> HttpPeer:
        self._host = host
        self._scheme = "https" if ssl_context else "http"
        self._server = await asyncio.start_server(self._serve, host, 0, ssl=ssl_context)
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    def url(self, path: str, host: str | None = None) -> str:
        host = host or self._host
        if ":" in host:
            host = f"[{host}]"
        return f"{self._scheme}://{host}:{self.port}{path}"

    async def stop(self) -> None:
        assert self._server is not None
        self._stopped = True
        self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._stopped:
            # Accepted just before the stop, its task starting after it: it would wait for a
            # request for ever with nobody to cancel it.
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            request = await self._read_request(reader)
            if request is not None:
                await self._route(request, writer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()
            self._tasks.discard(task)

    async def _read_request(self, reader: asyncio.StreamReader) -> Request | None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Request(method, path, headers, body)

    async def _route(self, request: Request, writer: asyncio.StreamWriter) -> None:
        path = request.path
        if path == "/ok":
            await respond(writer, 200, b"all systems operational", {"Content-Type": "text/plain"})
        elif path.startswith("/status/"):
            await respond(writer, int(path.removeprefix("/status/")), b"status page")
        elif path.startswith("/redirect/"):
            left = int(path.removeprefix("/redirect/"))
            location = "/ok" if left <= 1 else f"/redirect/{left - 1}"
            await respond(writer, 302, b"", {"Location": location})
        elif path in ("/loop/a", "/loop/b"):
            location = "/loop/b" if path == "/loop/a" else "/loop/a"
            await respond(writer, 302, b"", {"Location": location})
        elif path == "/to-https":
            await respond(writer, 302, b"", {"Location": self.https_redirect_target})
        elif path == "/json":
            body = json.dumps(JSON_DOCUMENT).encode()
            await respond(writer, 200, body, {"Content-Type": "application/json"})
        elif path == "/echo":
            echo = {
                "method": request.method,
                "headers": request.headers,
                "body": request.body.decode(),
            }
            await respond(writer, 200, json.dumps(echo).encode())
        elif path == "/slow":
            # Never answers; the peer's teardown cancels this.
            await asyncio.Event().wait()
        elif path == "/garbage":
            writer.write(b"this is not HTTP\r\n\r\n")
            await writer.drain()
        elif path == "/big":
            await self._send_big_body(writer)
        else:
            await respond(writer, 404, b"no such route")

    async def _send_big_body(self, writer: asyncio.StreamWriter) -> None:
        chunk = b"x" * 65536
        head = {"Content-Length": str(BIG_BODY_BYTES), "Content-Type": "text/plain"}
        writer.write(_response_head(200, head))
        try:
            while self.big_body_bytes_sent < BIG_BODY_BYTES:
                writer.write(chunk)
                await writer.drain()
                self.big_body_bytes_sent += len(chunk)
        finally:
            self.big_body_done.set()


# --- TCP peers -----------------------------------------------------------------------------


class TcpPeer:
    """Accepts connections (optionally TLS) and closes them."""

    def __init__(self) -> None:
        self.accepted = 0
        self.first_accepted = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def start(self, host: str, ssl_context: ssl.SSLContext | None = None) -> TcpPeer:
        self._server = await asyncio.start_server(self._serve, host, 0, ssl=ssl_context)
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.first_accepted.set()
        writer.transport.abort()

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


# --- A network namespace -------------------------------------------------------------------


class LabUnavailable(Exception):
    """This machine cannot create network namespaces."""


@dataclass(frozen=True)
class Lab:
    """A namespace reached over a veth pair. Host routes send two TEST-NET-2 addresses into
    it: one it silently drops (blackhole), one it answers with ICMP host-unreachable."""

    namespace: str
    blackhole: str
    unreachable: str


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def open_lab() -> Iterator[Lab]:
    """Create the namespace; raise LabUnavailable when this machine cannot."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        raise LabUnavailable("network namespaces need root and iproute2 (`ip`)")
    slot = os.getpid() % 60 + 1  # a /30 of TEST-NET-1 per test run, so parallel runs coexist
    namespace = f"uptime-probes-{os.getpid()}"
    host_side, lab_side = f"upr{os.getpid() % 100000}h", f"upr{os.getpid() % 100000}n"
    host_ip, lab_ip = f"192.0.2.{4 * slot + 1}", f"192.0.2.{4 * slot + 2}"
    blackhole, unreachable = f"198.51.100.{4 * slot + 1}", f"198.51.100.{4 * slot + 2}"
    try:
        _ip("netns", "add", namespace)
    except subprocess.CalledProcessError as exc:
        raise LabUnavailable(f"cannot create a network namespace: {exc.stderr.strip()}") from exc
    try:
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("link", "add", host_side, "type", "veth", "peer", "name", lab_side, "netns", namespace)
        _ip("addr", "add", f"{host_ip}/30", "dev", host_side)
        _ip("link", "set", host_side, "up")
        _ip("-n", namespace, "addr", "add", f"{lab_ip}/30", "dev", lab_side)
        _ip("-n", namespace, "link", "set", lab_side, "up")
        subprocess.run(
            ["ip", "netns", "exec", namespace, "sysctl", "-qw", "net.ipv4.ip_forward=1"],
            check=True,
            capture_output=True,
        )
        _ip("-n", namespace, "route", "add", "blackhole", f"{blackhole}/32")
        _ip("-n", namespace, "route", "add", "unreachable", f"{unreachable}/32")
        # These host routes go away with the veth pair when the namespace is deleted.
        _ip("route", "add", f"{blackhole}/32", "via", lab_ip, "dev", host_side)
        _ip("route", "add", f"{unreachable}/32", "via", lab_ip, "dev", host_side)
        yield Lab(namespace, blackhole, unreachable)
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("netns", "del", namespace)
