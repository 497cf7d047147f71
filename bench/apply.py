"""How long `uptime apply` takes for a big document, and how the new targets' first checks
spread (issue 17, figure 5).

Starts one `uptime api` (a real process) on a fresh database and runs the `uptime` command as a
person or a CI job would, timing each run's wall clock (the command's own process included:
Python start-up, reading the YAML, the request, the plan printed):

1. `uptime apply -f` of `--targets` new targets (a third each HTTP, TCP and ICMP, loopback
   addresses, every `--interval` seconds) and a webhook channel watching all of them: the
   figure (goal: under 10 s for 1,000);
2. the same file again: nothing to do;
3. every target's interval changed: as many updates;
4. `--dry-run` of a file without a tenth of them, with `--prune`: the deletions planned.

Then how the created targets' first slots spread after the apply (an apply that creates, or
changes the interval or probe of, more than 100 targets spreads their next slots evenly over
their intervals; fewer are checked within a second or so): the first and last offset,
p50, and the most first slots in any one second, beside what "all at once" would be (every
target in the same second) and what the interval allows (targets / interval per second).

The database is the embedded PostgreSQL in a temporary directory, unless DATABASE_URL is set.

    python bench/apply.py [--targets 1000] [--interval 60]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import yaml

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from tests.support.net import free_port, wait_for_http
from tests.support.postgres import benchmark_database
from uptime_core.runtime.db import libpq_url


def document(count: int, interval: int) -> dict[str, Any]:
    kinds = [
        lambda n: {"kind": "http", "url": f"http://127.0.0.1:9/health/{n}"},
        lambda n: {"kind": "tcp", "host": "127.0.0.1", "port": 1 + n % 65535},
        lambda n: {"kind": "icmp", "host": "127.0.0.1"},
    ]
    targets = [
        {"key": f"target-{n}", "intervalSeconds": interval, **kinds[n % 3](n)} for n in range(count)
    ]
    channel = {
        "key": "ops-hook",
        "kind": "webhook",
        "allTargets": True,
        "webhook": {"url": "http://127.0.0.1:9/hook", "secret": "${HOOK_SECRET}"},
    }
    return {"targets": targets, "channels": [channel]}


def uptime(url: str, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPTIME_")}
    env.update(UPTIME_URL=url, HOOK_SECRET="a-signing-secret-for-the-bench")
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "uptime_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return time.perf_counter() - started, result


def summary(result: subprocess.CompletedProcess[str]) -> str:
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[-1] if lines else f"exit {result.returncode}"


async def first_slots(database_url: str, applied_at: float) -> list[float]:
    """Each target's first slot, in seconds after the apply ended (database clock)."""
    connection = await asyncpg.connect(libpq_url(database_url))
    try:
        rows = await connection.fetch(
            "SELECT extract(epoch FROM next_run_at)::float8 AS at FROM target"
        )
    finally:
        await connection.close()
    return sorted(row["at"] - applied_at for row in rows)


async def database_now(database_url: str) -> float:
    connection = await asyncpg.connect(libpq_url(database_url))
    try:
        now: float = await connection.fetchval("SELECT extract(epoch FROM now())::float8")
        return now
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--interval", type=int, default=60)
    args = parser.parse_args()
    count, interval = args.targets, args.interval
    with benchmark_database("apply") as database_url, tempfile.TemporaryDirectory() as scratch:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("UPTIME_")}
        env.update(DATABASE_URL=database_url, UPTIME_API_PORT=str(port), UPTIME_LOG_LEVEL="warning")
        api = subprocess.Popen(
            [sys.executable, "-m", "uptime_cli", "api"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_http(f"{url}/healthz", timeout=60)
            full = document(count, interval)
            path = Path(scratch) / "monitors.yaml"
            path.write_text(yaml.safe_dump(full, sort_keys=False))
            size = path.stat().st_size
            runs: list[tuple[str, float, str]] = []

            seconds, result = uptime(url, "apply", "-f", str(path))
            applied_at = asyncio.run(database_now(database_url))
            assert result.returncode == 0, result.stderr
            runs.append(
                (f"apply: create {count:,} targets and a channel", seconds, summary(result))
            )
            offsets = asyncio.run(first_slots(database_url, applied_at))

            seconds, result = uptime(url, "apply", "-f", str(path))
            assert result.returncode == 0, result.stderr
            runs.append(("apply the same file again", seconds, summary(result)))

            for target in full["targets"]:
                target["intervalSeconds"] = interval * 2
            path.write_text(yaml.safe_dump(full, sort_keys=False))
            seconds, result = uptime(url, "apply", "-f", str(path))
            assert result.returncode == 0, result.stderr
            runs.append((f"apply: {count:,} intervals changed", seconds, summary(result)))

            full["targets"] = full["targets"][: count - count // 10]
            path.write_text(yaml.safe_dump(full, sort_keys=False))
            seconds, result = uptime(url, "apply", "-f", str(path), "--prune", "--dry-run")
            assert result.returncode == 2, result.stderr
            runs.append(("dry run with --prune, a tenth left out", seconds, summary(result)))
        finally:
            api.terminate()
            api.wait(timeout=30)

    print(f"`uptime apply` against a local `uptime api`; the document {size / 1024:.0f} KiB\n")
    print("| run | wall s | the command's last line |")
    print("|-----|-------:|-------------------------|")
    for name, seconds, line in runs:
        print(f"| {name} | {seconds:.2f} | {line} |")
    busiest = max(Counter(math.floor(offset) for offset in offsets).values())
    middle = offsets[len(offsets) // 2]
    print(
        f"\nFirst slots of the {count:,} new targets (interval {interval} s), seconds after the "
        "apply ended:\n"
    )
    print("| first | p50 | last | most in one second | all at once | spread over the interval |")
    print("|------:|----:|-----:|-------------------:|------------:|-------------------------:|")
    print(
        f"| {offsets[0]:.1f} | {middle:.1f} | {offsets[-1]:.1f} | {busiest} | {count} | "
        f"{count / interval:.0f} |"
    )


if __name__ == "__main__":
    main()
