"""Monitors as code: the document of targets, notification channels and maintenance windows
that ``uptime apply`` reads and ``uptime export`` writes (docs/configuration.md).

- ``models.py``: the document's shape (pydantic, camelCase or snake_case, no unknown field)
- ``document.py``: ``parse_document`` / ``parse_documents``: the core's validated fields, or
  one ``InvalidFields`` naming every problem at its path (``paths.py``)
- ``apply.py``: ``apply_document``: the plan of what makes the database match a document,
  written in one transaction, one apply at a time (``uptime apply``)
- ``export.py``: ``export_document``: the database as a document, secrets written as
  ``${NAME}`` references (``uptime export``)
- ``secrets.py``: ``${NAME}`` values read from the environment; ``secret_reference`` names
  the variable export writes for a secret
- ``schema.py``: the JSON Schema, committed as ``docs/uptime.schema.json``
"""

from __future__ import annotations

from uptime_core.configuration.document import (
    ChannelEntry,
    Document,
    TargetEntry,
    WindowEntry,
    parse_document,
    parse_documents,
)
from uptime_core.configuration.export import export_document
from uptime_core.configuration.schema import document_schema, schema_text
from uptime_core.configuration.secrets import secret_reference, substitute

__all__ = [
    "ChannelEntry",
    "Document",
    "TargetEntry",
    "WindowEntry",
    "document_schema",
    "export_document",
    "parse_document",
    "parse_documents",
    "schema_text",
    "secret_reference",
    "substitute",
]
