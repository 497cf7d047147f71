"""schema.graphql is committed and must match the code (run `make schema` to regenerate)."""

from __future__ import annotations

from pathlib import Path

from uptime_graphql.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == schema.as_str() + "\n", (
        "schema.graphql is out of date: run `make schema` and commit it"
    )
