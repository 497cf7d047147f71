"""Keys: the stable names of targets, notification channels and maintenance windows that a
configuration file refers to (``api-eu``, ``ops-mail``).

A key is lowercase ASCII letters and digits in runs joined by single dashes, at most 63
characters, unique per kind. One given is validated here; one left out is derived from the
name by the database, in the inserting statement (``BEFORE INSERT`` trigger
``derive_key``, created by migration 0005): ``slug(name)``, or ``target-<id>`` (``channel-``,
``window-``) when that is empty, with ``-2`` .. ``-9`` added when taken and then ``-<id>`` (the
row's own id: a few lookups however many rows share a name). The trigger takes
a per-table advisory lock until the transaction ends, on every key written, so concurrent
creates never derive the same key. ``slug`` below is the same rule as the SQL
``uptime_slug`` (tests/core/test_keys.py checks that they agree).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg

from uptime_core.validation import FieldError, InvalidFields

MAX_KEY_LENGTH = 63
KEY_PATTERN = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_OUTSIDE = re.compile(r"[^a-z0-9]+")


def slug(name: str) -> str:
    """``name`` as a key: ASCII letters lowercased, every run of other characters than
    ``a-z0-9`` one dash, no dash at either end, at most 63 characters (may be empty)."""
    dashed = _OUTSIDE.sub("-", name.translate(_ASCII_LOWER)).strip("-")
    return dashed[:MAX_KEY_LENGTH].strip("-")


def key_problem(key: str) -> str | None:
    """Why ``key`` is not a valid key, or None."""
    if len(key) > MAX_KEY_LENGTH:
        return f"must be at most {MAX_KEY_LENGTH} characters"
    if not KEY_PATTERN.fullmatch(key):
        return "must be lowercase letters and digits, in runs joined by single dashes (api-eu-1)"
    return None


def check_key(key: str | None, errors: list[FieldError]) -> None:
    """Add a ``key`` FieldError to ``errors`` when ``key`` is given and not valid."""
    if key is not None and (problem := key_problem(key)) is not None:
        errors.append(FieldError("key", problem))


def validate_key(key: str | None) -> str | None:
    """``key`` unchanged (None: to be derived), or ``InvalidFields`` naming ``key``."""
    errors: list[FieldError] = []
    check_key(key, errors)
    if errors:
        raise InvalidFields(errors)
    return key


@contextmanager
def unique_key(table: str, kind: str) -> Iterator[None]:
    """Answer a key already used in ``table`` as ``InvalidFields`` naming ``key`` (``kind``
    names what uses it: "target", "channel", "maintenance window") instead of the
    database's unique violation."""
    try:
        yield
    except asyncpg.UniqueViolationError as error:
        if getattr(error, "constraint_name", None) != f"uq_{table}_key":
            raise
        raise InvalidFields([FieldError("key", f"is already used by another {kind}")]) from None
