"""The tables: targets (with their schedule and lease), check results (partitioned by day),
hourly and daily rollups of them, incidents; and for alerting, notification channels, the
deliveries outbox and maintenance windows.

These classes are the one description of each table, and they serve migrations: Alembic
compares them with the database, and ``tests/core/test_migrations.py`` checks that migrating to
head gives exactly these tables. At run time nothing loads them: queries go through asyncpg (the
claim and record statements are single statements that an ORM would only slow down) into small
frozen row dataclasses beside the code that reads them (``targets.TargetRow``,
``history.CheckRow``, ``alerting.channels.ChannelRow``, ...), and
``tests/core/test_rows.py`` checks every row field against the table it reads.

Enumerations (``uptime_core.enums``) are stored as short strings with CHECK constraints (no
PostgreSQL enum types, which are awkward to change in migrations). Constraint names follow
``NAMING_CONVENTION`` so that migrations stay stable.
"""

from __future__ import annotations

import enum
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from uptime_core.enums import (
    ChannelKind,
    CheckStatus,
    DeliveryEvent,
    DeliveryState,
    MaintenanceKind,
    ProbeKind,
    TargetStatus,
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


def _enum(kind: type[enum.StrEnum], name: str) -> sa.Enum:
    return sa.Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
    )


def _timestamp(*, nullable: bool, default_now: bool = False) -> Any:
    return Field(
        default=None,
        sa_type=sa.DateTime(timezone=True),
        sa_column_kwargs={"server_default": sa.func.now()} if default_now else {},
        nullable=nullable,
    )


# Free room left on the pages of tables whose rows are updated with every check (the target's
# lease, the rollups), so that those updates can stay on the page (migration 0008).
UPDATED_EVERY_CHECK_FILLFACTOR = 70

# A key: lowercase letters and digits in runs joined by single dashes, at most 63 characters
# (uptime_core/keys.py). One left out on insert is derived from the name by the trigger
# ``derive_key`` of migration 0005 (not described here: Alembic compares tables, not triggers).
KEY_FORMAT = "key ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(key) <= 63"


def _key_constraints() -> tuple[sa.UniqueConstraint, sa.CheckConstraint]:
    return sa.UniqueConstraint("key"), sa.CheckConstraint(KEY_FORMAT, name="key_format")


