"""Probes per second and CPU per check through `probe()`, beside a bare loop doing the same work.

Starts a TCP server, an HTTP server and an HTTPS server (a certificate from a private CA made
for the run, trusted through SSL_CERT_FILE, so TLS is verified as in production) in a
separate process, then for each kind runs 200 concurrent workers for `--duration` seconds
twice, alternating: a bare loop with the same libraries (asyncio.open_connection; one shared
httpx client without keep-alive, so every request opens a fresh connection), and `probe()`.
For TCP there are two bare loops: the asyncio streams API, and the bare-socket connect that
`probe()` itself uses. Prints the rates, the ratio, the CPU this process spent per check
(process_time over the window), checks per CPU second ("per core": what one fully busy worker
core would do) and how busy the client process was (near 100 % means the client, not the
server, is the limit).

    python bench/probes.py [--duration 5] [--rounds 2] [--concurrency 200] [--kinds tcp,http,https]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import socket
import ssl
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.peers import Target, make_certificates
from uptime_core.enums import CheckStatus
from uptime_core.probes import probe

HOST = "127.0.0.1"
HTTP_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
    b"Connection: close\r\n\r\nok"
)


# --- The peer process ----------------------------------------------------------------------


class _AcceptAndClose(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


class _MinimalHttp(asyncio.Protocol):
    def __init__(self) -> None:
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if b"\r\n\r\n" in self._buffer and self._transport is not None:
            self._transport.write(HTTP_RESPONSE)
            self._transport.close()


async def _serve(ready: Connection, certificate: tuple[str, str] | None = None) -> None:
    loop = asyncio.get_running_loop()
    tcp = await loop.create_server(_AcceptAndClose, HOST, 0, backlog=4096)
    http = await loop.create_server(_MinimalHttp, HOST, 0, backlog=4096)
    ports = [tcp.sockets[0].getsockname()[1], http.sockets[0].getsockname()[1]]
    if certificate is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*certificate)
        https = await loop.create_server(_MinimalHttp, HOST, 0, backlog=4096, ssl=context)
        ports.append(https.sockets[0].getsockname()[1])
    ready.send(tuple(ports))
    await loop.run_in_executor(None, ready.recv)  # returns when the bench says stop


def _run_peer(ready: Connection, certificate: tuple[str, str] | None = None) -> None:
    asyncio.run(_serve(ready, certificate))


@contextlib.contextmanager
def _peer(certificate: tuple[str, str] | None) -> Iterator[tuple[int, ...]]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    peer = context.Process(target=_run_peer, args=(theirs, certificate), daemon=True)
    peer.start()
    try:
        yield tuple(ours.recv())
    finally:
        ours.send("stop")
        peer.join(timeout=5)
        if peer.is_alive():
            peer.kill()


@contextlib.contextmanager
def peer_process() -> Iterator[tuple[int, int]]:
    """A loopback TCP server (accepts and closes) and a minimal HTTP server in a process of
    their own, so that they do not share the measured process's CPU; their ports."""
    with _peer(None) as (tcp_port, http_port):
        yield tcp_port, http_port


@dataclass(frozen=True)
class Peers:
    tcp_port: int
    http_port: int
    https_port: int
    ca_path: str  # the private CA that signed the HTTPS server's certificate (for localhost)


@contextlib.contextmanager
def peer_process_with_tls() -> Iterator[Peers]:
    """`peer_process()` plus the minimal HTTP server behind TLS, with a certificate for
    127.0.0.1 and localhost from a CA made here."""
    with tempfile.TemporaryDirectory(prefix="uptime-bench-tls-") as directory:
        certificates = make_certificates(Path(directory))
        pair = (str(certificates.valid.cert_path), str(certificates.valid.key_path))
        with _peer(pair) as (tcp_port, http_port, https_port):
            yield Peers(tcp_port, http_port, https_port, str(certificates.ca_path))


# --- The client ----------------------------------------------------------------------------


@dataclass
class Run:
    completed: int
    failed: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.completed / self.seconds

    @property
    def cpu_share(self) -> float:
        return self.cpu_seconds / self.seconds


def _totals(runs: list[Run]) -> tuple[float, float, float]:
    """Checks/s, CPU µs per check, and checks per CPU second over `runs`."""
    completed = sum(r.completed for r in runs)
    cpu = sum(r.cpu_seconds for r in runs)
    rate = completed / sum(r.seconds for r in runs)
    return rate, cpu / max(completed, 1) * 1e6, completed / cpu if cpu else 0.0


async def _measure(check: Callable[[], Awaitable[bool]], concurrency: int, duration: float) -> Run:
    completed = failed = 0
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal completed, failed
        while time.perf_counter() < deadline:
            if await check():
                completed += 1
            else:
                failed += 1

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Run(
        completed,
        failed,
        time.perf_counter() - started,
        time.process_time() - cpu_started,
    )


Check = Callable[[], Awaitable[bool]]


