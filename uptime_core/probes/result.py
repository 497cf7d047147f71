"""The one result type every probe returns, and the closed sets it draws from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from uptime_core.enums import CheckStatus, ErrorKind


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
