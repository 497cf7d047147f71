"""Run inside the test's own network namespace (test_metadata_namespace.py), where 169.254.169.254
belongs to the loopback interface: a fake cloud metadata server answering with a fake secret,
and the probes and a webhook send aimed at it in every spelling.

    python tests/core/probes/metadata_lab.py probe   # prints one JSON report
    python tests/core/probes/metadata_lab.py serve   # serves until stdin closes, then
                                                     # prints how many connections it had
    python tests/core/probes/metadata_lab.py own-address  # probes a "health endpoint" on
                                                     # OWN_ADDRESS, this machine's address

Not a test module itself: it is started with `ip netns exec`, as root, by the tests.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.support.peers import Target, respond

METADATA = "169.254.169.254"
# An address of the namespace's own (on its loopback interface, outside 127.0.0.0/8).
OWN_ADDRESS = "10.200.0.1"
HEALTH_PORT = 8001
SECRET = "FAKE-SECRET-wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY-" + "s" * 60
CREDENTIALS_PATH = "/latest/meta-data/iam/security-credentials/uptime-role"
# The assertion the security review used: it made the probe quote the secret back.
READ_SECRET = {"jsonAssertion": {"path": "$.SecretAccessKey", "operator": "==", "value": "x"}}
HTTP_SPELLINGS = {
    "dotted": "169.254.169.254",
    "decimal": "2852039166",
    "hex": "0xa9fea9fe",
    "short": "169.254.43518",
    "mapped": "[::ffff:169.254.169.254]",
    "nat64": "[64:ff9b::a9fe:a9fe]",
}
HOST_SPELLINGS = {
    "dotted": "169.254.169.254",
    "decimal": "2852039166",
    "hex": "0xa9fea9fe",
    "short": "169.254.43518",
    "mapped": "::ffff:169.254.169.254",
}


class Counter:
    connections = 0
    health_requests = 0


async def _health(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
        Counter.health_requests += 1
        await respond(writer, 200, b"uptime_worker_up 1")
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _metadata(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    Counter.connections += 1
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ", 2)[1].decode()
        document = {"Code": "Success", "AccessKeyId": "ASIAFAKE", "SecretAccessKey": SECRET}
        body = json.dumps(document).encode() if path == CREDENTIALS_PATH else b"{}"
        await respond(writer, 200, body, {"Content-Type": "application/json"})
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def _redirector(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ", 2)[1].decode()
        if path == "/ok":
            await respond(writer, 200, b"fine")
        else:
            location = f"http://{METADATA}{CREDENTIALS_PATH}"
            await respond(writer, 302, b"", {"Location": location})
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def _row(result: Any) -> list[Any]:
    kind = result.error_kind.value if result.error_kind else None
    return [result.status.value, kind, result.message, result.resolved_address]


async def _probe_all() -> dict[str, Any]:
    from uptime_core.alerting.outbox import ClaimedDelivery
    from uptime_core.alerting.send import SendError, send
    from uptime_core.enums import ChannelKind
    from uptime_core.probes import probe

    metadata = await asyncio.start_server(_metadata, METADATA, 80)
    redirector = await asyncio.start_server(_redirector, "127.0.0.1", 0)
    port = redirector.sockets[0].getsockname()[1]
    results: dict[str, Any] = {}
    for name, host in HTTP_SPELLINGS.items():
        url = f"http://{host}{CREDENTIALS_PATH}"
        results[f"http {name}"] = _row(await probe(Target("http", url=url, options=READ_SECRET)))
    redirect = Target("http", url=f"http://127.0.0.1:{port}/to-metadata", options=READ_SECRET)
    results["http redirect"] = _row(await probe(redirect))
    results["http loopback"] = _row(await probe(Target("http", url=f"http://127.0.0.1:{port}/ok")))
    for name, host in HOST_SPELLINGS.items():
        results[f"tcp {name}"] = _row(await probe(Target("tcp", host=host, port=80)))
        results[f"icmp {name}"] = _row(await probe(Target("icmp", host=host)))
    results["tcp loopback"] = _row(await probe(Target("tcp", host="127.0.0.1", port=port)))
    results["icmp loopback"] = _row(await probe(Target("icmp", host="127.0.0.1")))
    for name, host in HTTP_SPELLINGS.items():
        delivery = ClaimedDelivery(
            id=1,
            event="test",
            idempotency_key="uptime-test-metadata",
            payload={},
            attempts=0,
            channel_id=1,
            channel_name="hook",
            kind=ChannelKind.WEBHOOK,
            config={"url": f"http://{host}{CREDENTIALS_PATH}"},
            seconds_left=60.0,
        )
        try:
            await send(delivery, 3.0)
            results[f"webhook {name}"] = ["sent", None]
        except SendError as error:
            results[f"webhook {name}"] = [str(error), error.permanent]
    metadata.close()
    redirector.close()
    return {"results": results, "metadata_connections": Counter.connections}


async def _own_address() -> dict[str, Any]:
    from uptime_core.probes import probe

    health = await asyncio.start_server(_health, "0.0.0.0", HEALTH_PORT)
    other = await asyncio.start_server(_metadata, "0.0.0.0", HEALTH_PORT + 1)
    results = {
        "http health": _row(await probe(Target("http", url=f"http://{OWN_ADDRESS}:8001/m"))),
        "tcp health": _row(await probe(Target("tcp", host=OWN_ADDRESS, port=HEALTH_PORT))),
        "http other": _row(await probe(Target("http", url=f"http://{OWN_ADDRESS}:8002/m"))),
        "tcp other": _row(await probe(Target("tcp", host=OWN_ADDRESS, port=HEALTH_PORT + 1))),
    }
    health.close()
    other.close()
    return {"results": results, "health_requests": Counter.health_requests}


async def _serve() -> None:
    server = await asyncio.start_server(_metadata, METADATA, 80)
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    server.close()
    print(json.dumps({"metadata_connections": Counter.connections}), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "probe":
        print(json.dumps(asyncio.run(_probe_all())))
    elif sys.argv[1] == "own-address":
        print(json.dumps(asyncio.run(_own_address())))
    else:
        asyncio.run(_serve())
