"""The database written out as a configuration document: what ``uptime export`` prints.

``export_document`` reads every target, notification channel and maintenance window (in one
snapshot) and returns the document that ``parse_document`` reads back into the very fields
stored: the round trip is the contract. Fields are camelCase as the models' aliases, each list
in key order, absent values left out; channels name their targets by key (or say
``allTargets``), a window its target.

Secrets are never written. Each write-only value (a webhook's ``url`` and ``secret``, a Slack
``url``, an SMTP ``password``, every request header's value and the request body, a target URL
that holds a password) is written as the ``${NAME}`` that ``secret_reference`` names, so the
file says which variables ``uptime apply`` needs. Two different secrets that the rule would give
one name (a header ``X-Key`` and a header ``X_Key``) are told apart by a suffix, ``_2``,
``_3``... Other text that would read as a reference, ``${NAME}``, is written ``$${NAME}``; the
text ``$${NAME}`` itself has no spelling that reads back as it is, so it is refused.

What the document has no field for (a target's pause, states, history) is not written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, time
from typing import Any

import asyncpg
from pydantic.alias_generators import to_camel

from uptime_core.configuration.models import WEEKDAYS
from uptime_core.configuration.secrets import secret_reference, substitute
from uptime_core.enums import ChannelKind
from uptime_core.probes.validation import split_url
from uptime_core.runtime.db import acquired
from uptime_core.validation import FieldError

# A channel's config fields as the document spells them where camelCase is not enough, and
# the fields of each kind that are written as references.
_CHANNEL_FIELDS = {"from_address": "from", "to_addresses": "to"}
_CHANNEL_SECRETS: dict[str, tuple[str, ...]] = {
    ChannelKind.WEBHOOK.value: ("url", "secret"),
    ChannelKind.SLACK.value: ("url",),
    ChannelKind.EMAIL.value: ("password",),
}

_TARGETS = """
SELECT id, key, name, kind, url, host, port, interval_seconds, timeout_seconds,
       failure_threshold, recovery_threshold, retry_interval_seconds, public, options
FROM target
"""
_CHANNELS = """
SELECT c.key, c.name, c.kind, c.config, c.all_targets, c.enabled, c.reminder_interval_seconds,
       coalesce((SELECT array_agg(ct.target_id) FROM channel_target AS ct
                 WHERE ct.channel_id = c.id), '{}') AS target_ids
FROM notification_channel AS c
"""
_WINDOWS = """
SELECT key, name, target_id, kind, starts_at, ends_at, weekdays, local_start,
       duration_seconds, time_zone
