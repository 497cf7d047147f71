"""`uptime targets list|show|pause|resume|check|delete` (issue 17), through real processes: one
`uptime api` with a token for the module, and `python -m uptime_cli targets ...` for each
command, as a person or a script runs it."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.graphql.trust.support import ApiProcess
from tests.support.net import free_port
from tests.support.postgres import TEMPLATE, create_database, drop_database

pytestmark = pytest.mark.slow  # starts `uptime` processes (see tests/conftest.py)

TOKEN = secrets.token_hex(32)
TARGETS = [
    {"key": "web", "name": "Web front", "kind": "HTTP", "url": "http://127.0.0.1:9/health"},
    {"key": "db", "name": "Database", "kind": "TCP", "host": "127.0.0.1", "port": 5432},
    {"key": "doomed", "name": "Doomed", "kind": "TCP", "host": "127.0.0.1", "port": 9},
]
CREATE = """mutation Create($input: CreateTargetInput!) {
  createTarget(input: $input) { __typename ... on ValidationError { message } }
}"""


@pytest.fixture(scope="module")
def api(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    """`uptime api` with a token, on a database of its own holding TARGETS."""
    database_url = asyncio.run(create_database(postgres_url, template=TEMPLATE))
    process = None
    try:
        log_path = tmp_path_factory.mktemp("api") / "api.log"
        process = ApiProcess(log_path, database_url=database_url, api_token=TOKEN)
        for target in TARGETS:
            answer = httpx.post(
                f"{process.url}/graphql",
                json={"query": CREATE, "variables": {"input": target}},
                headers={"Authorization": f"Bearer {TOKEN}"},
            ).json()
            assert answer["data"]["createTarget"]["__typename"] == "Target", answer
        yield process
    finally:
        if process is not None:
            process.stop()
        asyncio.run(drop_database(database_url))


def targets(*args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """``uptime targets ARGS`` with only the ``UPTIME_*`` variables given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPTIME_")}
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-m", "uptime_cli", "targets", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def through(api: ApiProcess) -> dict[str, str]:
    """The variables a script sets to reach ``api``."""
    return {"UPTIME_URL": api.url, "UPTIME_API_TOKEN": TOKEN}


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("uptime: error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def shown(api: ApiProcess, key: str) -> dict[str, Any]:
    target: dict[str, Any] = json.loads(ok(targets("show", key, "-o", "json", **through(api))))
    return target


def test_list_is_a_table_for_people_and_json_for_scripts(api: ApiProcess) -> None:
    # The local server by default: UPTIME_API_PORT, no UPTIME_URL.
    table = ok(targets("list", UPTIME_API_PORT=str(api.port), UPTIME_API_TOKEN=TOKEN))
    lines = table.splitlines()
    assert lines[0].split() == ["KEY", "NAME", "KIND", "STATUS", "EVERY", "ADDRESS"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert rows["web"].split() == [
        "web",
        "Web",
        "front",
        "http",
        "unknown",
        "60s",
        "http://127.0.0.1:9/health",
    ]
    assert rows["db"].split() == ["db", "Database", "tcp", "unknown", "60s", "127.0.0.1:5432"]

    # --url and --token beat the variables.
    script = targets(
        *("list", "-o", "json", "--url", api.url, "--token", TOKEN),
        UPTIME_URL=f"http://127.0.0.1:{free_port()}",
        UPTIME_API_TOKEN="a-wrong-token",
    )
    listed = {target["key"]: target for target in json.loads(ok(script))}
    assert {"web", "db"} <= set(listed)
    assert listed["db"]["name"] == "Database"
    assert listed["db"]["kind"] == "TCP"
    assert (listed["db"]["host"], listed["db"]["port"]) == ("127.0.0.1", 5432)
    assert listed["db"]["id"]


def test_show_prints_one_target(api: ApiProcess) -> None:
    lines = ok(targets("show", "web", **through(api))).splitlines()
    fields = {line.split(None, 1)[0]: line.split(None, 1)[1] for line in lines}
    assert fields["key"] == "web"
    assert fields["name"] == "Web front"
    assert fields["address"] == "http://127.0.0.1:9/health"
    assert "last check  none yet" in lines
    assert "uptime 24h  no checks yet" in lines

    target = shown(api, "web")
    assert (target["key"], target["kind"], target["paused"]) == ("web", "HTTP", False)
    assert target["lastCheck"] is None


def test_pause_check_resume(api: ApiProcess) -> None:
    assert ok(targets("pause", "db", **through(api))) == "paused db; its history stays\n"
    assert shown(api, "db")["status"] == "PAUSED"

    refused = one_line_error(targets("check", "db", **through(api)))
    assert "db is paused; resume it first: uptime targets resume db" in refused

    resumed = json.loads(ok(targets("resume", "db", "-o", "json", **through(api))))
    assert (resumed["key"], resumed["paused"]) == ("db", False)

    checked = ok(targets("check", "db", **through(api)))
    assert checked == "db is due now; a worker checks it within moments\n"


def test_delete_asks_nothing_and_the_key_is_gone(api: ApiProcess) -> None:
    result = targets("delete", "doomed", **through(api))
    assert ok(result) == "deleted doomed with its checks and incidents\n"

    gone = one_line_error(targets("show", "doomed", **through(api)))
    assert "no target has the key 'doomed'; `uptime targets list` shows the keys" in gone


@pytest.mark.parametrize("action", ["show", "pause", "resume", "check", "delete"])
def test_an_unknown_key_is_one_line_and_exit_1(api: ApiProcess, action: str) -> None:
    error = one_line_error(targets(action, "no-such-target", **through(api)))
    assert "no target has the key 'no-such-target'" in error


def test_a_wrong_token_names_token_and_its_variable(api: ApiProcess) -> None:
    error = one_line_error(targets("list", "--url", api.url, "--token", "wrong"))
    assert error == (
        f"uptime: error: the API at {api.url} refused the token given; give its token with "
        "--token or UPTIME_API_TOKEN\n"
    )
    without = one_line_error(targets("show", "web", UPTIME_URL=api.url))
    assert f"the API at {api.url} needs a token; give its token with --token or" in without


def test_an_unreachable_api_names_url_and_its_variable() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    error = one_line_error(targets("list", "--url", url, UPTIME_API_TOKEN=TOKEN))
    assert f"cannot reach the API at {url}" in error
    assert "--url or UPTIME_URL" in error
