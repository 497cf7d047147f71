"""The tables of what others see: named API tokens with scopes, public status pages (their
groups of targets) and operators' updates on incidents (migration 0009).

``models.py`` describes the monitoring tables and imports this module, so that importing it
registers every table on ``SQLModel.metadata`` (for Alembic).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from uptime_core.enums import IncidentUpdateStatus, TokenScope, UptimeWindow
from uptime_core.models import _enum, _timestamp

# The windows a status page may show, by their GraphQL names.
STATUS_PAGE_WINDOWS = [window.name for window in UptimeWindow]
SLUG_FORMAT = "slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 63"


class ApiToken(SQLModel, table=True):
    """A named token: its SHA-256 (the token itself is shown once, never stored), its scope,
    and when it was revoked (a revoked token stops working at once; its row stays, so that
    logs naming it can still be read). Names are unique among live tokens."""

    __tablename__ = "api_token"
    __table_args__ = (
        sa.Index(
            "uq_api_token_name_live",
            "name",
            unique=True,
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
        sa.Index("uq_api_token_token_hash", "token_hash", unique=True),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    name: str = Field(sa_type=sa.Text)
    scope: TokenScope = Field(sa_type=_enum(TokenScope, "token_scope"))
    token_hash: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime | None = _timestamp(nullable=False, default_now=True)
    revoked_at: datetime | None = _timestamp(nullable=True)


class StatusPage(SQLModel, table=True):
    """A public page at ``/status/{slug}``: groups of targets, with only the names and figures
    chosen for it."""

    __tablename__ = "status_page"
    __table_args__ = (
        sa.UniqueConstraint("slug"),
        sa.CheckConstraint(SLUG_FORMAT, name="slug_format"),
        sa.CheckConstraint(
            "show_uptime_windows <@ ARRAY["
            + ", ".join(f"'{name}'" for name in STATUS_PAGE_WINDOWS)
            + "]::text[]",
            name="known_windows",
        ),
    )

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    slug: str = Field(sa_type=sa.Text)
    title: str = Field(sa_type=sa.Text)
    description: str | None = Field(default=None, sa_type=sa.Text)
    show_latency: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # UptimeWindow names (LAST_24_HOURS ...), in the order shown.
    show_uptime_windows: list[str] = Field(
        default_factory=list,
        sa_column=sa.Column(ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'::text[]")),
    )
    created_at: datetime | None = _timestamp(nullable=False, default_now=True)
    updated_at: datetime | None = _timestamp(nullable=False, default_now=True)


class StatusPageGroup(SQLModel, table=True):
    """A named group of targets on a status page, in page order."""

    __tablename__ = "status_page_group"
    __table_args__ = (sa.UniqueConstraint("status_page_id", "position"),)

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    status_page_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("status_page.id", ondelete="CASCADE"), nullable=False
        )
    )
    position: int = Field(sa_type=sa.SmallInteger)
    name: str = Field(sa_type=sa.Text)


class StatusPageTarget(SQLModel, table=True):
    """A target in a group, in group order."""

    __tablename__ = "status_page_target"
    __table_args__ = (sa.Index("ix_status_page_target_target_id", "target_id"),)

    group_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger,
            sa.ForeignKey("status_page_group.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    target_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("target.id", ondelete="CASCADE"), primary_key=True
        )
    )
    position: int = Field(sa_type=sa.SmallInteger)


class IncidentUpdate(SQLModel, table=True):
    """An operator's word on an incident (``postIncidentUpdate``), shown on status pages and
    in their feeds in the order posted."""

    __tablename__ = "incident_update"
    __table_args__ = (sa.Index("ix_incident_update_incident_id_id", "incident_id", "id"),)

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    incident_id: int = Field(
        sa_column=sa.Column(
            sa.BigInteger, sa.ForeignKey("incident.id", ondelete="CASCADE"), nullable=False
        )
    )
    status: IncidentUpdateStatus = Field(
        sa_type=_enum(IncidentUpdateStatus, "incident_update_status")
    )
    message: str = Field(sa_type=sa.Text)
    created_at: datetime | None = _timestamp(nullable=False, default_now=True)
