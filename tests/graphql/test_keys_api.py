"""Keys through GraphQL over HTTP: derived on create, given, refused when bad or taken (as a
ValidationError naming ``key``, nothing written), changed on update, and targetByKey."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tests.graphql.conftest import Api

ERRORS = "... on ValidationError { field problems { field message } } ... on NotFoundError { id }"
CREATE_TARGET = (
    "mutation($input: CreateTargetInput!) "
    f"{{ createTarget(input: $input) {{ ... on Target {{ id name key }} {ERRORS} }} }}"
)
UPDATE_TARGET = (
    "mutation($input: UpdateTargetInput!) "
    f"{{ updateTarget(input: $input) {{ ... on Target {{ id name key }} {ERRORS} }} }}"
)
CREATE_CHANNEL = (
    "mutation($input: CreateChannelInput!) "
    f"{{ createChannel(input: $input) {{ ... on NotificationChannel {{ id key }} {ERRORS} }} }}"
)
UPDATE_CHANNEL = (
    "mutation($input: UpdateChannelInput!) "
    f"{{ updateChannel(input: $input) {{ ... on NotificationChannel {{ id key }} {ERRORS} }} }}"
)
CREATE_WINDOW = (
    "mutation($input: CreateMaintenanceWindowInput!) { createMaintenanceWindow(input: $input) "
    f"{{ ... on MaintenanceWindow {{ id key }} {ERRORS} }} }}"
)
UPDATE_WINDOW = (
    "mutation($input: UpdateMaintenanceWindowInput!) { updateMaintenanceWindow(input: $input) "
    f"{{ ... on MaintenanceWindow {{ id key }} {ERRORS} }} }}"
)
BY_KEY = "query($key: String!) { targetByKey(key: $key) { id name key } }"
TCP = {"kind": "TCP", "host": "127.0.0.1", "port": 9}
WEBHOOK = {"kind": "WEBHOOK", "webhook": {"url": "https://hooks.example.com/x"}}
ONCE = {"kind": "ONCE", "startsAt": "2026-12-01T22:00:00Z", "endsAt": "2026-12-01T23:00:00Z"}


async def create_target(api: Api, **fields: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(CREATE_TARGET, input={**TCP, **fields}))[
        "createTarget"
    ]
    return result


def key_problem(result: dict[str, Any]) -> str:
    assert result["field"] == "key", result
    assert [p["field"] for p in result["problems"]] == ["key"], result
    message: str = result["problems"][0]["message"]
    return message


async def test_a_target_without_a_key_gets_one_from_its_name(api: Api) -> None:
    first = await create_target(api, name="Shop API (EU)")
    second = await create_target(api, name="shop api eu")
    odd = await create_target(api, name="☃☃")
    assert first["key"] == "shop-api-eu"
    assert second["key"] == "shop-api-eu-2", "a name already taken gets a suffix"
    assert odd["key"].startswith("target-")


async def test_a_given_key_is_kept_a_bad_or_taken_one_refused(
    api: Api, db: asyncpg.Connection
) -> None:
    given = await create_target(api, name="anything", key="api-eu-1")
    assert given["key"] == "api-eu-1"
    for bad in ("Api", "api--eu", "-api", "api_eu", "", "a" * 64):
        result = await create_target(api, name="bad", key=bad)
        assert "lowercase" in key_problem(result) or "63" in key_problem(result), bad
    taken = await create_target(api, name="taken", key="api-eu-1")
    assert key_problem(taken) == "is already used by another target"
    assert await db.fetchval("SELECT count(*) FROM target") == 1, "nothing written"


async def test_update_changes_the_key_and_refuses_a_taken_one(api: Api) -> None:
    one = await create_target(api, name="one")
    two = await create_target(api, name="two")
    changed = (await api.data(UPDATE_TARGET, input={"id": one["id"], "key": "first"}))[
        "updateTarget"
    ]
    assert changed["key"] == "first"
    renamed = (await api.data(UPDATE_TARGET, input={"id": one["id"], "name": "uno"}))[
        "updateTarget"
    ]
    assert renamed["key"] == "first", "renaming keeps the key"
    taken = (await api.data(UPDATE_TARGET, input={"id": two["id"], "key": "first"}))["updateTarget"]
    assert key_problem(taken) == "is already used by another target"
    null = (await api.data(UPDATE_TARGET, input={"id": two["id"], "key": None}))["updateTarget"]
    assert key_problem(null) == "must not be null"
    found = (await api.data(BY_KEY, key="two"))["targetByKey"]
    assert found == {"id": two["id"], "name": "two", "key": "two"}


async def test_target_by_key(api: Api) -> None:
    created = await create_target(api, name="Payments")
    found = (await api.data(BY_KEY, key="payments"))["targetByKey"]
    assert found == {"id": created["id"], "name": "Payments", "key": "payments"}
    assert (await api.data(BY_KEY, key="nothing-here"))["targetByKey"] is None
    assert (await api.data(BY_KEY, key="Not A Key"))["targetByKey"] is None


@pytest.mark.parametrize(
    ("create", "update", "fields", "noun", "table"),
    [
        (CREATE_CHANNEL, UPDATE_CHANNEL, WEBHOOK, "channel", "notification_channel"),
        (CREATE_WINDOW, UPDATE_WINDOW, ONCE, "maintenance window", "maintenance_window"),
    ],
    ids=["channel", "window"],
)
async def test_channel_and_window_keys(
    api: Api,
    db: asyncpg.Connection,
    create: str,
    update: str,
    fields: dict[str, Any],
    noun: str,
    table: str,
) -> None:
    async def made(**given: Any) -> dict[str, Any]:
        answer = await api.data(create, input={**fields, **given})
        result: dict[str, Any] = next(iter(answer.values()))
        return result

    first = await made(name="Ops Mail")
    second = await made(name="ops mail")
    assert (first["key"], second["key"]) == ("ops-mail", "ops-mail-2")
    assert key_problem(await made(name="x", key="Ops")).startswith("must be lowercase")
    assert key_problem(await made(name="x", key="ops-mail")) == f"is already used by another {noun}"
    assert await db.fetchval(f"SELECT count(*) FROM {table}") == 2, "nothing written"
    answer = await api.data(update, input={"id": second["id"], "key": "night"})
    assert next(iter(answer.values()))["key"] == "night"
    answer = await api.data(update, input={"id": second["id"], "key": "ops-mail"})
    assert key_problem(next(iter(answer.values()))) == f"is already used by another {noun}"
    answer = await api.data(update, input={"id": second["id"], "key": "no good"})
    assert key_problem(next(iter(answer.values()))).startswith("must be lowercase")
