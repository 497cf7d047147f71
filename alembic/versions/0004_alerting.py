"""alerting: notification channels, the deliveries outbox, maintenance windows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

Adds the channels (and which targets they watch), the deliveries outbox that the record
statement writes, maintenance windows, and a maintenance mark on check results and their
rollups (adding a column with a constant default rewrites nothing; the results' primary key
is rebuilt to carry the mark).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool, default_now: bool = False) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.text("now()") if default_now else None,
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "notification_channel",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "webhook",
                "slack",
                "email",
                name="channel_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "config",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("all_targets", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("reminder_interval_seconds", sa.Integer(), nullable=True),
        _timestamp("created_at", nullable=False, default_now=True),
        _timestamp("updated_at", nullable=False, default_now=True),
        sa.CheckConstraint(
            "reminder_interval_seconds IS NULL OR reminder_interval_seconds > 0",
            name=op.f("ck_notification_channel_reminder_positive"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channel")),
    )
    op.create_table(
        "channel_target",
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channel.id"],
            name=op.f("fk_channel_target_channel_id_notification_channel"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["target.id"],
            name=op.f("fk_channel_target_target_id_target"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("channel_id", "target_id", name=op.f("pk_channel_target")),
    )
    op.create_index("ix_channel_target_target_id", "channel_target", ["target_id"])
    op.create_table(
        "delivery",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=False),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "event",
            sa.Enum(
                "down",
                "reminder",
                "resolved",
                "test",
                name="delivery_event",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("sequence", sa.Integer(), server_default="0", nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=False),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sent",
                "failed",
                "suppressed",
                name="delivery_state",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        _timestamp("next_attempt_at", nullable=False, default_now=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        _timestamp("lease_expires_at", nullable=True),
        _timestamp("created_at", nullable=False, default_now=True),
        _timestamp("sent_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"],
            ["notification_channel.id"],
            name=op.f("fk_delivery_channel_id_notification_channel"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_delivery_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
    )
    op.create_index(
        "uq_delivery_idempotency_key",
        "delivery",
        ["idempotency_key"],
        unique=True,
        postgresql_where=sa.text("state <> 'suppressed'"),
    )
    op.create_index(
        "ix_delivery_next_attempt_at",
        "delivery",
        ["next_attempt_at"],
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index("ix_delivery_incident_id_channel_id", "delivery", ["incident_id", "channel_id"])
    op.create_index("ix_delivery_channel_id_id", "delivery", ["channel_id", "id"])
    op.create_table(
        "maintenance_window",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "once",
                "weekly",
                name="maintenance_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        _timestamp("starts_at", nullable=True),
        _timestamp("ends_at", nullable=True),
        sa.Column("weekdays", postgresql.ARRAY(sa.SmallInteger()), nullable=True),
        sa.Column("local_start", sa.Time(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("time_zone", sa.Text(), nullable=True),
        _timestamp("created_at", nullable=False, default_now=True),
        sa.CheckConstraint(
            "kind <> 'once' OR (starts_at IS NOT NULL AND ends_at > starts_at)",
            name=op.f("ck_maintenance_window_once_has_times"),
        ),
        sa.CheckConstraint(
            "kind <> 'weekly' OR (cardinality(weekdays) > 0 AND local_start IS NOT NULL"
            " AND time_zone IS NOT NULL AND duration_seconds BETWEEN 1 AND 604800)",
            name=op.f("ck_maintenance_window_weekly_has_times"),
        ),
        sa.CheckConstraint(
            "weekdays <@ ARRAY[1,2,3,4,5,6,7]::smallint[]",
            name=op.f("ck_maintenance_window_iso_weekdays"),
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["target.id"],
            name=op.f("fk_maintenance_window_target_id_target"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance_window")),
    )
    op.create_index("ix_maintenance_window_target_id", "maintenance_window", ["target_id"])
    op.add_column(
        "check_result",
        sa.Column("in_maintenance", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    for table in ("check_rollup_hourly", "check_rollup_daily"):
        op.add_column(
            table, sa.Column("maintenance", sa.Integer(), server_default="0", nullable=False)
        )
    _primary_key_including("status, latency_ms, in_maintenance")


def _primary_key_including(columns: str) -> None:
    # Statistics read status, latency and the maintenance mark from the primary key alone
    # (index-only scans), so the key carries them.
    op.execute("ALTER TABLE check_result DROP CONSTRAINT pk_check_result")
    op.execute(
        "ALTER TABLE check_result ADD CONSTRAINT pk_check_result "
        f"PRIMARY KEY (target_id, scheduled_for) INCLUDE ({columns})"
    )


def downgrade() -> None:
    _primary_key_including("status, latency_ms")
    for table in ("check_rollup_hourly", "check_rollup_daily"):
        op.drop_column(table, "maintenance")
    op.drop_column("check_result", "in_maintenance")
    op.drop_table("maintenance_window")
    op.drop_table("delivery")
    op.drop_table("channel_target")
    op.drop_table("notification_channel")
