"""The enumerations of the schema: the core's own, exposed by name."""

from __future__ import annotations

import enum

import strawberry

from uptime_core import models, probes

# strawberry.enum marks the class itself (it returns the same class), so the core's enums are
# the schema's: one definition of each, values stored as the database stores them.
strawberry.enum(probes.ProbeKind, description="How a target is checked.")
strawberry.enum(models.TargetStatus, description="A target's confirmed state.")
strawberry.enum(probes.CheckStatus, description="The outcome of one check.")
ProbeKind = probes.ProbeKind
TargetStatus = models.TargetStatus
CheckStatus = probes.CheckStatus


@strawberry.enum(description="Rolling windows ending now.")
class UptimeWindow(enum.Enum):
    LAST_HOUR = "LAST_HOUR"
    LAST_24_HOURS = "LAST_24_HOURS"
    LAST_7_DAYS = "LAST_7_DAYS"
    LAST_30_DAYS = "LAST_30_DAYS"
    LAST_90_DAYS = "LAST_90_DAYS"
