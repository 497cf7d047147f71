"""The shape of a configuration document, as pydantic models: types and names only.

Each model says which fields an object may have and of which JSON type; the rules for the
values (ports, URLs, headers, time zones, secrets' lengths...) are the core's own, applied
afterwards by ``document.py`` (``targets.validate``, ``validate_channel_config``,
``check_maintenance_fields``), so the document and the API can never disagree. Fields are
camelCase as in the GraphQL inputs; the snake_case spelling is accepted too. Every model
refuses unknown fields.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator
from pydantic.alias_generators import to_camel

from uptime_core.enums import ChannelKind, MaintenanceKind, ProbeKind
from uptime_core.keys import KEY_PATTERN, MAX_KEY_LENGTH

KEY_DESCRIPTION = (
    "Stable and unique per kind: lowercase letters and digits in runs joined by single "
    "dashes, at most 63 characters (api-eu-1). Channels and windows name targets by it."
)
NAME_DESCRIPTION = "Shown in the dashboard and in notifications; default: the key."
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WeekdayName = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _key_schema(schema: dict[str, Any]) -> None:
    """For editors only: the rule itself is keys.py's, applied by the core's checks."""
    schema.update(pattern=f"^{KEY_PATTERN.pattern}$", maxLength=MAX_KEY_LENGTH)


class Spec(BaseModel):
    """Every object of the document: camelCase or snake_case names, no unknown field."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
    )


# -- targets -----------------------------------------------------------------------------------


class HeaderSpec(Spec):
    """A request header. Its value is write-only in the API: keep secrets in `${NAME}`."""

    name: str
    value: str


class JsonAssertionSpec(Spec):
    """Checked against a JSON response body: `{path: $.status, operator: "==", value: ok}`."""

    path: str
    operator: str = Field(
        default="==", description="==, !=, <, <=, >, >= or contains (default ==)."
    )
    value: JsonValue = None


class _CommonOptionsSpec(Spec):
    degraded_latency_ms: float | None = Field(
        default=None, description="Slower than this (milliseconds) counts as degraded."
    )
    ip_family: str | None = Field(default=None, description="any (default), ipv4 or ipv6.")


class HttpOptionsSpec(_CommonOptionsSpec):
    """How an HTTP target is checked; absent fields take their defaults."""

    method: str | None = Field(
        default=None, description="GET (default), HEAD, POST, PUT, PATCH, DELETE or OPTIONS."
    )
    headers: list[HeaderSpec] | None = Field(
        default=None,
        description="At most 50, 8 KiB together; Connection, Keep-Alive, Transfer-Encoding, "
        "Content-Length, TE, Trailer, Upgrade and Proxy-* are refused (the probe sets them).",
    )
    body: str | None = None
    accepted_status_codes: list[str | int] | None = Field(
        default=None, description='Codes and ranges, default ["200-399"].'
    )
    follow_redirects: bool | None = Field(default=None, description="Default true.")
    max_redirects: int | None = Field(default=None, description="0 to 50, default 10.")
    verify_tls: bool | None = Field(default=None, description="Default true.")
    keyword: str | None = Field(default=None, description="Text the body must contain.")
    keyword_absent: bool | None = Field(
        default=None, description="True: the keyword must not be in the body."
    )
    json_assertion: JsonAssertionSpec | None = None
    cert_expiry_days: int | None = Field(
        default=None, description="Degraded when the certificate expires sooner (1 to 3650)."
    )


class TcpOptionsSpec(_CommonOptionsSpec):
    """How a TCP target is checked; absent fields take their defaults."""

    tls: bool | None = Field(default=None, description="Follow the connect with a TLS handshake.")
    verify_tls: bool | None = Field(default=None, description="Default true (with tls).")
    cert_expiry_days: int | None = Field(
        default=None, description="Degraded when the certificate expires sooner (needs tls)."
    )


class IcmpOptionsSpec(_CommonOptionsSpec):
    """How an ICMP target is checked; absent fields take their defaults."""


