"""narrow latency histograms: one row per target, period and bucket instead of 60 columns

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

The rollups' histogram columns ``h00`` .. ``h59`` move to ``check_histogram_hourly`` and
``check_histogram_daily``: a row per target, period and non-empty bucket. A recorded check then
adds one to one small row per period instead of rewriting a rollup row sixty columns wide,
which was half of PostgreSQL's CPU per recorded check (docs/scaling.md). The counts stay in the
rollup tables. Downgrade puts the columns back, filled from the rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from uptime_core.stats.histogram import HISTOGRAM_COLUMNS

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERIODS = {"hourly": "hour", "daily": "day"}


def _comment(period: str, *, histogram: bool) -> str:
    if histogram:
        return f"Check counts, latency and its histogram per target and {period} (UTC)."
    return f"Check counts and latency totals per target and {period} (UTC)."


def upgrade() -> None:
    for name, period in PERIODS.items():
        rollup, histogram = f"check_rollup_{name}", f"check_histogram_{name}"
        op.create_table(
            histogram,
            sa.Column("target_id", sa.BigInteger(), nullable=False),
            sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
            sa.Column("bucket", sa.SmallInteger(), nullable=False),
            sa.Column("checks", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["target_id"],
                ["target.id"],
                name=op.f(f"fk_{histogram}_target_id_target"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint(
                "target_id", "bucket_start", "bucket", name=op.f(f"pk_{histogram}")
            ),
            comment=f"Checks per latency histogram bucket, target and {period} (UTC).",
        )
        columns = ", ".join(HISTOGRAM_COLUMNS)
        op.execute(
            f"""
            INSERT INTO {histogram} (target_id, bucket_start, bucket, checks)
            SELECT r.target_id, r.bucket_start, e.bucket - 1, e.checks
            FROM {rollup} AS r
            CROSS JOIN LATERAL unnest(ARRAY[{columns}]) WITH ORDINALITY AS e(checks, bucket)
            WHERE e.checks > 0
            """
        )
        for column in HISTOGRAM_COLUMNS:
            op.drop_column(rollup, column)
        op.create_table_comment(
            rollup,
            _comment(period, histogram=False),
            existing_comment=_comment(period, histogram=True),
        )


def downgrade() -> None:
    for name, period in PERIODS.items():
        rollup, histogram = f"check_rollup_{name}", f"check_histogram_{name}"
        for column in HISTOGRAM_COLUMNS:
            op.add_column(
                rollup, sa.Column(column, sa.Integer(), server_default="0", nullable=False)
            )
        sums = ", ".join(
            f"coalesce(sum(checks) FILTER (WHERE bucket = {i}), 0)"
            for i in range(len(HISTOGRAM_COLUMNS))
        )
        op.execute(
            f"""
            UPDATE {rollup} AS r SET ({", ".join(HISTOGRAM_COLUMNS)}) = (
                SELECT {sums} FROM {histogram} AS h
                WHERE h.target_id = r.target_id AND h.bucket_start = r.bucket_start)
            """
        )
        op.create_table_comment(
            rollup,
            _comment(period, histogram=True),
            existing_comment=_comment(period, histogram=False),
        )
        op.drop_table(histogram)
