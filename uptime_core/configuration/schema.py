"""The JSON Schema of the document, generated from ``models.py`` and committed as
``docs/uptime.schema.json`` (``python -m uptime_core.configuration docs/uptime.schema.json``,
run by ``make schema``; tests/core/test_configuration_schema.py fails when it drifts).

Editors use it to complete and check files. pydantic writes each field once, camelCase; the
document accepts snake_case too, so every camelCase property gets its snake_case twin.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic.alias_generators import to_snake

from uptime_core.configuration.models import DocumentSpec

SCHEMA_ID = "urn:uptime:configuration:v1"
TITLE = "uptime monitors as code"


def _with_snake_case(node: Any) -> Any:
    if isinstance(node, list):
        return [_with_snake_case(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {name: _with_snake_case(value) for name, value in node.items()}
    properties = result.get("properties")
    if isinstance(properties, dict) and "type" in result:
        twins: dict[str, Any] = {}
        for name, value in properties.items():
            twins[name] = value
            snake = to_snake(name)
            if snake != name and snake not in properties:
                twins[snake] = copy.deepcopy(value)
        result["properties"] = twins
    return result


def document_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a configuration document."""
    generated = DocumentSpec.model_json_schema(by_alias=True, mode="validation")
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **generated,
        "title": TITLE,
    }
    return dict(_with_snake_case(schema))


def schema_text() -> str:
    """The committed file's text: the schema as indented JSON, one final newline."""
    return json.dumps(document_schema(), indent=2, ensure_ascii=False) + "\n"