class TargetSpec(Spec):
    """Something checked on an interval: an HTTP(S) URL, a TCP port or a host pinged."""

    key: str = Field(description=KEY_DESCRIPTION, json_schema_extra=_key_schema)
    name: str | None = Field(default=None, description=NAME_DESCRIPTION)
    kind: ProbeKind
    url: str | None = Field(default=None, description="http targets: the http(s) URL.")
    host: str | None = Field(default=None, description="tcp and icmp targets: a name or address.")
    port: int | None = Field(default=None, description="tcp targets: 1 to 65535.")
    interval_seconds: int = Field(default=60, description="Check this often (default 60).")
    timeout_seconds: float = Field(default=10.0, description="At most the interval (default 10).")
    failure_threshold: int = Field(
        default=2, description="Failed checks in a row before DOWN (1 to 100, default 2)."
    )
    recovery_threshold: int = Field(
        default=2, description="Passed checks in a row before UP again (1 to 100, default 2)."
    )
    retry_interval_seconds: int | None = Field(
        default=None,
        description="Check this often while confirming a change (after a failure not yet DOWN, "
        "after a pass of a DOWN target not yet UP): 1 to the interval; default the smaller of "
        "the interval and 10.",
    )
    public: bool = Field(
        default=False, description="Serve its badges (/badge/{key}/...) without a token."
    )
    http: HttpOptionsSpec | None = None
    tcp: TcpOptionsSpec | None = None
    icmp: IcmpOptionsSpec | None = None


# -- channels ----------------------------------------------------------------------------------


class WebhookSpec(Spec):
    """A generic JSON webhook."""

    url: str | None = Field(default=None, description="Write-only in the API: may be `${NAME}`.")
    secret: str | None = Field(
        default=None,
        description="Signs each body with HMAC-SHA256 (at least 16 characters); use `${NAME}`.",
    )


class SlackSpec(Spec):
    """A Slack-compatible incoming webhook."""

    url: str | None = Field(default=None, description="The incoming webhook URL; use `${NAME}`.")


class EmailSpec(Spec):
    """Email over SMTP."""

    host: str | None = None
    port: int | None = Field(
        default=None, description="Default 587 (starttls), 465 (tls) or 25 (none)."
    )
    security: str | None = Field(default=None, description="starttls (default), tls or none.")
    username: str | None = None
    password: str | None = Field(default=None, description="Goes with username; use `${NAME}`.")
    from_address: str | None = Field(default=None, alias="from")
    to_addresses: list[str] | None = Field(default=None, alias="to")


class ChannelSpec(Spec):
    """Where notifications go, and for which targets."""

    key: str = Field(description=KEY_DESCRIPTION, json_schema_extra=_key_schema)
    name: str | None = Field(default=None, description=NAME_DESCRIPTION)
    kind: ChannelKind
    enabled: bool = True
    all_targets: bool = Field(default=False, description="Watch every target, present and future.")
    targets: list[str] = Field(
        default_factory=list, description="The keys of the targets to watch (without allTargets)."
    )
    reminder_interval_seconds: int | None = Field(
        default=None, description="While a target stays down, remind this often (at least 60)."
    )
    webhook: WebhookSpec | None = None
    slack: SlackSpec | None = None
    email: EmailSpec | None = None


# -- maintenance windows -----------------------------------------------------------------------


class WindowSpec(Spec):
    """Time when checks run but notifications wait and statistics say maintenance."""

    key: str = Field(description=KEY_DESCRIPTION, json_schema_extra=_key_schema)
    name: str | None = Field(default=None, description=NAME_DESCRIPTION)
    kind: MaintenanceKind
    target: str | None = Field(
        default=None, description="The key of the target it holds; absent: every target."
    )
    starts_at: datetime | None = Field(
        default=None, description="once: the start, with a UTC offset (2026-12-01T22:00:00Z)."
    )
    ends_at: datetime | None = Field(default=None, description="once: the end, with a UTC offset.")
    weekdays: list[WeekdayName] | None = Field(default=None, description="weekly: the days.")
    local_start: time | None = Field(
        default=None, description='weekly: the local start time, quoted in YAML ("22:00").'
    )
    duration_seconds: int | None = Field(default=None, description="weekly: 1 to 604800.")
    time_zone: str | None = Field(default=None, description="weekly: an IANA name (Europe/Paris).")

    @field_validator("local_start", mode="before")
    @classmethod
    def _time_as_text(cls, value: Any) -> Any:
        # YAML 1.1 reads an unquoted 22:00 as the number 1320 (base 60): refuse, never guess.
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError('must be a time written as text: quote it in YAML ("22:00")')
        return value


# -- the document ------------------------------------------------------------------------------


class DocumentSpec(Spec):
    """Targets, notification channels and maintenance windows of an uptime monitor, each
    named by a key; `uptime apply` makes the server match it."""

    schema_: str | None = Field(
        default=None, alias="$schema", description="This schema's address, for editors."
    )
    targets: list[TargetSpec] = Field(default_factory=list)
    channels: list[ChannelSpec] = Field(default_factory=list)
    maintenance_windows: list[WindowSpec] = Field(default_factory=list)
