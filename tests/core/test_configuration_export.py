"""``export_document``: the database as a configuration document. No secret is written, each
is the ``${NAME}`` that ``secret_reference`` names; reading the export back with those
variables set gives exactly the stored fields of every target, channel and window; literal
``${...}`` text is escaped; the document is valid under docs/uptime.schema.json."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg
import jsonschema
import pytest

from uptime_core.alerting.channels import (
    ChannelFields,
    ChannelRow,
    channel_by_id,
    create_channel,
    validate_channel_config,
)
from uptime_core.configuration import (
    Document,
    export_document,
    parse_document,
    secret_reference,
)
from uptime_core.configuration.export import _local_time
from uptime_core.enums import ChannelKind, MaintenanceKind
from uptime_core.maintenance import MaintenanceFields, MaintenanceRow, create_window
from uptime_core.runtime.db import create_pool
from uptime_core.runtime.settings import Settings
from uptime_core.targets import TargetFields, TargetRow, create_target, validate

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "uptime.schema.json"

TOKEN = "Bearer tok-secret-1-abcdef"
API_KEY = "key-secret-2-abcdef"
BASIC_URL = "https://monitor:url-secret-3-abcdef@basic.example.com/status?full=1"
HOOK_URL = "https://hooks.example.com/uptime/hook-secret-4-abcdef"
HOOK_SECRET = "webhook-signing-secret-5-abcdef"
SMTP_PASSWORD = "smtp-secret-6-abcdef"
SLACK_URL = "https://hooks.slack.com/services/slack-secret-7-abcdef"
BODY = '{"ping": true, "token": "body-secret-8-abcdef"}'
SECRETS = (
    BODY,
    TOKEN,
    API_KEY,
    BASIC_URL,
    HOOK_URL,
    HOOK_SECRET,
    SMTP_PASSWORD,
    SLACK_URL,
    "application/json",
)
# Each secret's reference, by the rule of docs/configuration.md (without the ${ }).
REFERENCES = {
    secret_reference("target", "api", "http", "headers", "Authorization"): TOKEN,
    secret_reference("target", "api", "http", "headers", "X-Api-Key"): API_KEY,
    secret_reference("target", "api", "http", "headers", "Accept"): "application/json",
    secret_reference("target", "api", "http", "body"): BODY,
    secret_reference("target", "basic", "url"): BASIC_URL,
    secret_reference("channel", "ops-hook", "webhook", "url"): HOOK_URL,
    secret_reference("channel", "ops-hook", "webhook", "secret"): HOOK_SECRET,
    secret_reference("channel", "ops-mail", "email", "password"): SMTP_PASSWORD,
    secret_reference("channel", "team-slack", "slack", "url"): SLACK_URL,
}
ENVIRON = {reference[2:-1]: value for reference, value in REFERENCES.items()}


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, Settings(database_url=database_url, db_pool_size=4))
    yield pool
    await pool.close()


@dataclass
class Stored:
    targets: dict[str, TargetRow]
    channels: dict[str, ChannelRow]
    windows: dict[str, MaintenanceRow]


TARGETS = [
    TargetFields(
        name="API (EU)",
        key="api",
        kind="http",
        url="https://api.example.com/health",
        interval_seconds=30,
        timeout_seconds=5,
        options={
            "method": "POST",
            "headers": [
                {"name": "Authorization", "value": TOKEN},
                {"name": "X-Api-Key", "value": API_KEY},
                {"name": "Accept", "value": "application/json"},
            ],
            "body": BODY,
        },
    ),
    # A name that reads as a reference: written escaped.
    TargetFields(name="${HOME}", key="basic", kind="http", url=BASIC_URL),
    TargetFields(
        name="Shop",
        key="shop",
        kind="http",
        url="https://shop.example.com/api/state",
        interval_seconds=120,
        timeout_seconds=7.5,
        failure_threshold=3,
        recovery_threshold=1,
        retry_interval_seconds=5,
        options={
            "acceptedStatusCodes": ["200-299", "418"],
            "keyword": "${KEYWORD}",
            "keywordAbsent": True,
            "jsonAssertion": {"path": "$.state", "operator": "==", "value": "${STATE}"},
            "followRedirects": False,
            "maxRedirects": 3,
            "verifyTls": False,
            "degradedLatencyMs": 800.5,
            "certExpiryDays": 14,
            "ipFamily": "ipv4",
        },
    ),
    TargetFields(name="Database", key="db", kind="tcp", host="db.example.com", port=5432),
    TargetFields(
        name="Mail",
        key="smtp",
        kind="tcp",
        host="mail.example.com",
        port=465,
        options={
            "tls": True,
            "verifyTls": False,
            "certExpiryDays": 10,
            "degradedLatencyMs": 300,
            "ipFamily": "ipv6",
        },
    ),
    TargetFields(
        name="Gateway",
        key="gateway",
        kind="icmp",
        host="192.0.2.1",
        options={"degradedLatencyMs": 50},
    ),
]


async def _fill(pool: asyncpg.Pool) -> Stored:
    targets = {fields.key or "": await create_target(pool, fields) for fields in TARGETS}
    ids = {key: row.id for key, row in targets.items()}
    channel_fields = [
        ChannelFields(
            name="Ops hook",
            key="ops-hook",
            kind=ChannelKind.WEBHOOK,
            config=validate_channel_config(
                ChannelKind.WEBHOOK, {"url": HOOK_URL, "secret": HOOK_SECRET}
            ),
            all_targets=False,
            enabled=True,
            reminder_interval_seconds=3600,
            target_ids=[ids["db"], ids["api"]],
        ),
        ChannelFields(
            name="Ops mail",
            key="ops-mail",
            kind=ChannelKind.EMAIL,
            config=validate_channel_config(
                ChannelKind.EMAIL,
                {
                    "host": "smtp.example.com",
                    "security": "tls",
                    "username": "uptime",
                    "password": SMTP_PASSWORD,
                    "from_address": "uptime@example.com",
                    "to_addresses": ["ops@example.com", "oncall@example.com"],
                },
            ),
            all_targets=True,
            enabled=False,
            reminder_interval_seconds=None,
            target_ids=[],
        ),
        ChannelFields(
            name="Team Slack",
            key="team-slack",
            kind=ChannelKind.SLACK,
            config=validate_channel_config(ChannelKind.SLACK, {"url": SLACK_URL}),
            all_targets=False,
            enabled=True,
            reminder_interval_seconds=None,
            target_ids=[ids["gateway"]],
        ),
    ]
    channels = {}
    for channel in channel_fields:
        created = await create_channel(pool, channel)
        # Read again: the row as stored, its targets included.
        channels[created.key] = await channel_by_id(pool, created.id)
    windows = {}
    for window in (
        MaintenanceFields(
            name="Nightly database backup",
            key="nightly-db",
            target_id=ids["db"],
            kind=MaintenanceKind.WEEKLY,
            weekdays=[4, 1],
            local_start=time(22, 0),
            duration_seconds=3600,
            time_zone="Europe/Paris",
        ),
        MaintenanceFields(
            name="Migration",
            key="migration",
            target_id=None,
            kind=MaintenanceKind.ONCE,
            starts_at=datetime(2026, 12, 1, 23, 0, tzinfo=timezone(timedelta(hours=1))),
            ends_at=datetime(2026, 12, 2, 1, 0, 30, 250000, tzinfo=UTC),
        ),
    ):
        created_window = await create_window(pool, window)
        windows[created_window.key] = created_window
    return Stored(targets, {k: v for k, v in channels.items() if v is not None}, windows)


def _by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in items}


def _comparable(target: TargetFields) -> tuple[TargetFields, str]:
    # Options as JSON text: in Python 1 == 1.0 == True, in a stored option they differ.
    return replace(target, options=None), json.dumps(target.options, sort_keys=True)


async def test_export_writes_no_secret_and_reads_back_as_stored(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    stored = await _fill(pool)
    exported = await export_document(pool)
    text = json.dumps(exported)

    # (1) No secret, nor any part of one, is written.
    for secret in SECRETS:
        assert secret not in text
    for fragment in ("secret-1", "secret-2", "secret-3", "secret-4", "secret-5", "secret-6"):
        assert fragment not in text
    assert "secret-7" not in text and "secret-8" not in text

    # (2) Each is the reference the rule names, where the secret was.
    targets = _by_key(exported["targets"])
    channels = _by_key(exported["channels"])
    windows = _by_key(exported["maintenanceWindows"])
    assert sorted(exported) == ["channels", "maintenanceWindows", "targets"]
    assert list(targets) == sorted(targets) == ["api", "basic", "db", "gateway", "shop", "smtp"]
    assert list(channels) == ["ops-hook", "ops-mail", "team-slack"]
    assert list(windows) == ["migration", "nightly-db"]
    headers = {h["name"]: h["value"] for h in targets["api"]["http"]["headers"]}
    assert headers == {
        "Authorization": "${TARGET_API_HTTP_HEADERS_AUTHORIZATION}",
        "X-Api-Key": "${TARGET_API_HTTP_HEADERS_X_API_KEY}",
        # Every header value is write-only: not only the ones that look secret.
        "Accept": "${TARGET_API_HTTP_HEADERS_ACCEPT}",
    }
    # The body is write-only in the API too (it may carry a credential).
    assert targets["api"]["http"]["body"] == "${TARGET_API_HTTP_BODY}"
    assert targets["api"]["url"] == "https://api.example.com/health"
    assert targets["basic"]["url"] == "${TARGET_BASIC_URL}"
    assert channels["ops-hook"]["webhook"] == {
        "url": "${CHANNEL_OPS_HOOK_WEBHOOK_URL}",
        "secret": "${CHANNEL_OPS_HOOK_WEBHOOK_SECRET}",
    }
    assert channels["team-slack"]["slack"] == {"url": "${CHANNEL_TEAM_SLACK_SLACK_URL}"}
    assert channels["ops-mail"]["email"] == {
        "host": "smtp.example.com",
        "security": "tls",
        "port": 465,
        "username": "uptime",
        "password": "${CHANNEL_OPS_MAIL_EMAIL_PASSWORD}",
        "from": "uptime@example.com",
        "to": ["ops@example.com", "oncall@example.com"],
    }

    # Literal text that reads as a reference is escaped; the rest as the document spells it.
    assert targets["basic"]["name"] == "$${HOME}"
    shop = targets["shop"]
    assert shop["http"]["keyword"] == "$${KEYWORD}"
    assert shop["http"]["jsonAssertion"] == {
        "path": "$.state",
        "operator": "==",
        "value": "$${STATE}",
    }
    assert shop["http"]["acceptedStatusCodes"] == ["200-299", "418"]
    assert shop["retryIntervalSeconds"] == 5 and "retryIntervalSeconds" not in targets["db"]
    assert "http" not in targets["db"] and "url" not in targets["db"]
    assert targets["smtp"]["tcp"] == {
        "tls": True,
        "verifyTls": False,
        "certExpiryDays": 10,
        "degradedLatencyMs": 300,
        "ipFamily": "ipv6",
    }
    assert targets["gateway"]["icmp"] == {"degradedLatencyMs": 50, "ipFamily": "any"}
    assert channels["ops-hook"]["targets"] == ["api", "db"]
    assert "allTargets" not in channels["ops-hook"]
    assert channels["ops-mail"]["allTargets"] is True and "targets" not in channels["ops-mail"]
    assert channels["ops-mail"]["enabled"] is False
    assert windows["nightly-db"] == {
        "key": "nightly-db",
        "name": "Nightly database backup",
        "kind": "weekly",
        "target": "db",
        "weekdays": ["monday", "thursday"],
        "localStart": "22:00",
        "durationSeconds": 3600,
        "timeZone": "Europe/Paris",
    }
    assert windows["migration"]["startsAt"] == "2026-12-01T22:00:00+00:00"
    assert windows["migration"]["endsAt"] == "2026-12-02T01:00:30.250000+00:00"
    assert "target" not in windows["migration"]

    # (3) The round trip: read back with the secrets set, every stored field comes back.
    document = parse_document(json.loads(text), ENVIRON)
    _assert_same(document, stored)

    # The same document through a connection without the jsonb codec, and in a transaction.
    assert await export_document(db) == exported
    async with db.transaction():
        assert await export_document(db) == exported

    # (5) Valid under the committed JSON Schema.
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_FILE.read_text()))
    assert not [error.message for error in validator.iter_errors(exported)]


def _assert_same(document: Document, stored: Stored) -> None:
    assert [entry.key for entry in document.targets] == sorted(stored.targets)
    for entry in document.targets:
        row = stored.targets[entry.key]
        as_stored = TargetFields(**{f.name: getattr(row, f.name) for f in fields(TargetFields)})
        assert _comparable(entry.fields) == _comparable(validate(as_stored)), entry.key
        assert _comparable(entry.fields) == _comparable(as_stored), entry.key
    ids = {row.id: key for key, row in stored.targets.items()}

    assert [entry.key for entry in document.channels] == sorted(stored.channels)
    for channel in document.channels:
        stored_channel = stored.channels[channel.key]
        assert channel.fields == ChannelFields(
            name=stored_channel.name,
            kind=stored_channel.kind,
            config=stored_channel.config,
            all_targets=stored_channel.all_targets,
            enabled=stored_channel.enabled,
            reminder_interval_seconds=stored_channel.reminder_interval_seconds,
            target_ids=[],
            key=stored_channel.key,
        )
        assert channel.target_keys == tuple(sorted(ids[i] for i in stored_channel.target_ids))

    assert [entry.key for entry in document.maintenance_windows] == sorted(stored.windows)
    for window in document.maintenance_windows:
        stored_window = stored.windows[window.key]
        as_given = MaintenanceFields(
            **{f.name: getattr(stored_window, f.name) for f in fields(MaintenanceFields)}
        )
        assert window.fields == replace(as_given, target_id=None)
        for name in ("starts_at", "ends_at"):
            value = getattr(window.fields, name)
            assert value is None or value.utcoffset() is not None
        expected_key = None if stored_window.target_id is None else ids[stored_window.target_id]
        assert window.target_key == expected_key


async def test_export_of_an_empty_database_is_three_empty_lists(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    empty: dict[str, list[Any]] = {"targets": [], "channels": [], "maintenanceWindows": []}
    assert await export_document(pool) == empty
    assert await export_document(db) == empty


async def test_two_secrets_the_rule_names_alike_get_two_references(pool: asyncpg.Pool) -> None:
    headers = [{"name": "X-Key", "value": "first-secret"}, {"name": "X_Key", "value": "second"}]
    await create_target(
        pool,
        TargetFields(
            name="Twice",
            key="twice",
            kind="http",
            url="https://twice.example.com/",
            options={"headers": headers},
        ),
    )
    exported = await export_document(pool)
    written = {h["name"]: h["value"] for h in exported["targets"][0]["http"]["headers"]}
    assert written == {
        "X-Key": "${TARGET_TWICE_HTTP_HEADERS_X_KEY}",
        "X_Key": "${TARGET_TWICE_HTTP_HEADERS_X_KEY_2}",
    }
    environ = {"TARGET_TWICE_HTTP_HEADERS_X_KEY": "first-secret"}
    environ["TARGET_TWICE_HTTP_HEADERS_X_KEY_2"] = "second"
    (entry,) = parse_document(exported, environ).targets
    assert entry.fields.options is not None
    assert entry.fields.options["headers"] == {"X-Key": "first-secret", "X_Key": "second"}


async def test_text_that_no_spelling_reads_back_as_is_refused(pool: asyncpg.Pool) -> None:
    # `$${HOME}` reads as `${HOME}`, and `$$${HOME}` as itself: `$${HOME}` has no spelling.
    await create_target(pool, TargetFields(name="$${HOME}", key="odd", kind="icmp", host="::1"))
    with pytest.raises(ValueError, match=r"targets\[odd\]\.name"):
        await export_document(pool)


def test_local_times_keep_their_seconds_only_when_they_have_some() -> None:
    assert _local_time(time(22, 0)) == "22:00"
    assert _local_time(time(6, 5, 30)) == "06:05:30"
    assert _local_time(None) is None
