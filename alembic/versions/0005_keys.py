"""keys: a stable, unique key on targets, notification channels and maintenance windows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

A key is lowercase letters and digits in runs joined by single dashes, at most 63 characters
(uptime_core/keys.py). Existing rows get one from their name, in id order, by the rule every
later insert that leaves the key out follows (the trigger ``derive_key``): the name's slug
(ASCII letters lowercased, every run of other characters than a-z0-9 one dash, no dash at
either end, cut to 63), ``target-<id>`` (``channel-``, ``window-``) when that is empty, and
``-2`` .. ``-9`` (the first free, the slug cut to stay within 63) when it is taken, then
``-<id>`` (then ``-10``, ``-11``, ... should even that be taken): a few lookups per row however
many rows share a name, so a thousand targets created with one name take no longer than a
thousand with different names.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the prefix of a key derived from a name without letters or digits
TABLES = {"target": "target", "notification_channel": "channel", "maintenance_window": "window"}
KEY_FORMAT = "key ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(key) <= 63"

SLUG = r"""
CREATE FUNCTION uptime_slug(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT btrim(left(btrim(regexp_replace(
               translate(name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),
               '[^a-z0-9]+', '-', 'g'), '-'), 63), '-')
$$
"""

# The first free key in ``tbl`` of ``base``, ``base-2`` .. ``base-9``, ``base-<id>`` (``id``:
# the row's own), then ``base-10``, ``base-11``, ... (the base cut so that the key stays within
# 63 characters). Bounded before the id: a loop over every taken suffix would make n rows of one
# name cost n^2 / 2 lookups (1,000 inserts took 23 s, 3,000 took 219 s).
FREE_KEY = r"""
CREATE FUNCTION uptime_free_key(tbl regclass, base text, id bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    candidate text := base;
    n int := 1;
    suffix text;
    taken boolean;
BEGIN
    LOOP
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE key = $1)', tbl)
            INTO taken USING candidate;
        IF NOT taken THEN
            RETURN candidate;
        END IF;
        n := n + 1;
        suffix := CASE WHEN n <= 9 THEN n::text WHEN n = 10 THEN id::text ELSE (n - 1)::text END;
        candidate := rtrim(left(base, 62 - length(suffix)), '-') || '-' || suffix;
    END LOOP;
END
$$
"""

# Derives NEW.key when it is NULL (TG_ARGV[0]: the prefix for a name without a letter or
# digit). Every key written takes the table's advisory lock until the transaction ends, so a
# derivation waits for any uncommitted key and then sees it: concurrent creates never derive
# the same key.
DERIVE_KEY = r"""
CREATE FUNCTION derive_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1801812339, TG_RELID::int);  -- 1801812339: "keys"
    IF NEW.key IS NULL THEN
        NEW.key := uptime_free_key(
            TG_RELID::regclass,
            coalesce(nullif(uptime_slug(NEW.name), ''), TG_ARGV[0] || '-' || NEW.id),
            NEW.id);
    END IF;
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    for function in (SLUG, FREE_KEY, DERIVE_KEY):
        op.execute(function)
    for table, prefix in TABLES.items():
        op.add_column(table, sa.Column("key", sa.Text(), nullable=True))
        op.create_unique_constraint(op.f(f"uq_{table}_key"), table, ["key"])
        op.execute(
            f"CREATE TRIGGER derive_key BEFORE INSERT ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION derive_key('{prefix}')"
        )
        op.execute(
            f"CREATE TRIGGER derive_key_lock BEFORE UPDATE OF key ON {table} FOR EACH ROW "
            "WHEN (OLD.key IS DISTINCT FROM NEW.key) "
            f"EXECUTE FUNCTION derive_key('{prefix}')"
        )
        # Backfill in id order, one row at a time, by the trigger's rule: each row derives its
        # key as if it were inserted now, after the rows before it.
        op.execute(
            f"""
            DO $$
            DECLARE
                row record;
            BEGIN
                FOR row IN SELECT id, name FROM {table} ORDER BY id LOOP
                    UPDATE {table}
                    SET key = uptime_free_key('{table}', coalesce(
                        nullif(uptime_slug(row.name), ''), '{prefix}-' || row.id), row.id)
                    WHERE id = row.id;
                END LOOP;
            END
            $$
            """
        )
        op.alter_column(table, "key", nullable=False)
        op.create_check_constraint(op.f(f"ck_{table}_key_format"), table, KEY_FORMAT)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER derive_key_lock ON {table}")
        op.execute(f"DROP TRIGGER derive_key ON {table}")
        op.drop_constraint(op.f(f"ck_{table}_key_format"), table, type_="check")
        op.drop_constraint(op.f(f"uq_{table}_key"), table, type_="unique")
        op.drop_column(table, "key")
    op.execute("DROP FUNCTION derive_key()")
    op.execute("DROP FUNCTION uptime_free_key(regclass, text, bigint)")
    op.execute("DROP FUNCTION uptime_slug(text)")