class Target(SQLModel, table=True):
    """Something to check, how, how often, and where its schedule stands."""

    __tablename__ = "target"
    __table_args__ = (
        sa.CheckConstraint("interval_seconds > 0", name="interval_positive"),
        sa.CheckConstraint(
            "retry_interval_seconds IS NULL OR retry_interval_seconds > 0",
            name="retry_interval_positive",
        ),
        sa.CheckConstraint("timeout_seconds > 0", name="timeout_positive"),
        sa.CheckConstraint("port IS NULL OR port BETWEEN 1 AND 65535", name="port_range"),
        sa.CheckConstraint(
            "failure_threshold >= 1 AND recovery_threshold >= 1", name="thresholds_positive"
        ),
        sa.Index("ix_target_next_run_at", "next_run_at", postgresql_where=sa.text("NOT paused")),
        *_key_constraints(),
        # Room for heap-only updates: a claim changes no indexed column (migration 0008).
        {"postgresql_with": {"fillfactor": UPDATED_EVERY_CHECK_FILLFACTOR}},
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    name: str = Field(sa_type=sa.Text)
    key: str = Field(sa_type=sa.Text)
    kind: ProbeKind = Field(sa_type=_enum(ProbeKind, "probe_kind"))
    url: str | None = Field(default=None, sa_type=sa.Text)
    host: str | None = Field(default=None, sa_type=sa.Text)
    port: int | None = Field(default=None)
    interval_seconds: int = Field(default=60)
    # The interval of the checks that confirm a change (a failure not yet DOWN, a DOWN target's
    # passes not yet UP); NULL: least(interval_seconds, 10). Migration 0006.
    retry_interval_seconds: int | None = Field(default=None)
    timeout_seconds: float = Field(default=10.0)
    # Kind-specific probe settings, validated and normalised by uptime_core.probes.
    options: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    failure_threshold: int = Field(default=2)
    recovery_threshold: int = Field(default=2)
    paused: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # Badges (/badge/{key}/...) are served for public targets only (migration 0009).
    public: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    status: TargetStatus = Field(
        default=TargetStatus.UNKNOWN,
        sa_type=_enum(TargetStatus, "target_status"),
        sa_column_kwargs={"server_default": TargetStatus.UNKNOWN.value},
    )
    # The run of same-polarity checks the state machine counts (docs/architecture.md, "State
    # and incidents"): how many in a row, and the slot where the run began.
    consecutive_failures: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    consecutive_successes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    streak_started_at: datetime | None = _timestamp(nullable=True)
    status_changed_at: datetime | None = _timestamp(nullable=True)
    # Schedule and lease (see "Scheduling" in docs/architecture.md): the slot to run next,
    # and which worker holds it until when. NULL next_run_at: not scheduled (paused).
    next_run_at: datetime | None = _timestamp(nullable=True)
    lease_owner: str | None = Field(default=None, sa_type=sa.Text)
    lease_expires_at: datetime | None = _timestamp(nullable=True)
    created_at: datetime | None = _timestamp(nullable=False, default_now=True)
    updated_at: datetime | None = _timestamp(nullable=False, default_now=True)


class CheckResult(SQLModel, table=True):
    """The one recorded outcome of one slot of one target.

    Partitioned by day on the slot (``retention.py`` creates partitions ahead and drops whole
    old ones). The primary key (target_id, scheduled_for) is the key that makes a second
    recording of a slot impossible; it carries status, latency and the maintenance mark, so
    statistics over a window are index-only scans.
    """

    __tablename__ = "check_result"
    __table_args__ = (
        sa.PrimaryKeyConstraint(
            "target_id",
            "scheduled_for",
            postgresql_include=["status", "latency_ms", "in_maintenance"],
        ),
        {"postgresql_partition_by": "RANGE (scheduled_for)"},
    )

    # No foreign key (migration 0008): the record statement inserts only for a target row it
    # holds locked, and ``targets.delete_target`` deletes the rows of the target it deletes.
    target_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    scheduled_for: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    started_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    finished_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    status: CheckStatus = Field(sa_type=_enum(CheckStatus, "check_status"))
    latency_ms: float | None = Field(default=None)
    error_kind: str | None = Field(default=None, sa_type=sa.String(32))
    message: str | None = Field(default=None, sa_type=sa.Text)
    http_status: int | None = Field(default=None, sa_type=sa.SmallInteger)
    resolved_address: str | None = Field(default=None, sa_type=sa.Text)
    tls_expires_at: datetime | None = _timestamp(nullable=True)
    recorded_by: str | None = Field(default=None, sa_type=sa.Text)
    # The slot fell inside a maintenance window of its target: statistics report it as
    # maintenance, neither up nor down (docs/alerting.md).
    in_maintenance: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


def _per_target_and_period() -> list[sa.Column[Any]]:
    """The key the rollup and histogram tables start with: a target and a UTC hour or day
    (without a foreign key, as ``check_result``)."""
    return [
        sa.Column("target_id", sa.BigInteger, primary_key=True),
        sa.Column("bucket_start", sa.DateTime(timezone=True), primary_key=True),
    ]


def _rollup_table(name: str, period: str) -> sa.Table:
    return sa.Table(
        name,
        SQLModel.metadata,
        *_per_target_and_period(),
        sa.Column("up", sa.Integer, nullable=False),
        sa.Column("degraded", sa.Integer, nullable=False),
        sa.Column("down", sa.Integer, nullable=False),
        # Checks recorded inside a maintenance window (not in up, degraded or down).
        sa.Column("maintenance", sa.Integer, nullable=False, server_default="0"),
        sa.Column("latency_count", sa.Integer, nullable=False),
        sa.Column("latency_sum", sa.Float, nullable=False),
        sa.Column("latency_min", sa.Float, nullable=True),
        sa.Column("latency_max", sa.Float, nullable=True),
        comment=f"Check counts and latency totals per target and {period} (UTC).",
        postgresql_with={"fillfactor": UPDATED_EVERY_CHECK_FILLFACTOR},
    )


def _histogram_table(name: str, period: str) -> sa.Table:
    return sa.Table(
        name,
        SQLModel.metadata,
        *_per_target_and_period(),
        # 0 .. HISTOGRAM_BUCKETS-1 (uptime_core/stats/histogram.py); only non-empty buckets.
        sa.Column("bucket", sa.SmallInteger, primary_key=True),
        sa.Column("checks", sa.Integer, nullable=False),
        comment=f"Checks per latency histogram bucket, target and {period} (UTC).",
        postgresql_with={"fillfactor": UPDATED_EVERY_CHECK_FILLFACTOR},
    )


check_rollup_hourly = _rollup_table("check_rollup_hourly", "hour")
check_rollup_daily = _rollup_table("check_rollup_daily", "day")
check_histogram_hourly = _histogram_table("check_histogram_hourly", "hour")
check_histogram_daily = _histogram_table("check_histogram_daily", "day")


class Incident(SQLModel, table=True):
    """A confirmed outage of a target: opened at its first failing check, closed on recovery."""

    __tablename__ = "incident"
    __table_args__ = (
        # At most one open incident per target.
        sa.Index(
            "uq_incident_open_target_id",
            "target_id",
            unique=True,
            postgresql_where=sa.text("resolved_at IS NULL"),
        ),
        sa.Index("ix_incident_target_id_started_at", "target_id", "started_at"),
        sa.CheckConstraint(
            "resolved_at IS NULL OR resolved_at >= started_at", name="resolved_after_start"
        ),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    target_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("target.id", ondelete="CASCADE"), nullable=False
        )
    )
    started_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    resolved_at: datetime | None = _timestamp(nullable=True)
    cause: str | None = Field(default=None, sa_type=sa.Text)


