"""docs/uptime.schema.json is committed and must match the code (`make schema` rewrites it);
the documented examples are valid under it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

from uptime_core.configuration import document_schema, parse_document, schema_text

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "docs" / "uptime.schema.json"
GUIDE = ROOT / "docs" / "configuration.md"


def test_committed_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == schema_text(), (
        "docs/uptime.schema.json is out of date: run `make schema` and commit it"
    )


def test_the_schema_is_valid_and_named() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] and schema["title"] and schema["description"]
    target = schema["$defs"]["TargetSpec"]["properties"]
    assert target["intervalSeconds"] == target["interval_seconds"]
    assert target["key"]["pattern"] == "^[a-z0-9]+(-[a-z0-9]+)*$"


def _examples() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)


def test_the_guides_examples_are_valid_documents() -> None:
    validator = jsonschema.Draft202012Validator(document_schema())
    examples = _examples()
    assert len(examples) >= 3
    for text in examples:
        data = yaml.safe_load(text)
        assert not list(validator.iter_errors(data)), text
        names = set(re.findall(r"\$\{([A-Z0-9_]+)\}", text))
        environ = {
            n: "https://hooks.example.com/x" if n.endswith("URL") else "s" * 24 for n in names
        }
        parse_document(data, environ)
    assert list(validator.iter_errors({"targets": [{"key": "x", "kind": "tcp", "bad": 1}]}))
