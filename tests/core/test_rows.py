"""Every row dataclass reads columns its table has, with the table's nullability.

The tables are described once, in ``uptime_core/models.py`` (for migrations); the code reads
rows through asyncpg into small dataclasses. This test keeps the two from drifting apart: a row
field is a column of its table (or one of the few values a query derives, listed here with
why), a nullable column is read into an optional field, and a NOT NULL one into a field that
is not optional. No database is needed: the tables' metadata is the reference.
"""

from __future__ import annotations

import dataclasses
import types
import typing

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from uptime_core import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from uptime_core.alerting.channels import ChannelRow
from uptime_core.alerting.outbox import ClaimedDelivery, DeliveryRow
from uptime_core.history import CheckRow, IncidentRow
from uptime_core.maintenance import MaintenanceRow
from uptime_core.scheduling.claim import ClaimedSlot
from uptime_core.status_pages import IncidentUpdateRow, StatusPageRow
from uptime_core.targets import TargetRow
from uptime_core.tokens import TokenRow

# row class, its table, and the fields a query derives or guarantees (not checked against the
# table's column), each with why.
ROWS: list[tuple[type, str, dict[str, str]]] = [
    (TargetRow, "target", {}),
    (TokenRow, "api_token", {}),
    (CheckRow, "check_result", {}),
    (IncidentRow, "incident", {}),
    (IncidentUpdateRow, "incident_update", {}),
    (
        StatusPageRow,
        "status_page",
        {"groups": "aggregated from status_page_group and status_page_target"},
    ),
    (
        ChannelRow,
        "notification_channel",
        {"target_ids": "aggregated from channel_target"},
    ),
    (DeliveryRow, "delivery", {}),
    (
        MaintenanceRow,
        "maintenance_window",
        {"active": "whether the window covers now(), computed by the query"},
    ),
    (
        ClaimedSlot,
        "target",
        {
            "slot": "target.next_run_at as claimed",
            "claimed_at": "the database's now() at the claim",
            "lease_expires_at": "the lease the claim just set: never null in its result",
            "next_slot_within": "the retry interval in force, from retry_interval_seconds",
        },
    ),
    (
        ClaimedDelivery,
        "delivery",
        {
            "channel_name": "notification_channel.name",
            "kind": "notification_channel.kind",
            "config": "notification_channel.config",
            "seconds_left": "until the retry deadline, computed by the claim",
        },
    ),
]


def _optional(annotation: object) -> bool:
    origin = typing.get_origin(annotation)
    return origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(annotation)


@pytest.mark.parametrize(("row", "table", "derived"), ROWS, ids=[r[0].__name__ for r in ROWS])
def test_a_row_reads_columns_of_its_table(row: type, table: str, derived: dict[str, str]) -> None:
    columns: dict[str, sa.Column[object]] = {
        column.name: column for column in SQLModel.metadata.tables[table].columns
    }
    hints = typing.get_type_hints(row)
    fields = [field.name for field in dataclasses.fields(row)]
    assert set(derived) <= set(fields), f"{row.__name__}: derived fields it does not have"
    unknown = [name for name in fields if name not in columns and name not in derived]
    assert not unknown, f"{row.__name__} has fields that {table} has no column for: {unknown}"
    wrong = [
        name
        for name in fields
        if name in columns
        and name not in derived
        # A field with a default may be optional where the column is not (not read there).
        and dataclasses.fields(row)[fields.index(name)].default is dataclasses.MISSING
        and _optional(hints[name]) != bool(columns[name].nullable)
    ]
    assert not wrong, (
        f"{row.__name__}: optional fields must match nullable columns of {table}: "
        + ", ".join(f"{n} (nullable={columns[n].nullable}, type={hints[n]})" for n in wrong)
    )


def test_every_row_dataclass_of_the_core_is_checked() -> None:
    """A new ``*Row`` dataclass must be added to ROWS above."""
    import importlib
    import pkgutil

    import uptime_core

    found = set()
    for module in pkgutil.walk_packages(uptime_core.__path__, "uptime_core."):
        loaded = importlib.import_module(module.name)
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and dataclasses.is_dataclass(value)
                and value.__module__ == loaded.__name__
                and value.__name__.endswith("Row")
            ):
                found.add(value)
    assert found <= {row for row, _, _ in ROWS}, sorted(c.__name__ for c in found)