# -- alerting --------------------------------------------------------------------------------


class NotificationChannel(SQLModel, table=True):
    """Somewhere incident changes are sent: a webhook, a Slack incoming webhook or email.

    ``config`` holds the kind's settings including its secrets (webhook signing secret, Slack
    URL, SMTP password), which the API accepts but never returns.
    """

    __tablename__ = "notification_channel"
    __table_args__ = (
        sa.CheckConstraint(
            "reminder_interval_seconds IS NULL OR reminder_interval_seconds > 0",
            name="reminder_positive",
        ),
        *_key_constraints(),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    name: str = Field(sa_type=sa.Text)
    key: str = Field(sa_type=sa.Text)
    kind: ChannelKind = Field(sa_type=_enum(ChannelKind, "channel_kind"))
    config: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    # True: every target, present and future; else the targets in channel_target.
    all_targets: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    enabled: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})
    # While a target stays down, a reminder this often (NULL: no reminders).
    reminder_interval_seconds: int | None = Field(default=None)
    created_at: datetime | None = _timestamp(nullable=False, default_now=True)
    updated_at: datetime | None = _timestamp(nullable=False, default_now=True)


class ChannelTarget(SQLModel, table=True):
    """A channel attached to one target (channels with ``all_targets`` need no rows here)."""

    __tablename__ = "channel_target"
    __table_args__ = (sa.Index("ix_channel_target_target_id", "target_id"),)

    channel_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger,
            sa.ForeignKey("notification_channel.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    target_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("target.id", ondelete="CASCADE"), primary_key=True
        )
    )


