"""The one result type every probe returns, and the closed sets it draws from."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


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


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one probe observed; the worker adds the slot and timestamps."""

    status: CheckStatus
    latency_ms: float | None = None
    error_kind: ErrorKind | None = None
    message: str | None = None
    http_status: int | None = None
    resolved_address: str | None = None
    tls_expires_at: datetime | None = None

    @property
    def is_up(self) -> bool:
        """True when the target answered as expected (UP or DEGRADED)."""
        return self.status is not CheckStatus.DOWN
