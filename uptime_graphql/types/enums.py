"""The enumerations of the schema: the core's own (``uptime_core.enums``), exposed by name.

``strawberry.enum`` marks the class itself (it returns the same class), so the core's enums are
the schema's: one definition of each, values stored as the database stores them. GraphQL names
a value by its member's name; the member's value (``UptimeWindow``'s is a timedelta) stays on
the server.
"""

from __future__ import annotations

import strawberry

from uptime_core.enums import (
    ChannelKind,
    CheckStatus,
    DeliveryEvent,
    DeliveryState,
    MaintenanceKind,
    ProbeKind,
    TargetStatus,
    UptimeWindow,
    Weekday,
)

strawberry.enum(ProbeKind, description="How a target is checked.")
strawberry.enum(TargetStatus, description="A target's confirmed state.")
strawberry.enum(CheckStatus, description="The outcome of one check.")
strawberry.enum(UptimeWindow, description="Rolling windows ending now.")
strawberry.enum(ChannelKind, description="Where a channel sends.")
strawberry.enum(DeliveryEvent, description="What a delivery announces.")
strawberry.enum(
    DeliveryState,
    description="PENDING until sent or given up; SUPPRESSED: held back by a maintenance window.",
)
strawberry.enum(
    MaintenanceKind,
    description="ONCE: from startsAt to endsAt. WEEKLY: on the weekdays, from localStart in "
    "timeZone for durationSeconds.",
)
strawberry.enum(Weekday, description="A day of the week (ISO order, Monday first).")

__all__ = [
    "ChannelKind",
    "CheckStatus",
    "DeliveryEvent",
    "DeliveryState",
    "MaintenanceKind",
    "ProbeKind",
    "TargetStatus",
    "UptimeWindow",
    "Weekday",
]
