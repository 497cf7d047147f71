"""Maintenance windows in SQL: is an instant inside one, and which parts of a range are.

A window belongs to one target or, with ``target_id`` NULL, to every target. ONCE windows are
``[starts_at, ends_at)``. WEEKLY windows start on each ISO weekday in ``weekdays`` at
``local_start`` in ``time_zone`` (an IANA name, so daylight saving time moves the UTC start)
and last ``duration_seconds`` (at most a week, so a window may run past midnight or into the
next week). Both functions return SQL fragments to embed in a larger statement: the record
statement marks results with ``in_maintenance_sql`` and statistics clip with
``maintenance_ranges_sql``, so the two can never disagree on what a window covers.
"""

from __future__ import annotations

from zoneinfo import available_timezones

# The longest weekly window, and so how many local days back a window covering an instant can
# have started.
MAX_WEEKLY_SECONDS = 7 * 24 * 3600


def _applies(window: str, target_id: str) -> str:
    return f"({window}.target_id IS NULL OR {window}.target_id = {target_id})"


def _weekly_start(window: str, day: str) -> str:
    # A local date plus the local time, read in the window's zone: the UTC instant it starts.
    return f"(({day})::date + {window}.local_start) AT TIME ZONE {window}.time_zone"


def in_maintenance_sql(target_id: str, at: str) -> str:
    """A boolean SQL expression: the instant ``at`` lies in a window of ``target_id``."""
    start = _weekly_start("m", f"(({at}) AT TIME ZONE m.time_zone)::date - back.days")
    return f"""EXISTS (
    SELECT 1
    FROM maintenance_window AS m
    WHERE {_applies("m", target_id)}
      AND CASE m.kind
          WHEN 'once' THEN ({at}) >= m.starts_at AND ({at}) < m.ends_at
          ELSE EXISTS (
              SELECT 1
              FROM generate_series(0, 7) AS back(days)
              WHERE extract(isodow FROM (({at}) AT TIME ZONE m.time_zone)::date - back.days)
                        ::smallint = ANY (m.weekdays)
                AND ({at}) >= {start}
                AND ({at}) < {start} + make_interval(secs => m.duration_seconds))
      END)"""


def maintenance_ranges_sql(target_id: str, start: str, end: str) -> str:
    """A ``tstzmultirange`` SQL expression: the parts of [start, end) that lie in windows of
    ``target_id`` (empty when none)."""
    window = f"tstzrange(({start}), ({end}))"
    weekly_start = _weekly_start("m", "day")
    return f"""(
    SELECT coalesce(range_agg(part), '{{}}'::tstzmultirange)
    FROM (
        SELECT tstzrange(m.starts_at, m.ends_at) * {window} AS part
        FROM maintenance_window AS m
        WHERE m.kind = 'once' AND {_applies("m", target_id)}
        UNION ALL
        SELECT tstzrange({weekly_start},
                         {weekly_start} + make_interval(secs => m.duration_seconds)) * {window}
        FROM maintenance_window AS m
        CROSS JOIN LATERAL generate_series(
            (({start}) AT TIME ZONE m.time_zone)::date - 7,
            (({end}) AT TIME ZONE m.time_zone)::date,
            interval '1 day') AS day
        WHERE m.kind = 'weekly' AND {_applies("m", target_id)}
          AND extract(isodow FROM day)::smallint = ANY (m.weekdays)
    ) AS parts
    WHERE NOT isempty(part))"""


def is_time_zone(name: str) -> bool:
    """True for an IANA time zone name this machine knows (``Europe/Paris``, ``UTC``)."""
    return name in _zones()


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES
