"""Schema migrations (Alembic): upgrade, downgrade, and where a database stands."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from uptime_core.retention import PARTITION_NAME

# pg_advisory_xact_lock key held while migrating ("uptime" in ASCII).
MIGRATION_LOCK_ID = 0x757074696D65


def scripts_dir() -> Path:
    """The migration scripts: inside the installed package, or ``alembic/`` in a checkout."""
    packaged = Path(__file__).parent.parent / "_alembic"
    if (packaged / "env.py").exists():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "alembic"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate ignores the day partitions of check_result: they are made at run time."""
    return not (type_ == "table" and name is not None and PARTITION_NAME.match(name))


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for ``url`` that needs no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(scripts_dir()))
    if url is not None:
        config.attributes["database_url"] = url
    return config


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {scripts_dir()}")
    return head


# Read directly rather than through Alembic's MigrationContext, which logs two INFO lines on
# every readiness probe.
TABLE_EXISTS_SQL = "SELECT to_regclass('alembic_version') IS NOT NULL"
CURRENT_REVISION_SQL = "SELECT max(version_num) FROM alembic_version"


async def current_revision(connection: asyncpg.Connection | asyncpg.Pool) -> str | None:
    """The revision a database is at (None before the first migration)."""
    if not await connection.fetchval(TABLE_EXISTS_SQL):
        return None
    revision: str | None = await connection.fetchval(CURRENT_REVISION_SQL)
    return revision


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (blocking: call from a thread in async code)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database down to ``revision`` (blocking)."""
    command.downgrade(alembic_config(url), revision)
