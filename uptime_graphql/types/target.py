"""A target, its options (header values, the body and the URL's password write-only), and its
connection."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from uptime_core.history import checks_page, incidents_page
from uptime_core.probes.validation import redact_password
from uptime_core.stats import series
from uptime_core.targets import TargetRow, effective_retry_interval_seconds
from uptime_graphql.errors import bad_input
from uptime_graphql.loaders import loaded
from uptime_graphql.types.check import Check, CheckConnection
from uptime_graphql.types.enums import ProbeKind, TargetStatus, UptimeWindow
from uptime_graphql.types.incident import Incident, IncidentConnection
from uptime_graphql.types.latency_series import LatencyPoint
from uptime_graphql.types.node import Node, global_id
from uptime_graphql.types.pagination import Connection, after_key, connection, page_size
from uptime_graphql.types.uptime import Uptime

# Latency series one request may ask for (each reads up to a day of raw results).
MAX_LATENCY_SERIES = 10


@strawberry.type(description="One request header; values are write-only (never shown).")
class HttpHeader:
    name: str


@strawberry.type(description="A JSON assertion on the response body.")
class JsonAssertion:
    path: str
    operator: str
    value: JSON | None


@strawberry.type(description="How an HTTP target is checked.")
class HttpOptions:
    method: str
    headers: list[HttpHeader]
    has_body: bool
    accepted_status_codes: list[str]
    follow_redirects: bool
    max_redirects: int
    verify_tls: bool
    keyword: str | None
    keyword_absent: bool
    json_assertion: JsonAssertion | None
    degraded_latency_ms: float | None
    cert_expiry_days: int | None
    ip_family: str

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> HttpOptions:
        assertion = options.get("jsonAssertion")
        return cls(
            method=options.get("method", "GET"),
            # By name: PostgreSQL keeps no key order, and that of different names means nothing.
            headers=[
                HttpHeader(name=name) for name in sorted(options.get("headers", {}), key=str.lower)
            ],
            has_body=options.get("body") is not None,
            accepted_status_codes=[str(c) for c in options.get("acceptedStatusCodes", [])],
            follow_redirects=options.get("followRedirects", True),
            max_redirects=options.get("maxRedirects", 10),
            verify_tls=options.get("verifyTls", True),
            keyword=options.get("keyword"),
            keyword_absent=options.get("keywordAbsent", False),
            json_assertion=JsonAssertion(
                path=assertion["path"], operator=assertion["operator"], value=assertion.get("value")
            )
            if assertion
            else None,
            degraded_latency_ms=options.get("degradedLatencyMs"),
            cert_expiry_days=options.get("certExpiryDays"),
            ip_family=options.get("ipFamily", "any"),
        )


@strawberry.type(description="How a TCP target is checked.")
class TcpOptions:
    tls: bool = strawberry.field(description="Whether a TLS handshake follows the connect.")
    verify_tls: bool
    cert_expiry_days: int | None
    degraded_latency_ms: float | None
    ip_family: str

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> TcpOptions:
        return cls(
            tls=options.get("tls", False),
            verify_tls=options.get("verifyTls", True),
            cert_expiry_days=options.get("certExpiryDays"),
            degraded_latency_ms=options.get("degradedLatencyMs"),
            ip_family=options.get("ipFamily", "any"),
        )


@strawberry.type(description="How an ICMP target is checked.")
class IcmpOptions:
    degraded_latency_ms: float | None
    ip_family: str

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> IcmpOptions:
        return cls(
            degraded_latency_ms=options.get("degradedLatencyMs"),
            ip_family=options.get("ipFamily", "any"),
        )


@strawberry.type(description="Something checked on a schedule.")
class Target(Node):
    name: str
    key: str = strawberry.field(
        description="Stable and unique among targets: lowercase letters and digits in runs "
        "joined by single dashes, at most 63 characters; derived from the name unless given."
    )
    kind: ProbeKind
    url: str | None = strawberry.field(
        description="HTTP targets: the URL, its password (if any) shown as *** "
        "(write-only, like header values); giving it back unchanged keeps the password."
    )
    host: str | None
    port: int | None
    interval_seconds: int
    timeout_seconds: float
    failure_threshold: int
    recovery_threshold: int
    retry_interval_seconds: int | None = strawberry.field(
        description="As set: the interval of the checks that confirm a change (after a "
        "failure not yet DOWN, after a pass of a DOWN target not yet UP); null: the default. "
        "effectiveRetryIntervalSeconds is the one in force."
    )
    public: bool = strawberry.field(
        description="Its badges (/badge/{key}/status.svg, uptime, latency) are served "
        "without a token."
    )
    paused: bool
    status: TargetStatus
    status_changed_at: datetime | None
    created_at: datetime
    row: strawberry.Private[TargetRow]

    @strawberry.field(
        description="The retry interval in force: retryIntervalSeconds, or by default the "
        "smaller of intervalSeconds and 10."
    )
    def effective_retry_interval_seconds(self) -> int:
        return effective_retry_interval_seconds(
            self.row.interval_seconds, self.row.retry_interval_seconds
        )

    @strawberry.field(description="HTTP options (HTTP targets only).")
    def http(self) -> HttpOptions | None:
        if self.row.kind != "http":
            return None
        return HttpOptions.from_options(self.row.options)

    @strawberry.field(description="TCP options (TCP targets only).")
    def tcp(self) -> TcpOptions | None:
        return TcpOptions.from_options(self.row.options) if self.row.kind == "tcp" else None

    @strawberry.field(description="ICMP options (ICMP targets only).")
    def icmp(self) -> IcmpOptions | None:
        return IcmpOptions.from_options(self.row.options) if self.row.kind == "icmp" else None

    @strawberry.field(
        description="TLS on TCP targets: whether a handshake follows the connect.",
        deprecation_reason="Use tcp { tls }.",
    )
    def tls(self) -> bool | None:
        return bool(self.row.options.get("tls", False)) if self.row.kind == "tcp" else None

    # lastCheck and uptime answer at once with what Query.targets fetched for the whole page
    # (Loaders.prefetch), and with an awaitable through the loader otherwise.

    @strawberry.field(description="The most recent check.", graphql_type=Check | None)
    def last_check(self, info: strawberry.Info) -> Check | Awaitable[Check | None] | None:
        found, row = loaded(info.context.loaders.last_check, self.row.id)
        if found:
            return None if row is None else Check.from_row(row)
        return self._load_last_check(info)

    async def _load_last_check(self, info: strawberry.Info) -> Check | None:
        row = await info.context.loaders.last_check.load(self.row.id)
        return None if row is None else Check.from_row(row)

    @strawberry.field(description="Checks, newest first.")
    async def checks(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> CheckConnection:
        size = page_size(first)
        before = after_key(after, datetime.fromisoformat)
        if before is None:  # the first page: batched across targets (a dashboard's strips)
            page = await info.context.loaders.first_checks.load((self.row.id, size))
        else:
            page = await checks_page(info.context.pool, self.row.id, first=size, before=before)
        return connection(page, lambda row: row.scheduled_for.isoformat(), Check.from_row)

    @strawberry.field(description="Uptime over a rolling window.", graphql_type=Uptime)
    def uptime(self, info: strawberry.Info, window: UptimeWindow) -> Uptime | Awaitable[Uptime]:
        key = (self.row.id, window)
        found, answer = loaded(info.context.loaders.uptime, key)
        if found and answer is not None:
            return Uptime.from_stats(window, answer)
        return self._load_uptime(info, window)

    async def _load_uptime(self, info: strawberry.Info, window: UptimeWindow) -> Uptime:
        answer = await info.context.loaders.uptime.load((self.row.id, window))
        return Uptime.from_stats(window, answer)

    @strawberry.field(
        description="Latency over a rolling window, oldest point first: one point per "
        "minute (last hour), 15 minutes (24 hours), hour (7 days), 6 hours (30 days) or day "
        "(90 days); empty points have no checks and null percentiles."
    )
    async def latency_series(
        self, info: strawberry.Info, window: UptimeWindow
    ) -> list[LatencyPoint]:
        # One statement per series: a list of targets may not ask it of every one.
        info.context.latency_series_asked += 1
        if info.context.latency_series_asked > MAX_LATENCY_SERIES:
            raise bad_input(
                f"latencySeries: at most {MAX_LATENCY_SERIES} per request; ask it of one "
                "target at a time"
            )
        points = await series.latency_series(info.context.pool, self.row.id, window)
        return [LatencyPoint.from_point(point) for point in points]

    @strawberry.field(description="Incidents, newest first.")
    async def incidents(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> IncidentConnection:
        size = page_size(first)
        before_id = after_key(after, int)
        page = await incidents_page(info.context.pool, self.row.id, first=size, before_id=before_id)
        return connection(page, lambda row: row.id, Incident.from_row)

    @classmethod
    def from_row(cls, row: TargetRow) -> Target:
        return cls(
            id=global_id("Target", row.id),
            name=row.name,
            key=row.key,
            kind=ProbeKind(row.kind),
            url=None if row.url is None else redact_password(row.url),
            host=row.host,
            port=row.port,
            interval_seconds=row.interval_seconds,
            timeout_seconds=row.timeout_seconds,
            failure_threshold=row.failure_threshold,
            recovery_threshold=row.recovery_threshold,
            retry_interval_seconds=row.retry_interval_seconds,
            public=row.public,
            paused=row.paused,
            status=TargetStatus(row.status),
            status_changed_at=row.status_changed_at,
            created_at=row.created_at,
            row=row,
        )


TargetConnection = Connection[Target]


@strawberry.type(description="A target's confirmed state changed.")
class TargetStatusChange:
    target: Target
    previous: TargetStatus
    current: TargetStatus
    at: datetime = strawberry.field(description="The slot of the check that confirmed it.")
