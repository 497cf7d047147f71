"""results and rollups without foreign keys; room on the pages of rows updated every check

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

Every recorded check inserted a ``check_result`` row whose foreign key to ``target`` was
checked by a trigger (``SELECT ... FOR KEY SHARE`` on the target row, which the same statement
had just locked and updated): 13 µs of PostgreSQL's CPU per check out of 24 for the insert
(docs/scaling.md). The key guarded nothing the record statement does not: it inserts only for
a target row it holds locked (fencing). The foreign keys of ``check_result`` and of the rollup
and histogram tables go; deleting a target deletes its rows explicitly
(``targets.delete_target``, after locking the target row, so that no check of it is recorded
in between).

``fillfactor`` 70 on ``target`` and the rollup and histogram tables: a claim writes a target
row without changing an indexed column, and a rollup upsert adds to a row without changing its
key, so each can be a heap-only (HOT) update when the page has room, with no new index entries.
It applies to pages written from now on; ``VACUUM FULL`` rewrites old ones at once.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DERIVED = [
    "check_result",
    "check_rollup_hourly",
    "check_rollup_daily",
    "check_histogram_hourly",
    "check_histogram_daily",
]
UPDATED_EVERY_CHECK = [
    "target",
    "check_rollup_hourly",
    "check_rollup_daily",
    "check_histogram_hourly",
    "check_histogram_daily",
]
FILLFACTOR = 70  # models.UPDATED_EVERY_CHECK_FILLFACTOR, as of this revision


def upgrade() -> None:
    for table in DERIVED:
        op.drop_constraint(op.f(f"fk_{table}_target_id_target"), table, type_="foreignkey")
    for table in UPDATED_EVERY_CHECK:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    for table in UPDATED_EVERY_CHECK:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    for table in DERIVED:
        # Rows of targets deleted without the key to cascade would fail it.
        op.execute(
            f"DELETE FROM {table} AS x WHERE NOT EXISTS "
            "(SELECT 1 FROM target AS t WHERE t.id = x.target_id)"
        )
        op.create_foreign_key(
            op.f(f"fk_{table}_target_id_target"),
            table,
            "target",
            ["target_id"],
            ["id"],
            ondelete="CASCADE",
        )
