"""The one validation error of the core: every problem with some input, each naming its field.

Fields are named as the API spells them (``url``, ``timeoutSeconds``, ``options.headers``,
``config.url``), so the GraphQL layer passes them through as they are. Nothing is written
when one is raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field; `field` uses the API's naming (see the module docstring)."""

    field: str
    message: str


class InvalidFields(ValueError):
    """Input that does not make sense (a target's, a channel's, a maintenance window's): carries
    every problem found, not just the first."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in self.errors))
