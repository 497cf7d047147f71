"""The tables: targets (with their schedule and lease), check results (partitioned by day),
hourly and daily rollups of them, incidents.

Enumerations are stored as short strings with CHECK constraints (no PostgreSQL enum types,
which are awkward to change in migrations). Constraint names follow ``NAMING_CONVENTION`` so
that migrations stay stable.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from uptime_core.probes import CheckStatus, ProbeKind
from uptime_core.stats import HISTOGRAM_COLUMNS

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION


class TargetStatus(enum.StrEnum):
    """A target's confirmed state, which moves only after its thresholds are met."""

    UP = "up"
    DOWN = "down"
    DEGRADED = "degraded"
    PENDING = "pending"
    PAUSED = "paused"
    UNKNOWN = "unknown"


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


class Target(SQLModel, table=True):
    """Something to check, how, how often, and where its schedule stands."""

    __tablename__ = "target"
    __table_args__ = (
        sa.CheckConstraint("interval_seconds > 0", name="interval_positive"),
        sa.CheckConstraint("timeout_seconds > 0", name="timeout_positive"),
        sa.CheckConstraint("port IS NULL OR port BETWEEN 1 AND 65535", name="port_range"),
        sa.CheckConstraint(
            "failure_threshold >= 1 AND recovery_threshold >= 1", name="thresholds_positive"
        ),
        sa.Index("ix_target_next_run_at", "next_run_at", postgresql_where=sa.text("NOT paused")),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    name: str = Field(sa_type=sa.Text)
    kind: ProbeKind = Field(sa_type=_enum(ProbeKind, "probe_kind"))
    url: str | None = Field(default=None, sa_type=sa.Text)
    host: str | None = Field(default=None, sa_type=sa.Text)
    port: int | None = Field(default=None)
    interval_seconds: int = Field(default=60)
    timeout_seconds: float = Field(default=10.0)
    # Kind-specific probe settings, validated and normalised by uptime_core.probes.
    options: dict[str, Any] = Field(
        default_factory=dict,
        sa_column=sa.Column(JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    )
    failure_threshold: int = Field(default=2)
    recovery_threshold: int = Field(default=2)
    paused: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
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
    recording of a slot impossible; it carries status and latency, so statistics over a window
    are index-only scans.
    """

    __tablename__ = "check_result"
    __table_args__ = (
        sa.PrimaryKeyConstraint(
            "target_id", "scheduled_for", postgresql_include=["status", "latency_ms"]
        ),
        {"postgresql_partition_by": "RANGE (scheduled_for)"},
    )

    target_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("target.id", ondelete="CASCADE"), nullable=False
        )
    )
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


def _rollup_table(name: str, period: str) -> sa.Table:
    return sa.Table(
        name,
        SQLModel.metadata,
        sa.Column(
            "target_id",
            sa.BigInteger,
            sa.ForeignKey("target.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("bucket_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("up", sa.Integer, nullable=False),
        sa.Column("degraded", sa.Integer, nullable=False),
        sa.Column("down", sa.Integer, nullable=False),
        sa.Column("latency_count", sa.Integer, nullable=False),
        sa.Column("latency_sum", sa.Float, nullable=False),
        sa.Column("latency_min", sa.Float, nullable=True),
        sa.Column("latency_max", sa.Float, nullable=True),
        # The latency histogram, one column per bucket (see uptime_core/stats.py): summing a
        # window is then a plain aggregate per column, much faster than adding arrays.
        *(
            sa.Column(column, sa.Integer, nullable=False, server_default="0")
            for column in HISTOGRAM_COLUMNS
        ),
        comment=f"Check counts, latency and its histogram per target and {period} (UTC).",
    )


check_rollup_hourly = _rollup_table("check_rollup_hourly", "hour")
check_rollup_daily = _rollup_table("check_rollup_daily", "day")


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
