"""Probes per second through `probe()` against a bare asyncio loop doing the same work.

Starts a TCP server and an HTTP server in a separate process, then for each kind runs 200
concurrent workers for `--duration` seconds twice, alternating: a bare loop with the same
libraries (asyncio.open_connection; one shared httpx client without keep-alive, so every
request opens a fresh connection), and `probe()`. For TCP there are two bare loops: the
asyncio streams API, and the bare-socket connect that `probe()` itself uses. Prints the rates,
the ratio, and how busy the client process was (near 100 % means the client, not the server,
is the limit).

    python bench/probes.py [--duration 5] [--rounds 2] [--concurrency 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.peers import Target
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


async def _serve(ready: Connection) -> None:
    loop = asyncio.get_running_loop()
    tcp = await loop.create_server(_AcceptAndClose, HOST, 0, backlog=4096)
    http = await loop.create_server(_MinimalHttp, HOST, 0, backlog=4096)
    ready.send((tcp.sockets[0].getsockname()[1], http.sockets[0].getsockname()[1]))
    await loop.run_in_executor(None, ready.recv)  # returns when the bench says stop


def _run_peer(ready: Connection) -> None:
    asyncio.run(_serve(ready))


@contextlib.contextmanager
def peer_process() -> Iterator[tuple[int, int]]:
    """A loopback TCP server (accepts and closes) and a minimal HTTP server in a process of
    their own, so that they do not share the measured process's CPU; their ports."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    peer = context.Process(target=_run_peer, args=(theirs,), daemon=True)
    peer.start()
    try:
        tcp_port, http_port = ours.recv()
        yield tcp_port, http_port
    finally:
        ours.send("stop")
        peer.join(timeout=5)
        if peer.is_alive():
            peer.kill()


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


def _rows(tcp_port: int, http_port: int) -> list[tuple[str, str, Check, Check]]:
    """(kind, what the bare loop uses, bare check, probe check) per table row."""
    http_url = f"http://{HOST}:{http_port}/health"
    bare_client = httpx.AsyncClient(
        timeout=10.0,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
    )
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

    return [
        ("tcp", "asyncio.open_connection", bare_tcp_streams, probe_tcp),
        ("tcp", "loop.sock_connect", bare_tcp_socket, probe_tcp),
        ("http", "httpx.AsyncClient, no keep-alive", bare_http, probe_http),
    ]


async def _bench(args: argparse.Namespace, tcp_port: int, http_port: int) -> None:
    rows = _rows(tcp_port, http_port)
    print(
        f"concurrency {args.concurrency}, {args.rounds} x {args.duration:g} s per cell, "
        "peers in a separate process"
    )
    print()
    print("| kind | bare loop uses | bare (checks/s) | probe() (checks/s) | ratio | client CPU |")
    print("|------|----------------|----------------:|-------------------:|------:|-----------:|")
    for kind, baseline, bare, probed in rows:
        # Warm up both paths (imports, SSL contexts, the resolver's thread pool).
        await _measure(bare, args.concurrency, 0.5)
        await _measure(probed, args.concurrency, 0.5)
        bare_runs: list[Run] = []
        probe_runs: list[Run] = []
        for _ in range(args.rounds):
            bare_runs.append(await _measure(bare, args.concurrency, args.duration))
            probe_runs.append(await _measure(probed, args.concurrency, args.duration))
        bare_rate = sum(r.completed for r in bare_runs) / sum(r.seconds for r in bare_runs)
        probe_rate = sum(r.completed for r in probe_runs) / sum(r.seconds for r in probe_runs)
        failures = sum(r.failed for r in bare_runs + probe_runs)
        bare_cpu = sum(r.cpu_seconds for r in bare_runs) / sum(r.seconds for r in bare_runs)
        probe_cpu = sum(r.cpu_seconds for r in probe_runs) / sum(r.seconds for r in probe_runs)
        print(
            f"| {kind} | {baseline} | {bare_rate:,.0f} | {probe_rate:,.0f} "
            f"| {probe_rate / bare_rate:.2f} | {bare_cpu:.0%} / {probe_cpu:.0%} |"
            + (f" ({failures} failed checks)" if failures else "")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per kind")
    parser.add_argument("--concurrency", type=int, default=200)
    args = parser.parse_args()

    with peer_process() as (tcp_port, http_port):
        asyncio.run(_bench(args, tcp_port, http_port))


if __name__ == "__main__":
    main()
