"""Inputs for notification channels, and their translation to the core's fields. Secrets are
accepted here and never returned; an update that leaves a secret out keeps the stored one
(null clears an optional one)."""

from __future__ import annotations

from typing import Any

import strawberry

from uptime_core.alerting.channels import ChannelFields, ChannelRow, validate_channel_config
from uptime_core.validation import FieldError, InvalidFields
from uptime_graphql.inputs.keys import key_on_create, key_on_update
from uptime_graphql.types.enums import ChannelKind
from uptime_graphql.types.node import target_keys


@strawberry.input(description="A generic JSON webhook; absent fields keep their value.")
class WebhookInput:
    url: str | None = strawberry.UNSET
    secret: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="Signs each body with HMAC-SHA256 (X-Uptime-Signature); write-only, null "
        "removes it.",
    )


@strawberry.input(description="A Slack-compatible incoming webhook.")
class SlackInput:
    url: str | None = strawberry.field(
        default=strawberry.UNSET, description="The incoming webhook URL; write-only (a secret)."
    )


@strawberry.input(description="Email over SMTP; absent fields keep their value.")
class EmailInput:
    host: str | None = strawberry.UNSET
    port: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="1 to 65535; default: 587 (starttls), 465 (tls), 25 (none).",
    )
    security: str | None = strawberry.field(
        default=strawberry.UNSET, description="starttls (default), tls (implicit) or none."
    )
    username: str | None = strawberry.field(
        default=strawberry.UNSET, description="Null removes it with the password."
    )
    password: str | None = strawberry.field(
        default=strawberry.UNSET, description="Write-only; null removes it with the username."
    )
    from_address: str | None = strawberry.field(default=strawberry.UNSET, name="from")
    to_addresses: list[str] | None = strawberry.field(default=strawberry.UNSET, name="to")


_CREDENTIALS = ("username", "password")
_SETTINGS_FIELDS = {
    ChannelKind.WEBHOOK: ("url", "secret"),
    ChannelKind.SLACK: ("url",),
    ChannelKind.EMAIL: (
        "host",
        "port",
        "security",
        "username",
        "password",
        "from_address",
        "to_addresses",
    ),
}


@strawberry.input(description="A new notification channel.")
class CreateChannelInput:
    name: str
    kind: ChannelKind
    key: str | None = key_on_create()
    enabled: bool = True
    all_targets: bool = strawberry.field(
        default=False, description="Watch every target, present and future."
    )
    target_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="The targets to watch (without allTargets)."
    )
    reminder_interval_seconds: int | None = strawberry.field(
        default=None, description="While a target stays down, remind this often (at least 60)."
    )
    webhook: WebhookInput | None = None
    slack: SlackInput | None = None
    email: EmailInput | None = None


@strawberry.input(description="Changes to a channel; absent fields are unchanged.")
class UpdateChannelInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    key: str | None = key_on_update()
    kind: ChannelKind | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET
    all_targets: bool | None = strawberry.UNSET
    target_ids: list[strawberry.ID] | None = strawberry.UNSET
    reminder_interval_seconds: int | None = strawberry.UNSET
    webhook: WebhookInput | None = strawberry.UNSET
    slack: SlackInput | None = strawberry.UNSET
    email: EmailInput | None = strawberry.UNSET


def _given(settings: Any, kind: ChannelKind) -> dict[str, Any]:
    if settings is None or settings is strawberry.UNSET:
        return {}
    return {
        name: getattr(settings, name)
        for name in _SETTINGS_FIELDS[kind]
        if getattr(settings, name) is not strawberry.UNSET
    }


def _settings_for(given: CreateChannelInput | UpdateChannelInput, kind: ChannelKind) -> Any:
    chosen = {ChannelKind.WEBHOOK: given.webhook, ChannelKind.SLACK: given.slack}
    return chosen.get(kind, given.email)


def _others_given(given: CreateChannelInput | UpdateChannelInput, kind: ChannelKind) -> None:
    for other, value in (
        (ChannelKind.WEBHOOK, given.webhook),
        (ChannelKind.SLACK, given.slack),
        (ChannelKind.EMAIL, given.email),
    ):
        if other is not kind and value not in (None, strawberry.UNSET):
            raise InvalidFields(
                [FieldError(other.value, f"does not apply to a {kind.name} channel")]
            )


def _config(kind: ChannelKind, merged: dict[str, Any]) -> dict[str, Any]:
    return validate_channel_config(kind, {k: v for k, v in merged.items() if v is not None})


def channel_fields(given: CreateChannelInput) -> ChannelFields:
    """The core's fields for a new channel; raises ``InvalidFields``."""
    kind = given.kind
    _others_given(given, kind)
    if _settings_for(given, kind) is None:
        raise InvalidFields([FieldError(kind.value, f"is required for a {kind.name} channel")])
    return ChannelFields(
        name=given.name,
        kind=kind,
        config=_config(kind, _given(_settings_for(given, kind), kind)),
        all_targets=given.all_targets,
        enabled=given.enabled,
        reminder_interval_seconds=given.reminder_interval_seconds,
        target_ids=target_keys(given.target_ids),
        key=given.key,
    )


def changed_channel_fields(current: ChannelRow, given: UpdateChannelInput) -> ChannelFields:
    """The channel's fields after ``given``; raises ``InvalidFields``."""

    def pick(value: Any, old: Any) -> Any:
        return old if value is strawberry.UNSET else value

    kind = pick(given.kind, current.kind) or current.kind
    _others_given(given, kind)
    base = current.config if kind is current.kind else {}
    settings = _given(_settings_for(given, kind), kind)
    merged = {**base, **settings}
    if kind is ChannelKind.EMAIL and any(
        name in settings and settings[name] is None for name in _CREDENTIALS
    ):
        # Null for either removes the login, both halves (unless the other is given anew,
        # which validation then refuses: they go together).
        for name in _CREDENTIALS:
            if settings.get(name) is None:
                merged[name] = None
    name, key = pick(given.name, current.name), pick(given.key, current.key)
    for field, value in (("name", name), ("key", key)):
        if value is None:
            raise InvalidFields([FieldError(field, "must not be null")])
    all_targets = pick(given.all_targets, current.all_targets)
    target_ids = (
        current.target_ids
        if given.target_ids is strawberry.UNSET
        else target_keys(given.target_ids or [])
    )
    if all_targets and given.target_ids is strawberry.UNSET:
        target_ids = []
    return ChannelFields(
        name=name,
        kind=kind,
        config=_config(kind, merged),
        all_targets=bool(all_targets),
        enabled=bool(pick(given.enabled, current.enabled)),
        reminder_interval_seconds=pick(
            given.reminder_interval_seconds, current.reminder_interval_seconds
        ),
        target_ids=target_ids,
        key=key,
    )
