"""`uptime apply` and `uptime export` (issue 17), through real processes: one `uptime api` with a
token for the module, on a database of its own, and `python -m uptime_cli apply|export ...` as
a person, a CI job or the Kubernetes Job runs them."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import yaml

from tests.graphql.trust.support import ApiProcess
from tests.support.postgres import TEMPLATE, create_database, drop_database
from uptime_core.runtime.db import libpq_url

pytestmark = pytest.mark.slow  # starts `uptime` processes (see tests/conftest.py)

TOKEN = secrets.token_hex(32)
HOOK_SECRET = "a-signing-secret-" + secrets.token_hex(8)
DOCUMENT: dict[str, Any] = {
    "targets": [
        {"key": "shop", "kind": "http", "url": "http://127.0.0.1:9/health", "intervalSeconds": 30},
        {
            "key": "api",
            "name": "API",
            "kind": "http",
            "url": "http://127.0.0.1:9/api",
            "http": {"method": "HEAD", "acceptedStatusCodes": ["200-299"]},
        },
        {
            "key": "docs",
            "kind": "http",
            "url": "http://127.0.0.1:9/docs",
            "http": {"keyword": "ok"},
        },
        {"key": "db", "kind": "tcp", "host": "127.0.0.1", "port": 5432},
        {"key": "cache", "kind": "tcp", "host": "127.0.0.1", "port": 6379},
        {"key": "gateway", "kind": "icmp", "host": "127.0.0.1"},
    ],
    "channels": [
        {
            "key": "ops-hook",
            "kind": "webhook",
            "targets": ["shop", "api"],
            "webhook": {"url": "http://127.0.0.1:9/hook", "secret": "${HOOK_SECRET}"},
        },
        {"key": "ops-slack", "kind": "slack", "allTargets": True, "slack": {"url": "${SLACK_URL}"}},
    ],
    "maintenanceWindows": [
        {
            "key": "db-sunday",
            "kind": "weekly",
            "target": "db",
            "weekdays": ["sunday"],
            "localStart": "03:00",
            "durationSeconds": 3600,
            "timeZone": "Europe/Paris",
        }
    ],
}
SECRETS = {"HOOK_SECRET": HOOK_SECRET, "SLACK_URL": "https://hooks.slack.com/services/T0/B0/x"}


@pytest.fixture(scope="module")
def database_url_of_api(postgres_url: str) -> Iterator[str]:
    url = asyncio.run(create_database(postgres_url, template=TEMPLATE))
    yield url
    asyncio.run(drop_database(url))


@pytest.fixture(scope="module")
def api(database_url_of_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    log_path = tmp_path_factory.mktemp("api") / "api.log"
    process = ApiProcess(log_path, database_url=database_url_of_api, api_token=TOKEN)
    try:
        yield process
    finally:
        process.stop()


def uptime(api: ApiProcess, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """``uptime ARGS`` reaching ``api`` through the variables a script sets, plus ``variables``
    (the document's secrets)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPTIME_")}
    env.update(UPTIME_URL=api.url, UPTIME_API_TOKEN=TOKEN, **variables)
    return subprocess.run(
        [sys.executable, "-m", "uptime_cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write(path: Path, document: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(path)


def fetch(database_url: str, query: str) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        connection = await asyncpg.connect(libpq_url(database_url))
        try:
            return [tuple(row) for row in await connection.fetch(query)]
        finally:
            await connection.close()

    return asyncio.run(run())


def everything(database_url: str) -> list[list[tuple[Any, ...]]]:
    tables = ["target", "notification_channel", "channel_target", "maintenance_window"]
    return [fetch(database_url, f"SELECT * FROM {table} ORDER BY 1, 2") for table in tables]


def test_dry_run_apply_again_export_and_back(
    api: ApiProcess, database_url_of_api: str, tmp_path: Path
) -> None:
    monitors = write(tmp_path / "monitors.yaml", DOCUMENT)
    before = everything(database_url_of_api)

    dry = uptime(api, "apply", "-f", monitors, "--dry-run", **SECRETS)
    assert dry.returncode == 2, dry.stderr
    assert "+ target shop" in dry.stdout and "+ maintenance window db-sunday" in dry.stdout
    assert "9 to create, 0 to update, 0 to delete, 0 unchanged; dry run" in dry.stdout
    assert everything(database_url_of_api) == before, "a dry run writes nothing"

    applied = uptime(api, "apply", "-f", monitors, **SECRETS)
    assert applied.returncode == 0, applied.stderr
    assert "9 to create" in applied.stdout and "applied." in applied.stdout
    assert len(fetch(database_url_of_api, "SELECT id FROM target")) == 6
    assert HOOK_SECRET not in applied.stdout + applied.stderr

    again = uptime(api, "apply", "-f", monitors, **SECRETS)
    assert (again.returncode, again.stdout.strip()) == (
        0,
        "0 to create, 0 to update, 0 to delete, 9 unchanged; nothing to do.",
    )

    exported = tmp_path / "export.yaml"
    export = uptime(api, "export", "-o", str(exported))
    assert export.returncode == 0, export.stderr
    text = exported.read_text()
    assert HOOK_SECRET not in text and SECRETS["SLACK_URL"] not in text
    named = re.findall(r"[A-Z][A-Z0-9_]+", export.stderr.split(": ")[-1])
    assert "CHANNEL_OPS_HOOK_WEBHOOK_SECRET" in named, export.stderr
    exported_secrets = {
        "CHANNEL_OPS_HOOK_WEBHOOK_URL": "http://127.0.0.1:9/hook",
        "CHANNEL_OPS_HOOK_WEBHOOK_SECRET": HOOK_SECRET,
        "CHANNEL_OPS_SLACK_SLACK_URL": SECRETS["SLACK_URL"],
    }
    assert sorted(named) == sorted(exported_secrets)
    round_trip = uptime(api, "apply", "-f", str(exported), "--dry-run", **exported_secrets)
    assert round_trip.returncode == 0, round_trip.stdout + round_trip.stderr
    assert "9 unchanged; nothing to do." in round_trip.stdout

    # One field changed: exactly that field, only that row, its history kept.
    shop = fetch(database_url_of_api, "SELECT id FROM target WHERE key = 'shop'")[0][0]
    fetch(
        database_url_of_api,
        "INSERT INTO check_result (target_id, scheduled_for, started_at, finished_at, status) "
        f"VALUES ({shop}, now(), now(), now(), 'up') RETURNING 1",
    )
    changed = copy.deepcopy(DOCUMENT)
    changed["targets"][0]["intervalSeconds"] = 45
    before = everything(database_url_of_api)
    planned = uptime(api, "apply", "-f", write(tmp_path / "changed.yaml", changed), **SECRETS)
    assert planned.returncode == 0, planned.stderr
    assert planned.stdout.splitlines()[0] == "~ target shop: intervalSeconds"
    after = everything(database_url_of_api)
    assert [row[0] for row in after[0] if row not in before[0]] == [shop], "only that row"
    assert after[1:] == before[1:]
    history = fetch(
        database_url_of_api, f"SELECT count(*) FROM check_result WHERE target_id = {shop}"
    )
    assert history == [(1,)]

    # A target left out of the file is deleted only with --prune.
    del changed["targets"][5]
    smaller = write(tmp_path / "smaller.yaml", changed)
    kept = uptime(api, "apply", "-f", smaller, **SECRETS)
    assert "nothing to do" in kept.stdout
    pruned = uptime(api, "apply", "-f", smaller, "--prune", "-o", "json", **SECRETS)
    assert pruned.returncode == 0, pruned.stderr
    plan = json.loads(pruned.stdout)
    assert [(c["action"], c["kind"], c["key"]) for c in plan["changes"]] == [
        ("DELETE", "TARGET", "gateway")
    ]
    assert len(fetch(database_url_of_api, "SELECT id FROM target")) == 5


def test_an_invalid_document_lists_every_problem_and_writes_nothing(
    api: ApiProcess, database_url_of_api: str, tmp_path: Path
) -> None:
    broken = copy.deepcopy(DOCUMENT)
    for target in broken["targets"]:
        target["key"] = "x-" + target["key"]
    broken["channels"] = broken["channels"][:1]
    broken["channels"][0]["targets"] = ["x-shop"]
    broken["maintenanceWindows"] = []
    broken["targets"][3]["port"] = 70000
    broken["targets"][1]["colour"] = "blue"
    broken["targets"][2]["key"] = "x-shop"
    before = everything(database_url_of_api)
    result = uptime(api, "apply", "-f", write(tmp_path / "broken.yaml", broken))
    assert result.returncode == 1
    assert result.stdout == ""
    problems = [line for line in result.stderr.splitlines() if line.startswith("uptime: invalid")]
    assert any("targets[3].port:" in line for line in problems), result.stderr
    assert any("targets[1].colour: is not a known field" in line for line in problems)
    assert any("targets[2].key:" in line and "x-shop" in line for line in problems)
    assert any(
        "channels[0].webhook.secret: the environment variable HOOK_SECRET is not set" in line
        for line in problems
    )
    assert len(problems) == 4, result.stderr
    assert everything(database_url_of_api) == before


def test_unreadable_files_are_one_line_each(api: ApiProcess, tmp_path: Path) -> None:
    missing = uptime(api, "apply", "-f", str(tmp_path / "nope.yaml"))
    assert (missing.returncode, missing.stderr.count("\n")) == (1, 1)
    assert "cannot read" in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("targets: [\n")
    unreadable = uptime(api, "apply", "-f", str(bad))
    assert unreadable.returncode == 1 and "bad.yaml at line" in unreadable.stderr


def test_two_applies_at_once_leave_one_document_whole(
    api: ApiProcess, database_url_of_api: str, tmp_path: Path
) -> None:
    documents = []
    for interval in (300, 600):
        document = copy.deepcopy(DOCUMENT)
        for target in document["targets"]:
            target["key"] = f"both-{target['key']}"
            target["intervalSeconds"] = interval
        document["channels"], document["maintenanceWindows"] = [], []
        # Many targets, so that two interleaved writers would mix.
        document["targets"] += [
            {
                "key": f"both-{n}",
                "kind": "tcp",
                "host": "127.0.0.1",
                "port": 9,
                "intervalSeconds": interval,
            }
            for n in range(150)
        ]
        documents.append(write(tmp_path / f"at-{interval}.yaml", document))
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPTIME_")}
    env.update(UPTIME_URL=api.url, UPTIME_API_TOKEN=TOKEN)
    running = [
        subprocess.Popen(
            [sys.executable, "-m", "uptime_cli", "apply", "-f", path],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in documents
    ]
    outcomes = [process.communicate(timeout=120) for process in running]
    assert [process.returncode for process in running] == [0, 0], outcomes
    intervals = fetch(
        database_url_of_api,
        "SELECT DISTINCT interval_seconds FROM target WHERE key LIKE 'both-%'",
    )
    assert intervals in ([(300,)], [(600,)]), "one document whole, never a mix"
    assert len(fetch(database_url_of_api, "SELECT 1 FROM target WHERE key LIKE 'both-%'")) == 156
