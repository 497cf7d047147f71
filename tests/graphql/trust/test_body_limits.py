"""Bodies above the limit get 413 unread, over HTTP and WebSocket, from a real `uptime api`."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.graphql.trust.support import MIB, WS_PROTOCOL, ApiProcess, exchange, lazy_body, post_head

# -- bodies above the limit: 413, unread -----------------------------------------------------------


async def test_a_100_mb_body_gets_413_and_the_api_memory_stays_flat(
    database_url: str, start_api: Any
) -> None:
    api: ApiProcess = start_api(database_url=database_url)
    total = 100 * MIB
    # Warm up: the first request loads what serving one needs.
    async with httpx.AsyncClient(base_url=api.url) as http:
        assert (await http.post("/graphql", json={"query": "{ version }"})).status_code == 200
    rss_before = api.memory_kib("VmRSS")

    # Four at once with the length declared, four at once chunked (counted while streaming).
    declared = [
        exchange(api.port, post_head(api.port, length=total), lazy_body(total)) for _ in range(4)
    ]
    chunked = [
        exchange(api.port, post_head(api.port, length=None), lazy_body(total), chunked=True)
        for _ in range(4)
    ]
    for status, answer, sent in await asyncio.gather(*declared, *chunked):
        assert status == 413, answer[:300]
        assert b"UPTIME_API_MAX_BODY_BYTES" in answer
        assert sent < total / 4, sent  # cut off, not read to the end

    grown_mib = (api.memory_kib("VmHWM") - rss_before) / 1024
    # Eight 100 MB bodies: had any been read, the peak would have grown by 100 MB or more.
    assert grown_mib < 16, f"the API's peak memory grew by {grown_mib:.0f} MiB"

    # A WebSocket message obeys the same limit (uvicorn's ws_max_size), and one nested too
    # deeply is refused like any message that is not JSON.
    ws_url = f"ws://127.0.0.1:{api.port}/graphql"
    for message, code in (("x" * (2 * MIB), 1009), ("[" * 100_000 + "]" * 100_000, 4400)):
        async with connect(ws_url, subprotocols=WS_PROTOCOL, max_size=None) as ws:
            await ws.send(message)
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == code

    # A body under the limit is still served.
    query = "{ version }" + " " * (MIB - 4096)
    async with httpx.AsyncClient(base_url=api.url) as http:
        served = await http.post("/graphql", json={"query": query})
        assert served.status_code == 200 and "version" in served.json()["data"]
    assert api.process.poll() is None
    api.stop()
    log = api.log_path.read_text(errors="replace")
    assert "Traceback" not in log and " ERROR " not in log, log