def _rows(
    tcp_port: int, http_port: int, https: tuple[int, str] | None = None
) -> list[tuple[str, str, Check, Check]]:
    """(kind, what the bare loop uses, bare check, probe check) per table row; with `https`
    (the HTTPS port and the CA file that verifies it), an HTTPS row too."""
    http_url = f"http://{HOST}:{http_port}/health"
    no_keep_alive = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    bare_client = httpx.AsyncClient(timeout=10.0, limits=no_keep_alive)
    tcp_target = Target("tcp", host=HOST, port=tcp_port, timeout_seconds=10.0)
    http_target = Target("http", url=http_url, timeout_seconds=10.0)

    async def bare_tcp_streams() -> bool:
        try:
            _, writer = await asyncio.open_connection(HOST, tcp_port)
        except OSError:
            return False
        writer.close()
        return True

    async def bare_tcp_socket() -> bool:
        # The primitive probe() itself uses for a plain TCP check.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(sock, (HOST, tcp_port))
        except OSError:
            return False
        finally:
            sock.close()
        return True

    async def bare_http() -> bool:
        try:
            response = await bare_client.get(http_url)
        except httpx.HTTPError:
            return False
        return 200 <= response.status_code < 400

    async def probe_tcp() -> bool:
        return (await probe(tcp_target)).status is CheckStatus.UP

    async def probe_http() -> bool:
        return (await probe(http_target)).status is CheckStatus.UP

    rows: list[tuple[str, str, Check, Check]] = [
        ("tcp", "asyncio.open_connection", bare_tcp_streams, probe_tcp),
        ("tcp", "loop.sock_connect", bare_tcp_socket, probe_tcp),
        ("http", "httpx.AsyncClient, no keep-alive", bare_http, probe_http),
    ]
    if https is not None:
        https_port, ca_path = https
        https_url = f"https://{HOST}:{https_port}/health"
        https_target = Target("http", url=https_url, timeout_seconds=10.0)
        verifying = ssl.create_default_context(cafile=ca_path)
        bare_tls_client = httpx.AsyncClient(timeout=10.0, limits=no_keep_alive, verify=verifying)

        async def bare_https() -> bool:
            try:
                response = await bare_tls_client.get(https_url)
            except httpx.HTTPError:
                return False
            return 200 <= response.status_code < 400

        async def probe_https() -> bool:
            result = await probe(https_target)
            return result.status is CheckStatus.UP and result.tls_expires_at is not None

        rows.append(("https", "httpx.AsyncClient, no keep-alive", bare_https, probe_https))
    return rows


async def _bench(args: argparse.Namespace, peers: Peers) -> None:
    rows = [
        row
        for row in _rows(peers.tcp_port, peers.http_port, (peers.https_port, peers.ca_path))
        if row[0] in args.kinds
    ]
    print(
        f"concurrency {args.concurrency}, {args.rounds} x {args.duration:g} s per cell, "
        f"peers in a separate process, {os.cpu_count()} cores"
    )
    print()
    print(
        "| kind | bare loop uses | bare (checks/s) | probe() (checks/s) | ratio "
        "| bare CPU µs/check | probe() CPU µs/check | probe() checks/s per core | client CPU |"
    )
    print(
        "|------|----------------|----------------:|-------------------:|------:"
        "|------------------:|---------------------:|--------------------------:|-----------:|"
    )
    for kind, baseline, bare, probed in rows:
        # Warm up both paths (imports, SSL contexts, the resolver's thread pool).
        await _measure(bare, args.concurrency, 0.5)
        await _measure(probed, args.concurrency, 0.5)
        bare_runs: list[Run] = []
        probe_runs: list[Run] = []
        for _ in range(args.rounds):
            bare_runs.append(await _measure(bare, args.concurrency, args.duration))
            probe_runs.append(await _measure(probed, args.concurrency, args.duration))
        bare_rate, bare_us, _ = _totals(bare_runs)
        probe_rate, probe_us, probe_per_core = _totals(probe_runs)
        failures = sum(r.failed for r in bare_runs + probe_runs)
        bare_cpu = sum(r.cpu_seconds for r in bare_runs) / sum(r.seconds for r in bare_runs)
        probe_cpu = sum(r.cpu_seconds for r in probe_runs) / sum(r.seconds for r in probe_runs)
        print(
            f"| {kind} | {baseline} | {bare_rate:,.0f} | {probe_rate:,.0f} "
            f"| {probe_rate / bare_rate:.2f} | {bare_us:,.0f} | {probe_us:,.0f} "
            f"| {probe_per_core:,.0f} | {bare_cpu:.0%} / {probe_cpu:.0%} |"
            + (f" ({failures} failed checks)" if failures else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per kind")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument(
        "--kinds", type=lambda text: text.split(","), default=["tcp", "http", "https"]
    )
    args = parser.parse_args()

    with peer_process_with_tls() as peers:
        # The probe trusts the run's CA the way an operator would make it trust a private one.
        os.environ["SSL_CERT_FILE"] = peers.ca_path
        asyncio.run(_bench(args, peers))


if __name__ == "__main__":
    main()
