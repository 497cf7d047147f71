"""Every paged list walked page by page gives exactly the rows of one big page, in order, with
``endCursor`` the last edge's cursor and ``hasNextPage`` false only on the last page (one
paging helper builds them all: ``uptime_graphql/types/pagination.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.graphql.conftest import Api

ROWS = 5
LISTS = {
    "targets": "targets(first: $first, after: $after)",
    "channels": "channels(first: $first, after: $after)",
    "deliveries": "deliveries(first: $first, after: $after)",
    "maintenanceWindows": "maintenanceWindows(first: $first, after: $after)",
}


async def _walk(api: Api, field: str, first: int) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        page = (
            await api.data(
                f"query($first: Int, $after: String) {{ {LISTS[field]} {{ "
                "edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }",
                first=first,
                after=after,
            )
        )[field]
        edges: list[dict[str, Any]] = page["edges"]
        assert len(edges) <= first
        assert page["pageInfo"]["endCursor"] == (edges[-1]["cursor"] if edges else None)
        ids += [edge["node"]["id"] for edge in edges]
        if not page["pageInfo"]["hasNextPage"]:
            return ids
        assert len(edges) == first, "a page before the last one is full"
        after = page["pageInfo"]["endCursor"]


@pytest.fixture
async def filled(api: Api) -> Api:
    for n in range(ROWS):
        await api.data(
            "mutation($name: String!) { createTarget(input: {name: $name, kind: TCP, "
            'host: "127.0.0.1", port: 9}) { ... on Target { id } } }',
            name=f"target {n}",
        )
        channel = await api.data(
            "mutation($input: CreateChannelInput!) { createChannel(input: $input) { "
            "... on NotificationChannel { id } } }",
            input={
                "name": f"channel {n}",
                "kind": "WEBHOOK",
                "webhook": {"url": "http://127.0.0.1:9/hook"},
            },
        )
        await api.data(
            "mutation($id: ID!) { testChannel(id: $id) { ... on Delivery { id } } }",
            id=channel["createChannel"]["id"],
        )
        await api.data(
            "mutation($input: CreateMaintenanceWindowInput!) { "
            "createMaintenanceWindow(input: $input) { ... on MaintenanceWindow { id } } }",
            input={
                "name": f"window {n}",
                "kind": "ONCE",
                "startsAt": "2030-01-01T00:00:00Z",
                "endsAt": "2030-01-01T01:00:00Z",
            },
        )
    return api


@pytest.mark.parametrize("field", list(LISTS))
async def test_pages_of_every_size_add_up_to_the_whole_list(filled: Api, field: str) -> None:
    whole = await _walk(filled, field, 100)
    assert len(whole) == ROWS and len(set(whole)) == ROWS
    for first in (1, 2, 3, ROWS, ROWS + 1):
        assert await _walk(filled, field, first) == whole, (field, first)
