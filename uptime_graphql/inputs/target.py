"""Inputs for creating and changing targets, and their translation to core fields.

Option inputs map to the stored options JSON (camelCase keys); errors the core reports on
``options.<path>`` are named after the input that carried them (``http.<path>``...).
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON

from uptime_core.validation import FieldError, InvalidFields
from uptime_graphql.inputs.keys import key_on_create, key_on_update
from uptime_graphql.types.enums import ProbeKind


@strawberry.input(description="A request header to send (its value is never shown again).")
class HttpHeaderInput:
    name: str
    value: str


@strawberry.input
class JsonAssertionInput:
    path: str
    operator: str = "=="
    value: JSON | None = None


@strawberry.input(description="How to check an HTTP target; absent fields keep their value.")
class HttpOptionsInput:
    method: str | None = strawberry.UNSET
    headers: list[HttpHeaderInput] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces every stored header when given. At most 50, 8 KiB together; "
        "names are HTTP tokens, given once; values printable ASCII (no line breaks or control "
        "characters). Connection, Keep-Alive, Transfer-Encoding, Content-Length, TE, Trailer, "
        "Upgrade and Proxy-* are refused (the probe sets them); Host is allowed.",
    )
    body: str | None = strawberry.UNSET
    accepted_status_codes: list[str] | None = strawberry.UNSET
    follow_redirects: bool | None = strawberry.UNSET
    max_redirects: int | None = strawberry.UNSET
    verify_tls: bool | None = strawberry.UNSET
    keyword: str | None = strawberry.UNSET
    keyword_absent: bool | None = strawberry.UNSET
    json_assertion: JsonAssertionInput | None = strawberry.UNSET
    degraded_latency_ms: float | None = strawberry.UNSET
    cert_expiry_days: int | None = strawberry.UNSET
    ip_family: str | None = strawberry.UNSET


@strawberry.input(description="How to check a TCP target; absent fields keep their value.")
class TcpOptionsInput:
    tls: bool | None = strawberry.UNSET
    verify_tls: bool | None = strawberry.UNSET
    cert_expiry_days: int | None = strawberry.UNSET
    degraded_latency_ms: float | None = strawberry.UNSET
    ip_family: str | None = strawberry.UNSET


@strawberry.input(description="How to check an ICMP target; absent fields keep their value.")
class IcmpOptionsInput:
    degraded_latency_ms: float | None = strawberry.UNSET
    ip_family: str | None = strawberry.UNSET


_OPTION_KEYS = {
    "method": "method",
    "body": "body",
    "accepted_status_codes": "acceptedStatusCodes",
    "follow_redirects": "followRedirects",
    "max_redirects": "maxRedirects",
    "verify_tls": "verifyTls",
    "keyword": "keyword",
    "keyword_absent": "keywordAbsent",
    "degraded_latency_ms": "degradedLatencyMs",
    "cert_expiry_days": "certExpiryDays",
    "ip_family": "ipFamily",
    "tls": "tls",
}


def option_changes(
    given: HttpOptionsInput | TcpOptionsInput | IcmpOptionsInput | None,
) -> dict[str, Any]:
    """The stored-options keys an input sets (null clears a key back to its default)."""
    if given is None or given is strawberry.UNSET:
        return {}
    changes: dict[str, Any] = {}
    for attribute, key in _OPTION_KEYS.items():
        value = getattr(given, attribute, strawberry.UNSET)
        if value is not strawberry.UNSET:
            changes[key] = value
    headers = getattr(given, "headers", strawberry.UNSET)
    if headers is not strawberry.UNSET:
        # A list, as given: the core names a bad header by its index (`headers[2].value`).
        changes["headers"] = (
            None if headers is None else [{"name": h.name, "value": h.value} for h in headers]
        )
    assertion = getattr(given, "json_assertion", strawberry.UNSET)
    if assertion is not strawberry.UNSET:
        changes["jsonAssertion"] = (
            None
            if assertion is None
            else {"path": assertion.path, "operator": assertion.operator, "value": assertion.value}
        )
    return changes


def options_input_name(kind: str) -> str:
    return {"http": "http", "tcp": "tcp", "icmp": "icmp"}.get(kind, "options")


def rename_option_fields(error: InvalidFields, kind: str) -> InvalidFields:
    """``options.x`` in the core's errors becomes ``http.x`` (or tcp, icmp) as in the input."""
    prefix = options_input_name(kind)
    return InvalidFields(
        [
            FieldError(
                f"{prefix}.{e.field.removeprefix('options.')}"
                if e.field.startswith("options.")
                else (prefix if e.field == "options" else e.field),
                e.message,
            )
            for e in error.errors
        ]
    )


@strawberry.input
class CreateTargetInput:
    name: str
    kind: ProbeKind
    key: str | None = key_on_create()
    url: str | None = None
    host: str | None = None
    port: int | None = None
    interval_seconds: int = 60
    timeout_seconds: float = 10.0
    failure_threshold: int = 2
    recovery_threshold: int = 2
    retry_interval_seconds: int | None = strawberry.field(
        default=None,
        description="The interval of the checks that confirm a change: after a failure that "
        "has not (yet) made the target DOWN, and after a pass of a DOWN target short of the "
        "recovery threshold. 1 to intervalSeconds; null: the default, the smaller of "
        "intervalSeconds and 10.",
    )
    public: bool = strawberry.field(
        default=False,
        description="Serve its badges (/badge/{key}/...) without a token (default false).",
    )
    http: HttpOptionsInput | None = None
    tcp: TcpOptionsInput | None = None
    icmp: IcmpOptionsInput | None = None


@strawberry.input(description="The target's id and the fields to change; absent ones stay.")
class UpdateTargetInput:
    id: strawberry.ID
    name: str | None = strawberry.UNSET
    key: str | None = key_on_update()
    kind: ProbeKind | None = strawberry.UNSET
    url: str | None = strawberry.field(
        default=strawberry.UNSET,
        description="A password given as *** (as Target.url shows it) keeps the stored one, "
        "if scheme, host, port and user are unchanged.",
    )
    host: str | None = strawberry.UNSET
    port: int | None = strawberry.UNSET
    interval_seconds: int | None = strawberry.UNSET
    timeout_seconds: float | None = strawberry.UNSET
    failure_threshold: int | None = strawberry.UNSET
    recovery_threshold: int | None = strawberry.UNSET
    retry_interval_seconds: int | None = strawberry.field(
        default=strawberry.UNSET, description="null: back to the default."
    )
    public: bool | None = strawberry.UNSET
    http: HttpOptionsInput | None = strawberry.UNSET
    tcp: TcpOptionsInput | None = strawberry.UNSET
    icmp: IcmpOptionsInput | None = strawberry.UNSET
