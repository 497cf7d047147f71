"""Must-show 3: with 200 targets the overview is interactive within 2 s, and stays smooth
while the worker's 200 checks a second stream in over the subscription."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from playwright.async_api import Page

from tests.browser.conftest import Hosts, StartUptime
from tests.browser.measure import measure_overview, seed_targets
from tests.support.peers import TcpPeer
from tests.support.wait import poll_until
from uptime_core.runtime.db import libpq_url

TARGETS = 200  # each checked every second: 200 checks/s
INTERACTIVE_WITHIN_MS = 2000
# Smooth: 95 % of frames come within 50 ms (at most two missed at 60 Hz), and no task holds
# the page for half a second. Long tasks are wall time: on two cores that also run
# PostgreSQL, the API and the worker (and, on a shared machine, other work), a 40 ms task can
# last 200 ms or more while the renderer waits for a core, so the frame rate is the test's
# measure of smoothness and the task bound only catches a page that really stalls. The
# figures themselves are in test-artifacts/ui-performance.txt and docs/ui.md.
FRAME_P95_MS = 50
LONGEST_TASK_MS = 500


async def test_200_targets_interactive_and_smooth_under_200_checks_a_second(
    page: Page, page_hosts: Hosts, start_uptime: StartUptime, database_url: str, artifacts: Path
) -> None:
    peer = await TcpPeer().start("127.0.0.1")
    db = await asyncpg.connect(libpq_url(database_url))
    try:
        await seed_targets(db, TARGETS, "127.0.0.1", peer.port)
        uptime = start_uptime()

        async def checks_last_2s() -> int:
            count: int = await db.fetchval(
                "SELECT count(*) FROM check_result WHERE finished_at > now() - interval '2 s'"
            )
            return count

        rate = await poll_until(checks_last_2s, lambda n: n >= 1.5 * TARGETS, within=20)
        assert rate >= 1.5 * TARGETS, f"the worker runs {rate / 2} checks/s, not ~{TARGETS}"

        figures = await measure_overview(page, uptime.url, TARGETS, seconds=5)
    finally:
        await db.close()
        await peer.stop()

    table = "\n".join(f"{name:>24}  {value}" for name, value in figures.rows())
    (artifacts / "ui-performance.txt").write_text(table + "\n")
    print(f"\n{table}")
    assert figures.interactive_ms <= INTERACTIVE_WITHIN_MS, table
    assert figures.events_per_second >= 0.75 * TARGETS, table
    assert figures.frame_p95_ms <= FRAME_P95_MS, table
    assert figures.longest_task_ms <= LONGEST_TASK_MS, table
    assert page_hosts.hosts == {uptime.host}
    assert page_hosts.errors == []