class Delivery(SQLModel, table=True):
    """The outbox: one message for one channel, written in the statement that changed the
    incident, sent (and retried) by the worker's deliverers.

    ``idempotency_key`` is the same on every attempt; a partial unique index makes a second
    live delivery of the same message impossible. ``payload`` is a snapshot of what the
    message says (target, cause, times), taken when the incident changed.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        sa.Index(
            "uq_delivery_idempotency_key",
            "idempotency_key",
            unique=True,
            postgresql_where=sa.text("state <> 'suppressed'"),
        ),
        sa.Index(
            "ix_delivery_next_attempt_at",
            "next_attempt_at",
            postgresql_where=sa.text("state = 'pending'"),
        ),
        sa.Index("ix_delivery_incident_id_channel_id", "incident_id", "channel_id"),
        sa.Index("ix_delivery_channel_id_id", "channel_id", "id"),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    channel_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger,
            sa.ForeignKey("notification_channel.id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    # NULL for test messages.
    incident_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("incident.id", ondelete="CASCADE"), nullable=True
        ),
    )
    event: DeliveryEvent = Field(sa_type=_enum(DeliveryEvent, "delivery_event"))
    # 0 for down and resolved; n for the n-th reminder of an incident.
    sequence: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    idempotency_key: str = Field(sa_type=sa.Text)
    payload: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    state: DeliveryState = Field(
        default=DeliveryState.PENDING,
        sa_type=_enum(DeliveryState, "delivery_state"),
        sa_column_kwargs={"server_default": DeliveryState.PENDING.value},
    )
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_attempt_at: datetime | None = _timestamp(nullable=False, default_now=True)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    lease_owner: str | None = Field(default=None, sa_type=sa.Text)
    lease_expires_at: datetime | None = _timestamp(nullable=True)
    created_at: datetime | None = _timestamp(nullable=False, default_now=True)
    sent_at: datetime | None = _timestamp(nullable=True)


class MaintenanceWindow(SQLModel, table=True):
    """Time when a target (or every target, with ``target_id`` NULL) is in maintenance:
    checks run, notifications are held back, statistics report it as maintenance.

    ONCE: [starts_at, ends_at). WEEKLY: on each ISO weekday in ``weekdays`` (1 = Monday), from
    ``local_start`` in ``time_zone`` for ``duration_seconds`` (at most a week).
    """

    __tablename__ = "maintenance_window"
    __table_args__ = (
        sa.CheckConstraint(
            "kind <> 'once' OR (starts_at IS NOT NULL AND ends_at > starts_at)",
            name="once_has_times",
        ),
        sa.CheckConstraint(
            "kind <> 'weekly' OR (cardinality(weekdays) > 0 AND local_start IS NOT NULL"
            " AND time_zone IS NOT NULL AND duration_seconds BETWEEN 1 AND 604800)",
            name="weekly_has_times",
        ),
        sa.CheckConstraint("weekdays <@ ARRAY[1,2,3,4,5,6,7]::smallint[]", name="iso_weekdays"),
        sa.Index("ix_maintenance_window_target_id", "target_id"),
        *_key_constraints(),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    name: str = Field(sa_type=sa.Text)
    key: str = Field(sa_type=sa.Text)
    target_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("target.id", ondelete="CASCADE"), nullable=True
        ),
    )
    kind: MaintenanceKind = Field(sa_type=_enum(MaintenanceKind, "maintenance_kind"))
    starts_at: datetime | None = _timestamp(nullable=True)
    ends_at: datetime | None = _timestamp(nullable=True)
    weekdays: list[int] | None = Field(
        default=None, sa_column=sa.Column(ARRAY(sa.SmallInteger), nullable=True)
    )
    local_start: time | None = Field(default=None, sa_type=sa.Time)
    duration_seconds: int | None = Field(default=None)
    time_zone: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime | None = _timestamp(nullable=False, default_now=True)


# The tables of what others see (tokens, status pages, incident updates): registered too.
from uptime_core import models_public  # noqa: E402, F401
