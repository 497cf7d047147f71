"""The enumerations of the schema."""

from __future__ import annotations

import enum

import strawberry


@strawberry.enum(description="How a target is checked.")
class ProbeKind(enum.Enum):
    HTTP = "http"
    TCP = "tcp"
    ICMP = "icmp"


@strawberry.enum(description="A target's confirmed state.")
class TargetStatus(enum.Enum):
    UP = "up"
    DOWN = "down"
    DEGRADED = "degraded"
    PENDING = "pending"
    PAUSED = "paused"
    UNKNOWN = "unknown"


@strawberry.enum(description="The outcome of one check.")
class CheckStatus(enum.Enum):
    UP = "up"
    DOWN = "down"
    DEGRADED = "degraded"


@strawberry.enum(description="Rolling windows ending now.")
class UptimeWindow(enum.Enum):
    LAST_HOUR = "LAST_HOUR"
    LAST_24_HOURS = "LAST_24_HOURS"
    LAST_7_DAYS = "LAST_7_DAYS"
    LAST_30_DAYS = "LAST_30_DAYS"
    LAST_90_DAYS = "LAST_90_DAYS"
