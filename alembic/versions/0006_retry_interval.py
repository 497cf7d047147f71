"""retry interval: how soon the checks that confirm a change come

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

``target.retry_interval_seconds``: after a failing check that has not yet made the target DOWN,
and while a DOWN target's passing checks have not yet reached the recovery threshold, the next
slot is the slot plus this many seconds instead of ``interval_seconds`` (docs/architecture.md,
"Scheduling"). NULL is the default, ``least(interval_seconds, 10)``, computed where it is used,
so a target that changes its interval keeps the default that goes with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK = "retry_interval_seconds IS NULL OR retry_interval_seconds > 0"


def upgrade() -> None:
    op.add_column("target", sa.Column("retry_interval_seconds", sa.Integer(), nullable=True))
    op.create_check_constraint(op.f("ck_target_retry_interval_positive"), "target", CHECK)


def downgrade() -> None:
    op.drop_constraint(op.f("ck_target_retry_interval_positive"), "target", type_="check")
    op.drop_column("target", "retry_interval_seconds")
