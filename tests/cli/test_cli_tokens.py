"""`uptime tokens create|list|revoke` (issue 20), through real processes: one `uptime api` with
UPTIME_API_TOKEN for the module, and `python -m uptime_cli tokens ...` for each command, as a
person or a script runs it. The API's log is read at the end: it names the tokens, never
shows them."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.graphql.trust.support import ApiProcess
from tests.support.postgres import TEMPLATE, create_database, drop_database

pytestmark = pytest.mark.slow  # starts `uptime` processes (see tests/conftest.py)

TOKEN = secrets.token_hex(32)


@pytest.fixture(scope="module")
def api(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiProcess]:
    """`uptime api` with UPTIME_API_TOKEN, on a database of its own."""
    database_url = asyncio.run(create_database(postgres_url, template=TEMPLATE))
    process = None
    try:
        log_path = tmp_path_factory.mktemp("api") / "api.log"
        process = ApiProcess(log_path, database_url=database_url, api_token=TOKEN)
        yield process
    finally:
        if process is not None:
            process.stop()
        asyncio.run(drop_database(database_url))


def tokens(api: ApiProcess, *args: str, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    """``uptime tokens ARGS`` reaching ``api`` with ``token`` (UPTIME_URL, UPTIME_API_TOKEN)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UPTIME_")}
    env.update({"UPTIME_URL": api.url, "UPTIME_API_TOKEN": token})
    return subprocess.run(
        [sys.executable, "-m", "uptime_cli", "tokens", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ask(api: ApiProcess, token: str, query: str) -> dict[str, object]:
    answer: dict[str, object] = httpx.post(
        f"{api.url}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
    ).json()
    return answer


def test_create_list_and_revoke_through_the_api(api: ApiProcess) -> None:
    made = tokens(api, "create", "--name", "grafana", "--scope", "read")
    assert made.returncode == 0, made.stderr
    (token,) = made.stdout.splitlines()  # alone on its line: TOKEN=$(uptime tokens create ...)
    assert token.startswith("upt_")
    assert "only time it is shown" in made.stderr and token not in made.stderr

    # The new token reads, and cannot make tokens (the message names the scope).
    assert "errors" not in ask(api, token, "{ targets(first: 1) { edges { node { id } } } }")
    refused = tokens(api, "create", "--name", "x", "--scope", "admin", token=token)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "createApiToken needs an admin token; this token is read" in refused.stderr
    assert "give a token with that scope with --token or UPTIME_API_TOKEN" in refused.stderr

    taken = tokens(api, "create", "--name", "grafana", "--scope", "write")
    assert taken.returncode == 1 and "already named 'grafana'" in taken.stderr
    bad_scope = tokens(api, "create", "--name", "y", "--scope", "root")
    assert bad_scope.returncode == 2 and "invalid choice: 'root'" in bad_scope.stderr

    listed = tokens(api, "list")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["NAME", "SCOPE", "CREATED", "REVOKED"]
    assert row.split()[:2] == ["grafana", "read"] and row.split()[-1] == "-"
    as_json = json.loads(tokens(api, "list", "-o", "json").stdout)
    assert [(t["name"], t["scope"], t["revokedAt"]) for t in as_json] == [("grafana", "READ", None)]
    assert token not in listed.stdout + json.dumps(as_json)

    revoked = tokens(api, "revoke", "grafana")
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.startswith("revoked grafana")
    answer = ask(api, token, "{ version }")
    assert answer["data"] is None  # refused from the next request on
    again = tokens(api, "revoke", "grafana")
    assert again.returncode == 1 and "no live token is named 'grafana'" in again.stderr
    assert json.loads(tokens(api, "list", "-o", "json").stdout)[0]["revokedAt"] is not None
    wrong = tokens(api, "list", token=token)  # the revoked token
    assert wrong.returncode == 1 and "refused the token given" in wrong.stderr

    api.stop()
    log = api.log_path.read_text()
    assert token not in log and TOKEN not in log
    assert "created API token grafana (read)" in log and "revoked API token grafana" in log
    assert "refused: 1 forbidden by token grafana" in log
