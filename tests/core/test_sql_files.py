"""The SQL files: the named statements of ``uptime_core/sql/*.sql`` load, are used, parse and
return the columns their rows are made from; ``docs/sql/`` is what the code composes (run
`make sql` to regenerate)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import asyncpg
import pytest

from uptime_core.alerting.channels import ChannelRow
from uptime_core.alerting.outbox import ClaimedDelivery, DeliveryRow
from uptime_core.history import CheckRow, IncidentRow
from uptime_core.maintenance import _COLUMNS as WINDOW_COLUMNS
from uptime_core.scheduling.claim import FIRST_SLOT, ClaimedSlot
from uptime_core.scheduling.record import RECORD_RESULTS
from uptime_core.sql import SqlFileError, parse, queries
from uptime_core.sql.printed import STATEMENTS, printed
from uptime_core.stats.rollups import HISTOGRAM_TABLES, ROLLUP_TABLES, rebuild_upsert_sql
from uptime_core.stats.series import SERIES_SQL
from uptime_core.stats.uptime import UPTIME_SQL
from uptime_core.targets import TargetRow

REPO = Path(__file__).resolve().parents[2]
DOCS_SQL = REPO / "docs" / "sql"
PACKAGES = ["uptime_core", "uptime_graphql", "uptime_worker", "uptime_cli"]

# The statements whose rows become a dataclass, by its fields (by name: order is free).
ROWS = {
    **dict.fromkeys(
        [
            "create_target",
            "target_for_update",
            "update_target",
            "pause_target",
            "resume_target",
            "check_target_now",
            "targets_by_id",
            "target_by_key",
            "list_targets",
        ],
        TargetRow,
    ),
    **dict.fromkeys(["latest_checks", "recent_checks", "checks_page"], CheckRow),
    **dict.fromkeys(["incident_by_id", "incidents_page"], IncidentRow),
    **dict.fromkeys(["list_deliveries", "queue_test_message"], DeliveryRow),
    **dict.fromkeys(["channel_by_id", "channel_by_id_for_update", "list_channels"], ChannelRow),
    "claim_due_deliveries": ClaimedDelivery,
    "claim_due_targets": ClaimedSlot,
}


def test_committed_docs_sql_matches_the_code() -> None:
    stale = [
        name
        for name in STATEMENTS
        if not (DOCS_SQL / name).exists() or (DOCS_SQL / name).read_text() != printed(name)
    ]
    unknown = sorted({path.name for path in DOCS_SQL.glob("*.sql")} - set(STATEMENTS))
    assert not stale and not unknown, (
        f"docs/sql is out of date ({', '.join(stale + unknown)}): "
        "run `make sql` and commit the result"
    )


def test_every_named_statement_is_used_and_every_use_is_named() -> None:
    source = "\n".join(
        path.read_text() for package in PACKAGES for path in (REPO / package).rglob("*.py")
    )
    unused = [name for name in queries if f'"{name}"' not in source]
    assert not unused, f"named in uptime_core/sql but used nowhere: {unused}"
    missing = set(re.findall(r'queries\["([a-z0-9_]+)"\]', source)) - set(queries)
    assert not missing, f"used but named in no uptime_core/sql/*.sql: {sorted(missing)}"


def test_the_spelled_out_parts_match_the_python_they_stand_for() -> None:
    # targets.sql spells out the first slot that the test fixtures embed from claim.py, for a
    # new target and for one whose probe changed.
    assert FIRST_SLOT in queries["create_target"]
    assert FIRST_SLOT in queries["update_target"]
    # maintenance.sql spells out the settings columns, in the order of maintenance._values.
    for name in ("insert_window", "update_window"):
        assert f"({WINDOW_COLUMNS})" in " ".join(queries[name].replace("( ", "(").split())


def test_loader_refuses_duplicates_stray_text_and_empty_blocks() -> None:
    good = parse(
        [("a.sql", "-- header\n\n-- one --\n-- about one\nSELECT 1\n\n-- two --\nSELECT 2")]
    )
    assert dict(good) == {"one": "SELECT 1", "two": "SELECT 2"}
    assert good.origins == {"one": "a.sql", "two": "a.sql"}
    with pytest.raises(SqlFileError, match=r"b\.sql: 'one' is already defined in a\.sql"):
        parse([("a.sql", "-- one --\nSELECT 1"), ("b.sql", "-- one --\nSELECT 2")])
    with pytest.raises(SqlFileError, match="text before the first"):
        parse([("a.sql", "SELECT 0\n-- one --\nSELECT 1")])
    with pytest.raises(SqlFileError, match="'one' has no statement"):
        parse([("a.sql", "-- one --\n-- only a description\n\n-- two --\nSELECT 2")])
    with pytest.raises(KeyError, match="no SQL statement named 'nothing'"):
        queries["nothing"]


async def test_every_statement_parses_and_returns_its_rows_columns(db: asyncpg.Connection) -> None:
    """PREPARE each statement, named or composed (a typo or a renamed column fails here), and
    compare the columns of those that make rows with the row's fields."""
    async with db.transaction():
        for period, table in ROLLUP_TABLES.items():
            await db.execute(f"CREATE TEMP TABLE fresh_{period} (LIKE {table}) ON COMMIT DROP")
            await db.execute(
                f"CREATE TEMP TABLE fresh_histogram_{period} "
                f"(LIKE {HISTOGRAM_TABLES[period]}) ON COMMIT DROP"
            )
        composed = {
            "RECORD_RESULTS": RECORD_RESULTS,
            "UPTIME_SQL": UPTIME_SQL,
            **{f"SERIES_SQL[{k!r}]": v for k, v in SERIES_SQL.items()},
            **{f"rebuild_upsert_sql({p!r})": rebuild_upsert_sql(p) for p in ROLLUP_TABLES},
        }
        for name, statement in {**queries, **composed}.items():
            try:
                prepared = await db.prepare(statement)
            except asyncpg.PostgresError as error:
                pytest.fail(f"{name}: {type(error).__name__}: {error}")
            if name in ROWS:
                returned = [attribute.name for attribute in prepared.get_attributes()]
                assert sorted(returned) == sorted(field.name for field in fields(ROWS[name])), name
