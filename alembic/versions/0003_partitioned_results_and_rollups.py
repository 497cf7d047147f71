"""check results partitioned by day; hourly and daily rollups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

Moves check_result into a table partitioned by day on the slot (the primary key now carries
status and latency), creates the partitions its rows need plus the coming week, and creates
the rollup tables, filled from the results already recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from uptime_core.retention import DAYS_AHEAD, create_partition_sql
from uptime_core.stats.histogram import HISTOGRAM_COLUMNS
from uptime_core.stats.rollups import rollup_upsert_sql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUS_CHECK = "status IN ('up', 'down', 'degraded')"
COLUMNS = (
    "target_id, scheduled_for, started_at, finished_at, status, latency_ms, error_kind, "
    "message, http_status, resolved_address, tls_expires_at, recorded_by"
)


def result_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("http_status", sa.SmallInteger(), nullable=True),
        sa.Column("resolved_address", sa.Text(), nullable=True),
        sa.Column("tls_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.Text(), nullable=True),
    ]


def rollup_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("up", sa.Integer(), nullable=False),
        sa.Column("degraded", sa.Integer(), nullable=False),
        sa.Column("down", sa.Integer(), nullable=False),
        sa.Column("latency_count", sa.Integer(), nullable=False),
        sa.Column("latency_sum", sa.Float(), nullable=False),
        sa.Column("latency_min", sa.Float(), nullable=True),
        sa.Column("latency_max", sa.Float(), nullable=True),
        *(
            sa.Column(column, sa.Integer(), server_default="0", nullable=False)
            for column in HISTOGRAM_COLUMNS
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["target.id"],
            name=op.f(f"fk_{name}_target_id_target"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("target_id", "bucket_start", name=op.f(f"pk_{name}")),
        comment=(
            "Check counts, latency and its histogram per target and "
            f"{'hour' if 'hourly' in name else 'day'} (UTC)."
        ),
    )


def upgrade() -> None:
    op.execute("ALTER TABLE check_result RENAME TO check_result_old")
    for old, new in [
        ("pk_check_result", "pk_check_result_old"),
        ("fk_check_result_target_id_target", "fk_check_result_old_target_id_target"),
        ("ck_check_result_check_status", "ck_check_result_old_check_status"),
    ]:
        op.execute(f"ALTER TABLE check_result_old RENAME CONSTRAINT {old} TO {new}")
    op.create_table(
        "check_result",
        *result_columns(),
        sa.CheckConstraint(STATUS_CHECK, name=op.f("ck_check_result_check_status")),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["target.id"],
            name=op.f("fk_check_result_target_id_target"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "target_id",
            "scheduled_for",
            name=op.f("pk_check_result"),
            postgresql_include=["status", "latency_ms"],
        ),
        postgresql_partition_by="RANGE (scheduled_for)",
    )
    connection = op.get_bind()
    first, today = connection.execute(
        sa.text(
            "SELECT (min(scheduled_for) AT TIME ZONE 'UTC')::date, "
            "(now() AT TIME ZONE 'UTC')::date FROM check_result_old"
        )
    ).one()
    day = min(first or today, today - timedelta(days=1))
    while day <= today + timedelta(days=DAYS_AHEAD):
        op.execute(create_partition_sql(day))
        day += timedelta(days=1)
    op.execute(f"INSERT INTO check_result ({COLUMNS}) SELECT {COLUMNS} FROM check_result_old")
    op.drop_table("check_result_old")

    rollup_table("check_rollup_hourly")
    rollup_table("check_rollup_daily")
    op.execute(rollup_upsert_sql("hour", "check_result", histogram_columns=True))
    op.execute(rollup_upsert_sql("day", "check_result", histogram_columns=True))


def downgrade() -> None:
    op.drop_table("check_rollup_daily")
    op.drop_table("check_rollup_hourly")
    op.execute("ALTER TABLE check_result RENAME TO check_result_partitioned")
    for old, new in [
        ("pk_check_result", "pk_check_result_partitioned"),
        ("fk_check_result_target_id_target", "fk_check_result_partitioned_target_id_target"),
        ("ck_check_result_check_status", "ck_check_result_partitioned_check_status"),
    ]:
        op.execute(f"ALTER TABLE check_result_partitioned RENAME CONSTRAINT {old} TO {new}")
    op.create_table(
        "check_result",
        *result_columns(),
        sa.CheckConstraint(STATUS_CHECK, name=op.f("ck_check_result_check_status")),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["target.id"],
            name=op.f("fk_check_result_target_id_target"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("target_id", "scheduled_for", name=op.f("pk_check_result")),
    )
    op.execute(
        f"INSERT INTO check_result ({COLUMNS}) SELECT {COLUMNS} FROM check_result_partitioned"
    )
    op.drop_table("check_result_partitioned")
