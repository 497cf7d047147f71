"""named API tokens with scopes, status pages, incident updates, public targets

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27

- ``api_token``: a named token's SHA-256 and scope (read, write, admin), revocable; the token
  itself is shown once by ``uptime tokens create`` and never stored.
- ``status_page`` with ``status_page_group`` and ``status_page_target``: public pages at
  ``/status/{slug}`` showing chosen targets in named groups.
- ``incident_update``: an operator's status and message on an incident, for status pages.
- ``target.public``: whether the target's badges (``/badge/{key}/...``) are served.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As of this revision (uptime_core/models_public.py).
WINDOWS = ["LAST_HOUR", "LAST_24_HOURS", "LAST_7_DAYS", "LAST_30_DAYS", "LAST_90_DAYS"]
SLUG_FORMAT = "slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 63"


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False)


def _now(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.add_column(
        "target", sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "api_token",
        _id(),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "scope",
            sa.Enum(
                "read",
                "write",
                "admin",
                name="token_scope",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        _now("created_at"),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
    )
    op.create_index(
        "uq_api_token_name_live",
        "api_token",
        ["name"],
        unique=True,
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    op.create_index("uq_api_token_token_hash", "api_token", ["token_hash"], unique=True)
    op.create_table(
        "status_page",
        _id(),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("show_latency", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "show_uptime_windows",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint(SLUG_FORMAT, name=op.f("ck_status_page_slug_format")),
        sa.CheckConstraint(
            "show_uptime_windows <@ ARRAY["
            + ", ".join(f"'{name}'" for name in WINDOWS)
            + "]::text[]",
            name=op.f("ck_status_page_known_windows"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_page")),
        sa.UniqueConstraint("slug", name=op.f("uq_status_page_slug")),
    )
    op.create_table(
        "status_page_group",
        _id(),
        sa.Column("status_page_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["status_page_id"],
            ["status_page.id"],
            name=op.f("fk_status_page_group_status_page_id_status_page"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_page_group")),
        sa.UniqueConstraint(
            "status_page_id", "position", name=op.f("uq_status_page_group_status_page_id_position")
        ),
    )
    op.create_table(
        "status_page_target",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["status_page_group.id"],
            name=op.f("fk_status_page_target_group_id_status_page_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["target.id"],
            name=op.f("fk_status_page_target_target_id_target"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("group_id", "target_id", name=op.f("pk_status_page_target")),
    )
    op.create_index("ix_status_page_target_target_id", "status_page_target", ["target_id"])
    op.create_table(
        "incident_update",
        _id(),
        sa.Column("incident_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "investigating",
                "identified",
                "monitoring",
                "resolved",
                name="incident_update_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("message", sa.Text(), nullable=False),
        _now("created_at"),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
            name=op.f("fk_incident_update_incident_id_incident"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_update")),
    )
    op.create_index("ix_incident_update_incident_id_id", "incident_update", ["incident_id", "id"])


def downgrade() -> None:
    op.drop_table("incident_update")
    op.drop_table("status_page_target")
    op.drop_table("status_page_group")
    op.drop_table("status_page")
    op.drop_table("api_token")
    op.drop_column("target", "public")