FROM maintenance_window
"""


async def export_document(connection: asyncpg.Connection | asyncpg.Pool) -> dict[str, Any]:
    """Every target, channel and maintenance window as a JSON-serialisable document
    (``{"targets": [...], "channels": [...], "maintenanceWindows": [...]}``, each list
    ordered by key), secrets written as ``${NAME}`` references. Read in one snapshot: in the
    caller's transaction if ``connection`` is in one, else in a read-only repeatable-read
    one. Raises ``ValueError`` for a value that cannot be written (the text ``$${NAME}``)."""
    async with acquired(connection) as held:
        if held.is_in_transaction():
            rows = await _read(held)
        else:
            async with held.transaction(isolation="repeatable_read", readonly=True):
                rows = await _read(held)
    return _Writer().document(*rows)


async def _read(
    connection: asyncpg.Connection,
) -> tuple[list[asyncpg.Record], list[asyncpg.Record], list[asyncpg.Record]]:
    return (
        await connection.fetch(_TARGETS),
        await connection.fetch(_CHANNELS),
        await connection.fetch(_WINDOWS),
    )


def _json(value: Any) -> Any:
    """A jsonb value: decoded already where the connection has the codec, else text."""
    return json.loads(value) if isinstance(value, str) else value


def _by_key(rows: Sequence[asyncpg.Record]) -> list[asyncpg.Record]:
    # In Python, not SQL: the database's collation may order "a-b" and "ab" either way.
    return sorted(rows, key=lambda row: str(row["key"]))


def _reads_as(text: str) -> str | None:
    """What ``parse_document`` makes of ``text``, or None where it is a reference."""
    errors: list[FieldError] = []
    read = substitute(text, {}, "", errors)
    return None if errors else str(read)


class _Writer:
    """One export: the references it has handed out, so that two secrets never share one."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # reference name -> the secret it stands for

    def document(
        self,
        targets: Sequence[asyncpg.Record],
        channels: Sequence[asyncpg.Record],
        windows: Sequence[asyncpg.Record],
    ) -> dict[str, Any]:
        keys = {row["id"]: row["key"] for row in targets}
        return {
            "targets": [self.target(row) for row in _by_key(targets)],
            "channels": [self.channel(row, keys) for row in _by_key(channels)],
            "maintenanceWindows": [self.window(row, keys) for row in _by_key(windows)],
        }

    # -- values --------------------------------------------------------------------------------

    def plain(self, value: Any, where: str) -> Any:
        """``value`` (JSON) with every text that would read as a reference escaped."""
        if isinstance(value, str):
            if _reads_as(value) == value:
                return value
            if _reads_as("$" + value) == value:
                return "$" + value
            raise ValueError(
                f"{where}: the text {value!r} cannot be written in a document (it would be "
                "read as another text): change it before exporting"
            )
        if isinstance(value, list):
            return [self.plain(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if isinstance(value, dict):
            return {name: self.plain(item, f"{where}.{name}") for name, item in value.items()}
        return value

    def secret(self, value: str, kind: str, key: str, *field: str | int) -> str:
        """The reference written for the secret ``value``: ``secret_reference``'s name, with a
        suffix when that name already stands for another secret in this export."""
        name = secret_reference(kind, key, *field)[2:-1]
        chosen, number = name, 1
        while self.secrets.get(chosen, value) != value:
            number += 1
            chosen = f"{name}_{number}"
        self.secrets[chosen] = value
        return "${" + chosen + "}"

    def fields(self, values: Mapping[str, Any], where: str) -> dict[str, Any]:
        """The fields of ``values`` that are set, each escaped as ``plain`` does."""
        return {
            name: self.plain(value, f"{where}.{name}")
            for name, value in values.items()
            if value is not None
        }

    # -- objects -------------------------------------------------------------------------------

    def target(self, row: asyncpg.Record) -> dict[str, Any]:
        key, kind, url = row["key"], row["kind"], row["url"]
        where = f"targets[{key}]"
        spec = self.fields(
            {
                "key": key,
                "name": row["name"],
                "kind": kind,
                "url": url,
                "host": row["host"],
                "port": row["port"],
                "intervalSeconds": row["interval_seconds"],
                "timeoutSeconds": row["timeout_seconds"],
                "failureThreshold": row["failure_threshold"],
                "recoveryThreshold": row["recovery_threshold"],
                "retryIntervalSeconds": row["retry_interval_seconds"],
                # Written only when set, as the document's default is false.
                "public": row["public"] or None,
            },
            where,
        )
        parts = None if url is None else split_url(url)
        if parts is not None and parts.password is not None:
            spec["url"] = self.secret(url, "target", key, "url")
        # Stored as the probe's options model dumps them (probes/options.py): camelCase by
        # to_camel, the document's own spelling; every default filled in, None where unset;
        # headers as one {name: value} object, not the document's list.
        options = dict(_json(row["options"]) or {})
        headers = options.pop("headers", None) or {}
        written = self.fields(
            {to_camel(name): value for name, value in options.items()}, f"{where}.{kind}"
        )
        if isinstance(written.get("body"), str):
            # Write-only in the API like the headers (it may carry a credential).
            written["body"] = self.secret(options["body"], "target", key, kind, "body")
        if headers:
            written["headers"] = [
                {
                    "name": self.plain(name, f"{where}.{kind}.headers"),
                    "value": self.secret(value, "target", key, kind, "headers", name),
                }
                for name, value in headers.items()
            ]
        spec[kind] = written
        return spec

    def channel(self, row: asyncpg.Record, keys: Mapping[int, str]) -> dict[str, Any]:
        key, kind = row["key"], row["kind"]
        where = f"channels[{key}]"
        watched = sorted(keys[target_id] for target_id in row["target_ids"])
        spec = self.fields(
            {
                "key": key,
                "name": row["name"],
                "kind": kind,
                "allTargets": True if row["all_targets"] else None,
                "targets": None if row["all_targets"] else watched,
                "enabled": row["enabled"],
                "reminderIntervalSeconds": row["reminder_interval_seconds"],
            },
            where,
        )
        # Stored with the names of ChannelSpec's fields (from_address, not from).
        config = {
            _CHANNEL_FIELDS.get(name, to_camel(name)): value
            for name, value in (_json(row["config"]) or {}).items()
        }
        secrets = {_CHANNEL_FIELDS.get(name, name) for name in _CHANNEL_SECRETS.get(kind, ())}
        written = self.fields(
            {name: value for name, value in config.items() if name not in secrets},
            f"{where}.{kind}",
        )
        for name, value in config.items():
            if name in secrets and value is not None:
                written[name] = self.secret(str(value), "channel", key, kind, name)
        spec[kind] = {name: written[name] for name in config if name in written}
        return spec

    def window(self, row: asyncpg.Record, keys: Mapping[int, str]) -> dict[str, Any]:
        weekdays, target_id = row["weekdays"], row["target_id"]
        return self.fields(
            {
                "key": row["key"],
                "name": row["name"],
                "kind": row["kind"],
                "target": None if target_id is None else keys[target_id],
                "startsAt": _instant(row["starts_at"]),
                "endsAt": _instant(row["ends_at"]),
                "weekdays": None if weekdays is None else [WEEKDAYS[day - 1] for day in weekdays],
                "localStart": _local_time(row["local_start"]),
                "durationSeconds": row["duration_seconds"],
                "timeZone": row["time_zone"],
            },
            f"maintenanceWindows[{row['key']}]",
        )


def _instant(value: datetime | None) -> str | None:
    """ISO 8601 with its UTC offset (the database gives timestamptz values in UTC)."""
    return None if value is None else value.isoformat()


def _local_time(value: time | None) -> str | None:
    """``HH:MM``, or with the seconds (and fraction) where they are not zero."""
    if value is None:
        return None
    if value.second == 0 and value.microsecond == 0:
        return value.isoformat(timespec="minutes")
    return value.isoformat()
