"""The configuration document (uptime_core/configuration): a valid one parses into the core's
fields; every problem of an invalid one is reported at once, at its path; camelCase and
snake_case read the same; files merge, a key defined in two of them refused. No database."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, time
from typing import Any

import pytest
import yaml
from pydantic.alias_generators import to_snake

from uptime_core.configuration import parse_document, parse_documents, secret_reference, substitute
from uptime_core.configuration.paths import spelled
from uptime_core.enums import ChannelKind, MaintenanceKind
from uptime_core.validation import InvalidFields

DOCUMENT = """
targets:
  - key: api-eu
    name: API (EU)
    kind: http
    url: https://api.example.com/health
    intervalSeconds: 30
    timeoutSeconds: 5
    http:
      method: POST
      headers:
        - {name: Authorization, value: "${API_TOKEN}"}
      body: '{"ping": true}'
      acceptedStatusCodes: ["200-299", 418]
      followRedirects: false
      maxRedirects: 3
      verifyTls: true
      keyword: ok
      jsonAssertion: {path: $.status, operator: "==", value: ok}
      degradedLatencyMs: 800
      certExpiryDays: 14
      ipFamily: ipv4
  - key: www
    kind: http
    url: https://www.example.com/
  - key: docs
    kind: http
    url: https://docs.example.com/
    failureThreshold: 3
    recoveryThreshold: 1
  - key: db
    kind: tcp
    host: db.example.com
    port: 5432
  - key: smtp
    kind: tcp
    host: mail.example.com
    port: 465
    tcp: {tls: true, verifyTls: true, certExpiryDays: 10, degradedLatencyMs: 300, ipFamily: any}
  - key: gateway
    kind: icmp
    host: 192.0.2.1
    icmp: {degradedLatencyMs: 50, ipFamily: ipv4}
