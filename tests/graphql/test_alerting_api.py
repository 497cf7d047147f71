"""Channels, deliveries and maintenance windows through GraphQL over real HTTP: write-only
secrets, typed errors that write nothing, test messages, windows CRUD."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.graphql.conftest import Api

CHANNEL_FIELDS = """
    ... on NotificationChannel { id name kind enabled allTargets targetIds
        reminderIntervalSeconds hasSecret webhook { urlHost }
        email { host port security username from to } }
    ... on ValidationError { message field problems { field message } }
    ... on NotFoundError { message id }
"""
CREATE_CHANNEL = (
    "mutation($input: CreateChannelInput!) "
    f"{{ createChannel(input: $input) {{ {CHANNEL_FIELDS} }} }}"
)
UPDATE_CHANNEL = (
    "mutation($input: UpdateChannelInput!) "
    f"{{ updateChannel(input: $input) {{ {CHANNEL_FIELDS} }} }}"
)
WINDOW_FIELDS = """
    ... on MaintenanceWindow { id name kind targetId startsAt endsAt weekdays localStart
        durationSeconds timeZone active }
    ... on ValidationError { message field }
    ... on NotFoundError { id }
"""
CREATE_WINDOW = (
    "mutation($input: CreateMaintenanceWindowInput!) "
    f"{{ createMaintenanceWindow(input: $input) {{ {WINDOW_FIELDS} }} }}"
)
UPDATE_WINDOW = (
    "mutation($input: UpdateMaintenanceWindowInput!) "
    f"{{ updateMaintenanceWindow(input: $input) {{ {WINDOW_FIELDS} }} }}"
)
SECRET = "webhook-signing-secret-0123456789"
PASSWORD = "smtp-password-9876543210"
URL_TOKEN = "token-in-the-url-5555"  # webhook URLs are secrets too


@pytest.fixture
async def api(api_url: str) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=api_url, timeout=10) as client:
        yield Api(client, forbidden=(SECRET, PASSWORD, URL_TOKEN))


async def stored_config(db: asyncpg.Connection) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(await db.fetchval("SELECT config FROM notification_channel"))
    return value


async def new_target(api: Api) -> str:
    created = await api.data(
        'mutation { createTarget(input: {name: "db", kind: TCP, host: "127.0.0.1", '
        "port: 5432}) { ... on Target { id } } }"
    )
    target_id: str = created["createTarget"]["id"]
    return target_id


async def test_secrets_are_write_only_and_kept_until_changed(
    api: Api, db: asyncpg.Connection
) -> None:
    target = await new_target(api)
    created = (
        await api.data(
            CREATE_CHANNEL,
            input={
                "name": "ops hook",
                "kind": "WEBHOOK",
                "targetIds": [target],
                "webhook": {
                    "url": f"https://hooks.example.com:8443/bot{URL_TOKEN}/send?key={URL_TOKEN}",
                    "secret": SECRET,
                },
            },
        )
    )["createChannel"]
    assert created["hasSecret"] is True
    assert created["webhook"] == {"urlHost": "https://hooks.example.com:8443"}, (
        "only the URL's origin is shown: its path and query may hold a token"
    )
    assert created["targetIds"] == [target] and created["allTargets"] is False
    assert (await stored_config(db))["secret"] == SECRET

    renamed = (await api.data(UPDATE_CHANNEL, input={"id": created["id"], "name": "renamed"}))[
        "updateChannel"
    ]
    assert (renamed["name"], renamed["hasSecret"]) == ("renamed", True)
    assert (await stored_config(db))["secret"] == SECRET, "a secret left out is kept"
    cleared = (
        await api.data(UPDATE_CHANNEL, input={"id": created["id"], "webhook": {"secret": None}})
    )["updateChannel"]
    assert cleared["hasSecret"] is False
    assert "secret" not in await stored_config(db)

    mail = (
        await api.data(
            CREATE_CHANNEL,
            input={
                "name": "mail",
                "kind": "EMAIL",
                "allTargets": True,
                "email": {
                    "host": "smtp.example.com",
                    "username": "alerts",
                    "password": PASSWORD,
                    "from": "uptime@example.com",
                    "to": ["oncall@example.com"],
                },
            },
        )
    )["createChannel"]
    assert mail["hasSecret"] is True
    assert mail["email"] == {
        "host": "smtp.example.com",
        "port": 587,
        "security": "starttls",
        "username": "alerts",
        "from": "uptime@example.com",
        "to": ["oncall@example.com"],
    }
    listed = await api.data("{ channels { edges { node { name hasSecret } } } }")
    assert [e["node"]["name"] for e in listed["channels"]["edges"]] == ["renamed", "mail"]

    logged_out = (
        await api.data(UPDATE_CHANNEL, input={"id": mail["id"], "email": {"password": None}})
    )["updateChannel"]
    assert (logged_out["hasSecret"], logged_out["email"]["username"]) == (False, None), (
        "a null password removes the login: the password with its username"
    )
    stored = json.loads(
        await db.fetchval("SELECT config FROM notification_channel WHERE name = 'mail'")
    )
    assert "username" not in stored and "password" not in stored


@pytest.mark.parametrize(
    ("channel", "field"),
    [
        ({"kind": "WEBHOOK", "webhook": {"url": "ftp://example.com"}}, "webhook.url"),
        (
            {"kind": "WEBHOOK", "webhook": {"url": "https://x.example", "secret": "short"}},
            "webhook.secret",
        ),
        ({"kind": "EMAIL"}, "email"),
        (
            {
                "kind": "SLACK",
                "slack": {"url": "https://x.example"},
                "webhook": {"url": "https://y.example"},
            },
            "webhook",
        ),
        (
            {"kind": "EMAIL", "email": {"host": "smtp", "from": "nobody", "to": ["a@b.c"]}},
            "email.from",
        ),
        ({"kind": "EMAIL", "email": {"host": "smtp", "from": "a@b.c", "to": []}}, "email.to"),
        (
            {
                "kind": "EMAIL",
                "email": {"host": "smtp", "port": 0, "from": "a@b.c", "to": ["a@b.c"]},
            },
            "email.port",
        ),
        (
            {
                "kind": "EMAIL",
                "email": {"host": "smtp", "port": 65536, "from": "a@b.c", "to": ["a@b.c"]},
            },
            "email.port",
        ),
        (
            {"kind": "WEBHOOK", "webhook": {"url": f"https://user:{URL_TOKEN}@x.example/hook"}},
            "webhook.url",
        ),
        ({"kind": "SLACK", "slack": {"url": f"https://{URL_TOKEN}@x.example/T/B"}}, "slack.url"),
        (
            {"kind": "SLACK", "slack": {"url": "https://x.example"}, "reminderIntervalSeconds": 5},
            "reminderIntervalSeconds",
        ),
        (
            {"kind": "SLACK", "slack": {"url": "https://x.example"}, "targetIds": ["nope"]},
            "targetIds",
        ),
    ],
)
async def test_bad_channels_are_refused_naming_the_field_and_write_nothing(
    api: Api, db: asyncpg.Connection, channel: dict[str, Any], field: str
) -> None:
    answer = (await api.data(CREATE_CHANNEL, input={"name": "bad", **channel}))["createChannel"]
    assert answer["field"] == field, answer
    assert await db.fetchval("SELECT count(*) FROM notification_channel") == 0


async def test_test_channel_queues_a_delivery_visible_with_its_state_and_error(
    api: Api, db: asyncpg.Connection
) -> None:
    channel = (
        await api.data(
            CREATE_CHANNEL,
            input={"name": "chat", "kind": "SLACK", "slack": {"url": "https://x.example/T/B"}},
        )
    )["createChannel"]
    queued = (
        await api.data(
            "mutation($id: ID!) { testChannel(id: $id) { "
            "... on Delivery { id event state attempts idempotencyKey channelId } "
            "... on NotFoundError { id } } }",
            id=channel["id"],
        )
    )["testChannel"]
    assert (queued["event"], queued["state"], queued["attempts"]) == ("TEST", "PENDING", 0)
    assert queued["channelId"] == channel["id"]
    await db.execute(
        "UPDATE delivery SET state = 'failed', attempts = 7, last_error = 'x.example answered "
        "HTTP 404'"
    )
    listed = await api.data(
        "query($c: ID) { deliveries(channelId: $c, state: FAILED) { edges { node { "
        "idempotencyKey state attempts lastError } } } }",
        c=channel["id"],
    )
    [node] = [e["node"] for e in listed["deliveries"]["edges"]]
    assert node == {
        "idempotencyKey": queued["idempotencyKey"],
        "state": "FAILED",
        "attempts": 7,
        "lastError": "x.example answered HTTP 404",
    }
    pending = await api.data("{ deliveries(state: PENDING) { edges { node { id } } } }")
    assert pending["deliveries"]["edges"] == []
    missing = await api.data(
        'mutation { testChannel(id: "bm9wZTox") { ... on NotFoundError { id } } }'
    )
    assert missing["testChannel"] == {"id": "bm9wZTox"}
    deleted = await api.data(
        "mutation($id: ID!) { deleteChannel(id: $id) { ... on Deleted { id } } }", id=channel["id"]
    )
    assert deleted["deleteChannel"] == {"id": channel["id"]}
    assert await db.fetchval("SELECT count(*) FROM delivery") == 0


async def test_maintenance_windows_crud(api: Api, db: asyncpg.Connection) -> None:
    target = await new_target(api)
    weekly = (
        await api.data(
            CREATE_WINDOW,
            input={
                "name": "patch night",
                "kind": "WEEKLY",
                "targetId": target,
                "weekdays": ["SUNDAY", "WEDNESDAY", "SUNDAY"],
                "localStart": "02:00:00",
                "durationSeconds": 5400,
                "timeZone": "Europe/Paris",
            },
        )
    )["createMaintenanceWindow"]
    assert weekly["weekdays"] == ["WEDNESDAY", "SUNDAY"]
    assert (weekly["localStart"], weekly["timeZone"], weekly["targetId"]) == (
        "02:00:00",
        "Europe/Paris",
        target,
    )
    bad = (
        await api.data(UPDATE_WINDOW, input={"id": weekly["id"], "timeZone": "Europe/Atlantis"})
    )["updateMaintenanceWindow"]
    assert bad["field"] == "timeZone"
    assert await db.fetchval("SELECT time_zone FROM maintenance_window") == "Europe/Paris"

    now = await db.fetchval("SELECT now()")
    once = (
        await api.data(
            CREATE_WINDOW,
            input={
                "name": "migration",
                "kind": "ONCE",
                "startsAt": (now.replace(microsecond=0)).isoformat(),
                "endsAt": (now.replace(microsecond=0).replace(year=now.year + 1)).isoformat(),
            },
        )
    )["createMaintenanceWindow"]
    assert once["active"] is True and once["targetId"] is None
    reversed_times = (
        await api.data(
            UPDATE_WINDOW,
            input={"id": once["id"], "endsAt": now.replace(year=now.year - 1).isoformat()},
        )
    )["updateMaintenanceWindow"]
    assert reversed_times["field"] == "endsAt"
    listed = await api.data(
        "query($t: ID) { maintenanceWindows(targetId: $t) { edges { node { name } } } }",
        t=target,
    )
    assert [e["node"]["name"] for e in listed["maintenanceWindows"]["edges"]] == [
        "patch night",
        "migration",
    ]
    removed = await api.data(
        "mutation($id: ID!) { deleteMaintenanceWindow(id: $id) { ... on Deleted { id } } }",
        id=weekly["id"],
    )
    assert removed["deleteMaintenanceWindow"] == {"id": weekly["id"]}
    assert await db.fetchval("SELECT count(*) FROM maintenance_window") == 1


async def test_a_window_time_without_an_offset_is_refused_naming_the_field(
    api: Api, db: asyncpg.Connection
) -> None:
    naive = (
        await api.data(
            CREATE_WINDOW,
            input={
                "name": "migration",
                "kind": "ONCE",
                "startsAt": "2026-12-01T22:00:00",
                "endsAt": "2026-12-02T00:00:00+00:00",
            },
        )
    )["createMaintenanceWindow"]
    assert naive["field"] == "startsAt", naive
    assert await db.fetchval("SELECT count(*) FROM maintenance_window") == 0
    created = (
        await api.data(
            CREATE_WINDOW,
            input={
                "name": "migration",
                "kind": "ONCE",
                "startsAt": "2026-12-01T22:00:00Z",
                "endsAt": "2026-12-02T00:00:00+01:00",
            },
        )
    )["createMaintenanceWindow"]
    moved = (
        await api.data(UPDATE_WINDOW, input={"id": created["id"], "endsAt": "2026-12-03T00:00:00"})
    )["updateMaintenanceWindow"]
    assert moved["field"] == "endsAt", moved
