"""Maintenance windows in SQL against a reference computed with zoneinfo: weekly windows in
their time zone across a daylight-saving change, past midnight and past the week's end; and
the ranges statistics clip with agree with the per-instant test."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from tests.support.targets import TargetSpec, insert_targets
from uptime_core.enums import MaintenanceKind
from uptime_core.maintenance import (
    MaintenanceFields,
    check_maintenance_fields,
    in_maintenance_sql,
    maintenance_ranges_sql,
)
from uptime_core.validation import InvalidFields

# (weekdays, local start, duration, zone): Sunday night in Paris over the spring change
# (2026-03-29), Friday night into Saturday in New York, Sunday into Monday in Tokyo.
WEEKLY = [
    ([7], time(1, 30), timedelta(hours=2), "Europe/Paris"),
    ([5], time(22, 0), timedelta(hours=6), "America/New_York"),
    ([3, 7], time(23, 0), timedelta(hours=3), "Asia/Tokyo"),
]


def covered(at: datetime, weekdays: list[int], start: time, length: timedelta, zone: str) -> bool:
    tz = ZoneInfo(zone)
    local_day = at.astimezone(tz).date()
    for back in range(8):
        day = local_day - timedelta(days=back)
        if day.isoweekday() in weekdays:
            begins = datetime.combine(day, start, tzinfo=tz).astimezone(UTC)
            if begins <= at < begins + length:
                return True
    return False


@pytest.mark.parametrize(("weekdays", "start", "length", "zone"), WEEKLY)
async def test_weekly_windows_follow_their_zone(
    db: asyncpg.Connection,
    weekdays: list[int],
    start: time,
    length: timedelta,
    zone: str,
) -> None:
    [target] = await insert_targets(db, [TargetSpec(kind="tcp", host="127.0.0.1", port=9)])
    await db.execute(
        "INSERT INTO maintenance_window (name, target_id, kind, weekdays, local_start, "
        "duration_seconds, time_zone) VALUES ('weekly', $1, 'weekly', $2, $3, $4, $5)",
        target,
        weekdays,
        start,
        int(length.total_seconds()),
        zone,
    )
    begin = datetime(2026, 3, 25, tzinfo=UTC)
    end = begin + timedelta(days=8)
    rows = await db.fetch(
        f"""
        SELECT at, {in_maintenance_sql("$1", "at")} AS inside,
               at <@ ({maintenance_ranges_sql("$1", "$2::timestamptz", "$3::timestamptz")})
                   AS in_ranges
        FROM generate_series($2::timestamptz, $3::timestamptz - interval '1 second',
                             interval '10 minutes') AS at
        """,
        target,
        begin,
        end,
    )
    expected = [covered(row["at"], weekdays, start, length, zone) for row in rows]
    assert [row["inside"] for row in rows] == expected
    assert [row["in_ranges"] for row in rows] == expected
    assert sum(expected) >= len(weekdays) * length / timedelta(minutes=10) - 1


async def test_windows_apply_to_their_target_or_to_all(db: asyncpg.Connection) -> None:
    mine, other = await insert_targets(db, [TargetSpec(kind="tcp", host="127.0.0.1", port=9)] * 2)
    now = datetime.now(UTC)
    await db.execute(
        "INSERT INTO maintenance_window (name, target_id, kind, starts_at, ends_at) "
        "VALUES ('mine', $1, 'once', $2, $3), ('all', NULL, 'once', $3, $4)",
        mine,
        now - timedelta(hours=2),
        now - timedelta(hours=1),
        now,
    )
    probe = f"SELECT {in_maintenance_sql('$1', '$2::timestamptz')}"
    inside_mine = now - timedelta(minutes=90)
    inside_all = now - timedelta(minutes=30)
    assert await db.fetchval(probe, mine, inside_mine)
    assert not await db.fetchval(probe, other, inside_mine)
    assert await db.fetchval(probe, other, inside_all)
    assert not await db.fetchval(probe, mine, now + timedelta(minutes=1)), "end is exclusive"
    seconds = await db.fetchval(
        "SELECT sum(extract(epoch FROM upper(r) - lower(r))) FROM unnest("
        + maintenance_ranges_sql("$1", "$2::timestamptz", "$3::timestamptz")
        + ") AS r",
        mine,
        now - timedelta(hours=3),
        now - timedelta(minutes=45),
    )
    assert seconds == 3600 + 15 * 60


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (MaintenanceFields("w", None, MaintenanceKind.ONCE), "startsAt"),
        (
            MaintenanceFields(
                "w",
                None,
                MaintenanceKind.ONCE,
                datetime(2026, 1, 2, tzinfo=UTC),
                datetime(2026, 1, 1, tzinfo=UTC),
            ),
            "endsAt",
        ),
        (
            MaintenanceFields(
                "w",
                None,
                MaintenanceKind.WEEKLY,
                weekdays=[1],
                local_start=time(2),
                duration_seconds=3600,
                time_zone="Mars/Olympus_Mons",
            ),
            "timeZone",
        ),
        (
            MaintenanceFields(
                "w",
                None,
                MaintenanceKind.WEEKLY,
                weekdays=[],
                local_start=time(2),
                duration_seconds=3600,
                time_zone="UTC",
            ),
            "weekdays",
        ),
        (
            MaintenanceFields(
                "w",
                None,
                MaintenanceKind.WEEKLY,
                weekdays=[1],
                local_start=time(2),
                duration_seconds=8 * 86400,
                time_zone="UTC",
            ),
            "durationSeconds",
        ),
    ],
)
def test_bad_windows_name_the_field(fields: MaintenanceFields, field: str) -> None:
    with pytest.raises(InvalidFields) as raised:
        check_maintenance_fields(fields)
    assert raised.value.errors[0].field == field
