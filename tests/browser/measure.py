"""How the overview behaves with many targets while checks stream in, measured inside the
browser: time to the first full render, long tasks, frame intervals, interaction latency and
the rate of live events. Shared by tests/browser/test_overview_load.py and bench/ui.py."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

import asyncpg
from playwright.async_api import Page, expect

from tests.support.targets import TargetSpec, insert_targets

# Installed before the page's own scripts: long tasks and slow events (Event Timing) from the
# very start, and a frame recorder the measurement switches on.
OBSERVERS = """
window.__perf = { longtasks: [], events: [], frames: [], recording: false };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__perf.longtasks.push([e.startTime, e.duration]);
}).observe({ type: "longtask", buffered: true });
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__perf.events.push([e.name, e.startTime, e.duration]);
}).observe({ type: "event", durationThreshold: 16, buffered: true });
window.__recordFrames = (ms) => new Promise((resolve) => {
  const frames = [];
  let last = performance.now();
  const end = last + ms;
  const tick = (now) => {
    frames.push(now - last);
    last = now;
    if (now < end) requestAnimationFrame(tick); else resolve(frames);
  };
  requestAnimationFrame(tick);
});
"""


@dataclass(frozen=True)
class OverviewFigures:
    targets: int
    rendered_ms: float  # navigation start to the first render of every row with its figures
    queries_ms: float  # of which waiting for the overview's GraphQL answers
    interactive_ms: float  # the first moment after that with no long task running
    live_seconds: float
    events_per_second: float  # checks received over the subscription while measuring
    frame_p50_ms: float
    frame_p95_ms: float
    frame_max_ms: float
    long_tasks: int  # main-thread tasks over 50 ms while events arrived
    longest_task_ms: float
    blocking_ms: float  # their time beyond 50 ms each (total blocking time)
    slowest_interaction_ms: float  # typing and filtering while events arrived (Event Timing)

    def rows(self) -> list[tuple[str, str]]:
        return [(name.replace("_", " "), f"{value:,.1f}") for name, value in asdict(self).items()]


async def seed_targets(
    db: asyncpg.Connection, count: int, host: str, port: int, interval_seconds: int = 1
) -> list[int]:
    """``count`` TCP targets at ``host:port``, checked every ``interval_seconds``."""
    specs = [
        TargetSpec(
            kind="tcp",
            host=host,
            port=port,
            name=f"service {n:03d}",
            interval_seconds=interval_seconds,
            timeout_seconds=1.0,
        )
        for n in range(count)
    ]
    return await insert_targets(db, specs)


async def measure_overview(page: Page, url: str, targets: int, seconds: float) -> OverviewFigures:
    """Open the overview at ``url`` with ``targets`` targets, then watch it for ``seconds``
    while the worker's checks stream in, typing a search and changing the filter meanwhile."""
    await page.add_init_script(OBSERVERS)
    await page.goto(f"{url}/ui/")
    await expect(page.locator("tbody#rows tr")).to_have_count(targets, timeout=30_000)
    await page.wait_for_function("performance.getEntriesByName('uptime:overview').length > 0")
    rendered: float = await page.evaluate(
        "performance.getEntriesByName('uptime:overview')[0].startTime"
    )
    queries: float = await page.evaluate(
        """(rendered) => performance.getEntriesByType("resource")
             .filter((e) => e.name.endsWith("/graphql") && e.startTime < rendered)
             .reduce((sum, e) => sum + e.duration, 0)""",
        rendered,
    )
    await expect(page.locator("#live-state")).to_have_text("Live")

    start = await page.evaluate("[performance.now(), window.uptime.state.received]")
    frames_promise = page.evaluate(f"window.__recordFrames({seconds * 1000})")
    # Interactions while events arrive: search, clear, filter by status, back to all.
    search = page.get_by_label("Search by name")
    await search.press_sequentially("service 01", delay=60)
    await expect(page.locator("tbody#rows tr:not(.filtered-out)")).to_have_count(10)
    await search.fill("")
    await page.get_by_label("Status").select_option("DOWN")
    await page.get_by_label("Status").select_option("")
    frames: list[float] = await frames_promise
    end = await page.evaluate("[performance.now(), window.uptime.state.received]")
    perf = await page.evaluate("window.__perf")

    long_tasks = [(s, d) for s, d in perf["longtasks"]]
    interactive = rendered
    for task_start, duration in sorted(long_tasks):
        if task_start <= interactive < task_start + duration:
            interactive = task_start + duration
    during = [(s, d) for s, d in long_tasks if start[0] <= s <= end[0]]
    interactions = [d for _, s, d in perf["events"] if start[0] <= s <= end[0]]
    elapsed = (end[0] - start[0]) / 1000
    frames = sorted(frames[1:])  # the first interval is from the request, not a frame
    return OverviewFigures(
        targets=targets,
        rendered_ms=rendered,
        queries_ms=queries,
        interactive_ms=interactive,
        live_seconds=elapsed,
        events_per_second=(end[1] - start[1]) / elapsed,
        frame_p50_ms=statistics.median(frames),
        frame_p95_ms=frames[int(0.95 * (len(frames) - 1))],
        frame_max_ms=frames[-1],
        long_tasks=len(during),
        longest_task_ms=max((d for _, d in during), default=0.0),
        blocking_ms=sum(d - 50 for _, d in during),
        slowest_interaction_ms=max(interactions, default=0.0),
    )
