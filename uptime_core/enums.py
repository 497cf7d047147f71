"""Every enumeration a table row or the API uses, in one place.

Stored enumerations are ``StrEnum``: the database holds their values as short strings with
CHECK constraints (``models.py``), and the API exposes the same classes by name
(``uptime_graphql/types/enums.py`` registers them with Strawberry). ``UptimeWindow`` is not
stored; its values are the windows' lengths.
"""

from __future__ import annotations

import enum
from datetime import timedelta


class ProbeKind(enum.StrEnum):
    """The protocols a target can be probed with."""

    HTTP = "http"
    TCP = "tcp"
    ICMP = "icmp"


class TargetStatus(enum.StrEnum):
    """A target's confirmed state, which moves only after its thresholds are met."""

    UP = "up"
    DOWN = "down"
    DEGRADED = "degraded"
    PENDING = "pending"
    PAUSED = "paused"
    UNKNOWN = "unknown"


class CheckStatus(enum.StrEnum):
    """Outcome of one check."""

    UP = "up"
    DOWN = "down"
    DEGRADED = "degraded"


class ErrorKind(enum.StrEnum):
    """Why a check was not plainly UP; a closed set so the UI and alerts can rely on it."""

    # The check failed (status DOWN).
    DNS = "dns"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS = "tls"
    CONNECTION = "connection"
    HTTP_STATUS = "http_status"
    KEYWORD = "keyword"
    JSON_ASSERTION = "json_assertion"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    INVALID_RESPONSE = "invalid_response"
    NO_REPLY = "no_reply"
    PERMISSION = "permission"
    INVALID_TARGET = "invalid_target"
    # The address policy refused the connection (UPTIME_BLOCKED_NETWORKS, the health port).
    BLOCKED = "blocked"
    # The check passed but something is wrong enough to say so (status DEGRADED).
    SLOW = "slow"
    CERT_EXPIRING = "cert_expiring"


class UptimeWindow(enum.Enum):
    """The rolling windows the API and the dashboard offer."""

    LAST_HOUR = timedelta(hours=1)
    LAST_24_HOURS = timedelta(days=1)
    LAST_7_DAYS = timedelta(days=7)
    LAST_30_DAYS = timedelta(days=30)
    LAST_90_DAYS = timedelta(days=90)


class MaintenanceKind(enum.StrEnum):
    """A one-off window (absolute start and end) or a weekly one (local times in a zone)."""

    ONCE = "once"
    WEEKLY = "weekly"


class ChannelKind(enum.StrEnum):
    """Where a notification channel sends (docs/alerting.md)."""

    WEBHOOK = "webhook"
    SLACK = "slack"
    EMAIL = "email"


class DeliveryEvent(enum.StrEnum):
    """What a delivery announces."""

    DOWN = "down"
    REMINDER = "reminder"
    RESOLVED = "resolved"
    TEST = "test"


class DeliveryState(enum.StrEnum):
    """PENDING until sent or given up; SUPPRESSED: held back by a maintenance window."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


class Weekday(enum.IntEnum):
    """A day of the week as ISO numbers it (Monday 1 .. Sunday 7); weekly maintenance windows
    store them."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7


class TokenScope(enum.StrEnum):
    """What a named API token may do: ``read`` reads everything and scrapes ``/metrics``;
    ``write`` also manages targets, channels and maintenance windows; ``admin`` also manages
    tokens and status pages (``UPTIME_API_TOKEN`` is an admin token)."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class IncidentUpdateStatus(enum.StrEnum):
    """Where an operator says an incident stands, on status pages."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
