"""The ``key`` field every create and update input has (targets, channels, windows)."""

from __future__ import annotations

from typing import Any

import strawberry

_FORMAT = "lowercase letters and digits in runs joined by single dashes, at most 63 characters"


def key_on_create() -> Any:
    """``key`` on a create input: optional; left out, the database derives it from the name."""
    return strawberry.field(
        default=None,
        description=f"{_FORMAT[:1].upper()}{_FORMAT[1:]}, unique; null or absent: derived from "
        "the name.",
    )


def key_on_update() -> Any:
    """``key`` on an update input: absent keeps it."""
    return strawberry.field(default=strawberry.UNSET, description=f"A new key ({_FORMAT}, unique).")