channels:
  - key: ops-hook
    kind: webhook
    targets: [api-eu, db]
    reminderIntervalSeconds: 3600
    webhook: {url: https://hooks.example.com/uptime, secret: "${OPS_HOOK_SECRET}"}
  - key: ops-mail
    name: Ops mail
    kind: email
    allTargets: true
    enabled: false
    email:
      host: smtp.example.com
      security: tls
      username: uptime
      password: "$${NOT_A_VARIABLE}"
      from: uptime@example.com
      to: [ops@example.com]
maintenanceWindows:
  - key: nightly-db
    kind: weekly
    target: db
    weekdays: [monday, thursday]
    localStart: "22:00"
    durationSeconds: 3600
    timeZone: Europe/Paris
  - key: migration
    kind: once
    startsAt: 2026-12-01T22:00:00Z
    endsAt: "2026-12-02T01:00:00+00:00"
"""
ENVIRON = {"API_TOKEN": "Bearer abc", "OPS_HOOK_SECRET": "0123456789abcdef-secret"}


def _data() -> Any:
    return yaml.safe_load(DOCUMENT)


def _problems(data: Any, environ: dict[str, str] | None = None) -> dict[str, str]:
    with pytest.raises(InvalidFields) as raised:
        parse_document(data, ENVIRON if environ is None else environ)
    return {error.field: error.message for error in raised.value.errors}


def test_a_valid_document_gives_the_cores_fields() -> None:
    document = parse_document(_data(), ENVIRON, source="monitors.yaml")
    kinds = [t.fields.kind for t in document.targets]
    assert kinds == ["http", "http", "http", "tcp", "tcp", "icmp"]
    api = document.targets[0]
    assert (api.key, api.where) == ("api-eu", "monitors.yaml: targets[0]")
    assert api.fields.name == "API (EU)"
    assert api.fields.interval_seconds == 30
    options = api.fields.options or {}
    assert options["headers"] == {"Authorization": "Bearer abc"}
    assert options["acceptedStatusCodes"] == ["200-299", "418"]
    assert options["jsonAssertion"] == {"path": "$.status", "operator": "==", "value": "ok"}
    assert document.targets[1].fields.name == "www"  # the key, when no name is given
    assert document.targets[4].fields.options == {
        "degradedLatencyMs": 300.0,
        "ipFamily": "any",
        "verifyTls": True,
        "certExpiryDays": 10,
        "tls": True,
    }
    hook, mail = document.channels
    assert hook.fields.kind is ChannelKind.WEBHOOK
    assert hook.fields.config["secret"] == "0123456789abcdef-secret"
    assert hook.target_keys == ("api-eu", "db")
    assert mail.fields.all_targets and not mail.fields.enabled
    assert mail.fields.config["password"] == "${NOT_A_VARIABLE}"  # $$ escapes
    assert mail.fields.config["port"] == 465
    weekly, once = document.maintenance_windows
    assert weekly.fields.kind is MaintenanceKind.WEEKLY
    assert (weekly.target_key, weekly.fields.weekdays) == ("db", [1, 4])
    assert weekly.fields.local_start == time(22, 0)
    assert once.target_key is None
    assert once.fields.starts_at == datetime(2026, 12, 1, 22, tzinfo=UTC)


def test_an_invalid_document_names_every_problem_at_its_path() -> None:
    """Must show 3: a bad port in the fourth target, an unknown field, a duplicate key and a
    missing secret variable, all reported together."""
    data = _data()
    data["targets"][3]["port"] = 70000
    data["targets"][1]["intervl_seconds"] = 30
    data["targets"][2]["key"] = "api-eu"
    data["targets"][0]["http"]["headers"].append({"name": "X-Bad", "value": "a\nb"})
    environ = {"API_TOKEN": "Bearer abc"}
    problems = _problems(data, environ)
    assert problems == {
        "targets[3].port": "must be between 1 and 65535",
        "targets[1].intervl_seconds": "is not a known field",
        "targets[2].key": '"api-eu" is also the key of targets[0]',
        "channels[0].webhook.secret": "the environment variable OPS_HOOK_SECRET is not set",
        "targets[0].http.headers[1].value": problems["targets[0].http.headers[1].value"],
    }
    assert "printable ASCII" in problems["targets[0].http.headers[1].value"]


def test_the_cores_rules_are_the_ones_applied() -> None:
    data = {
        "targets": [
            {"key": "Bad Key", "kind": "http", "url": "ftp://x", "timeoutSeconds": 0},
            {"key": "t", "kind": "tcp", "host": "h", "port": 1, "http": {"method": "GET"}},
            {"key": "h", "kind": "http", "url": "https://h", "http": {"method": "FETCH"}},
            {"key": "p", "kind": "icmp", "host": "h", "failureThreshold": 0},
            "not an object",
            {"kind": "sonar", "host": 5},
        ],
        "channels": [
            {"key": "c", "kind": "slack", "allTargets": True, "targets": ["t", "ghost"]},
            {"key": "e", "kind": "email", "email": {"from": "nobody", "to": []}, "slack": {}},
        ],
        "maintenance_windows": [
            {"key": "w", "kind": "once", "target": "nowhere", "startsAt": "2026-01-02T00:00Z"},
            {"key": "v", "kind": "weekly", "localStart": 1320, "weekdays": ["funday"]},
        ],
        "monitors": [],
    }
    problems = _problems(data)
    assert set(problems) == {
        "targets[0].key",
        "targets[0].url",
        "targets[0].timeoutSeconds",
        "targets[1].http",
        "targets[2].http.method",
        "targets[3].failureThreshold",
        "targets[4]",
        "targets[5].key",
        "targets[5].kind",
        "targets[5].host",
        "channels[0].slack.url",
        "channels[0].targets",
        "channels[0].targets[1]",
        "channels[1].slack",
        "channels[1].email.host",
        "channels[1].email.from",
        "channels[1].email.to",
        "maintenance_windows[0].endsAt",
        "maintenance_windows[0].target",
        "maintenance_windows[1].localStart",
        "maintenance_windows[1].weekdays[0]",
        "monitors",
    }
    assert problems["targets[1].http"] == "does not apply to a tcp target"
    assert problems["targets[4]"] == "must be an object"
    assert problems["targets[5].key"] == "is required"
    assert problems["channels[0].targets"] == "must be empty when allTargets is true"
    assert problems["channels[0].targets[1]"] == 'no target has the key "ghost"'
    assert problems["maintenance_windows[0].target"] == 'no target has the key "nowhere"'
    assert "quote it" in problems["maintenance_windows[1].localStart"]


def _snake(node: Any) -> Any:
    if isinstance(node, list):
        return [_snake(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {to_snake(name): _snake(value) for name, value in node.items()}


def test_camel_case_and_snake_case_give_the_same_document() -> None:
    camel = _data()
    snake = _snake(copy.deepcopy(camel))
    assert "maintenance_windows" in snake and "interval_seconds" in snake["targets"][0]
    from_snake, from_camel = parse_document(snake, ENVIRON), parse_document(camel, ENVIRON)
    assert from_snake.targets == from_camel.targets
    assert from_snake.channels == from_camel.channels
    assert [(w.key, w.fields, w.target_key) for w in from_snake.maintenance_windows] == [
        (w.key, w.fields, w.target_key) for w in from_camel.maintenance_windows
    ]
    assert from_snake.maintenance_windows[0].where == "maintenance_windows[0]"
    # Problems are named as the file spells the field.
    snake["targets"][0]["timeout_seconds"] = 500
    snake["targets"][0]["interval_seconds"] = 1000
    assert _problems(snake) == {"targets[0].timeout_seconds": "must be above 0 and at most 300"}
    camel["targets"][0]["interval_seconds"] = 30
    assert _problems(camel) == {
        "targets[0].interval_seconds": "is given twice (also as intervalSeconds)"
    }


def test_files_merge_and_a_key_in_two_files_is_refused() -> None:
    data = _data()
    first = {"targets": data["targets"][:3]}
    second = {
        "targets": data["targets"][3:],
        "channels": data["channels"],
        "maintenance_windows": data["maintenanceWindows"],
    }
    merged = parse_documents([("a.yaml", first), ("b.yaml", second)], ENVIRON)
    assert merged == parse_documents([("a.yaml", first), ("b.yaml", second)], ENVIRON)
    assert [t.key for t in merged.targets] == ["api-eu", "www", "docs", "db", "smtp", "gateway"]
    assert merged.targets[3].where == "b.yaml: targets[0]"
    assert merged.channels[0].target_keys == ("api-eu", "db")  # across the files
    second["targets"][1]["key"] = "www"
    second["targets"][0]["port"] = 0
    with pytest.raises(InvalidFields) as raised:
        parse_documents([("a.yaml", first), ("b.yaml", second), ("c.yaml", None)], ENVIRON)
    assert {e.field: e.message for e in raised.value.errors} == {
        "b.yaml: targets[1].key": '"www" is also the key of a.yaml: targets[1]',
        "b.yaml: targets[0].port": "must be between 1 and 65535",
    }


def test_the_document_itself_must_be_an_object() -> None:
    assert _problems([1, 2]) == {
        "(document)": "must be an object with targets, channels and maintenanceWindows"
    }
    assert _problems({"targets": {"key": "x"}, "$schema": 1}) == {
        "targets": "must be a list",
        "$schema": "must be text (the schema's address)",
    }
    both = {"maintenance_windows": [], "maintenanceWindows": []}
    assert _problems(both) == {"maintenanceWindows": "is given twice (also as maintenance_windows)"}
    assert parse_document({"$schema": "./uptime.schema.json", "targets": None}, {}).targets == ()


def test_secret_references_are_named_after_the_object() -> None:
    assert secret_reference("channel", "ops-mail", "webhook", "secret") == (
        "${CHANNEL_OPS_MAIL_WEBHOOK_SECRET}"
    )
    assert secret_reference("target", "api-eu", "http", "headers", "X-Api-Key") == (
        "${TARGET_API_EU_HTTP_HEADERS_X_API_KEY}"
    )
    assert secret_reference("target", "api-2", "url") == "${TARGET_API_2_URL}"
    assert secret_reference("channel", "pager", "email", "password") == (
        "${CHANNEL_PAGER_EMAIL_PASSWORD}"
    )
    assert secret_reference("window", "w", "someField") == "${WINDOW_W_SOME_FIELD}"
    # A reference export writes reads back through the environment.
    name = secret_reference("channel", "ops-hook", "webhook", "secret")[2:-1]
    data = _data()
    data["channels"][0]["webhook"]["secret"] = "${" + name + "}"
    document = parse_document(data, {**ENVIRON, name: "s" * 20})
    assert document.channels[0].fields.config["secret"] == "s" * 20


def test_paths_follow_the_files_spelling() -> None:
    raw = {"targets": [{"interval_seconds": 1, "http": {"headers": [{"value": "x"}]}}]}
    assert spelled(raw, ["targets", 0, "intervalSeconds"]) == "targets[0].interval_seconds"
    assert spelled(raw, ["targets", 0, "http", "headers", 0, "value", "str"]) == (
        "targets[0].http.headers[0].value"
    )
    assert spelled(raw, ["targets", 0, "timeoutSeconds"]) == "targets[0].timeoutSeconds"


def test_the_variables_a_document_references_are_those_substitute_reads() -> None:
    from uptime_core.configuration.secrets import referenced

    data = {
        "channels": [{"webhook": {"url": "${HOOK_URL}", "secret": "${HOOK_SECRET}"}}],
        "targets": [{"name": "$${LITERAL}", "http": {"body": "Bearer ${NOT_WHOLE}"}}],
    }
    assert referenced(data) == {"HOOK_URL", "HOOK_SECRET"}
    errors: list[Any] = []
    substitute(data, {}, "", errors)
    assert {e.message.split()[3] for e in errors} == referenced(data)
