"""The static SQL: every statement that Python does not compose, as named blocks of ``*.sql``.

Each file here holds the statements of one concept (``claim.sql``, ``outbox.sql`` ...). A block
starts with a line ``-- name --`` (lower case, digits, ``_``); the ``--`` lines right after it
describe the statement, and the rest up to the next block is the statement, as sent. Names are
unique across the files. They are read once, at import, into ``queries``::

    await connection.fetch(queries["claim_due_targets"], worker_id, limit, margin)

The statements that are composed from fragments (the record statement, uptime, the rollup
upserts, the latency series, the maintenance reads) stay in Python, one module per concept;
``python -m uptime_core.sql docs/sql`` (``make sql``) prints the big ones whole to ``docs/sql/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources

_HEADER = re.compile(r"^-- ([a-z][a-z0-9_]*) --$", re.MULTILINE)
_DESCRIPTION = re.compile(r"\A(?:[ \t]*--[^\n]*\n|[ \t]*\n)*")


class SqlFileError(ValueError):
    """A ``.sql`` file here is malformed: text outside a block, an empty or repeated name."""


class Queries(Mapping[str, str]):
    """Statements by name; a name that no file defines is a ``KeyError`` that says so."""

    def __init__(self, statements: dict[str, str], origins: dict[str, str]) -> None:
        self._statements = statements
        self.origins = origins  # name -> the file that defines it

    def __getitem__(self, name: str) -> str:
        try:
            return self._statements[name]
        except KeyError:
            raise KeyError(f"no SQL statement named {name!r} in uptime_core/sql/*.sql") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._statements)

    def __len__(self) -> int:
        return len(self._statements)


def parse(files: Iterable[tuple[str, str]]) -> Queries:
    """``Queries`` from ``(file name, text)`` pairs; ``SqlFileError`` for a malformed file."""
    statements: dict[str, str] = {}
    origins: dict[str, str] = {}
    for file, text in files:
        parts = _HEADER.split(text)
        if parts[0].strip() and not all(
            line.lstrip().startswith("--") for line in parts[0].strip().splitlines()
        ):
            raise SqlFileError(f"{file}: text before the first '-- name --' line")
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in origins:
                raise SqlFileError(f"{file}: {name!r} is already defined in {origins[name]}")
            statement = _DESCRIPTION.sub("", body).strip()
            if not statement:
                raise SqlFileError(f"{file}: {name!r} has no statement")
            statements[name], origins[name] = statement, file
    return Queries(statements, origins)


def _package_files() -> Iterator[tuple[str, str]]:
    folder = resources.files(__name__)
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if entry.name.endswith(".sql"):
            yield entry.name, entry.read_text(encoding="utf-8")


queries = parse(_package_files())
