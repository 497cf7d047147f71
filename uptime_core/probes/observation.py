"""What one check has seen so far, so that any outcome (even a timeout) reports all of it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from uptime_core.enums import CheckStatus, ErrorKind
from uptime_core.probes.result import ProbeResult


class Observation:
    """Mutable record of one check in progress; turned into one `ProbeResult` at the end."""

    __slots__ = (
        "_started",
        "http_status",
        "latency_ms",
        "phase",
        "phase_timeout_kind",
        "resolved_address",
        "tls_expires_at",
    )

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self.phase = "starting"
        self.phase_timeout_kind = ErrorKind.TIMEOUT
        self.resolved_address: str | None = None
        self.tls_expires_at: datetime | None = None
        self.http_status: int | None = None
        self.latency_ms: float | None = None

    def enter(self, phase: str, timeout_kind: ErrorKind = ErrorKind.TIMEOUT) -> None:
        """Name what the check is doing now, and the kind to report if time runs out here."""
        self.phase = phase
        self.phase_timeout_kind = timeout_kind

    def mark_answered(self, latency_ms: float | None = None) -> None:
        """Record the latency: the target has answered (measured from the start by default)."""
        if latency_ms is None:
            latency_ms = (time.perf_counter() - self._started) * 1000.0
        self.latency_ms = latency_ms

    def result(
        self, status: CheckStatus, kind: ErrorKind | None = None, message: str | None = None
    ) -> ProbeResult:
        """Build the result from everything observed."""
        # Positional: keywords cost a passing TCP check a fifth of a microsecond more.
        return ProbeResult(
            status,
            self.latency_ms,
            kind,
            message,
            self.http_status,
            self.resolved_address,
            self.tls_expires_at,
        )

    def failed(self, kind: ErrorKind, message: str) -> ProbeResult:
        """A DOWN result."""
        return self.result(CheckStatus.DOWN, kind, message)

    def timed_out(self, timeout_seconds: float) -> ProbeResult:
        """A DOWN result for a check that used up its whole time budget."""
        return self.failed(
            self.phase_timeout_kind, f"no answer within {timeout_seconds:g} s ({self.phase})"
        )

    def passed(
        self, degraded_latency_ms: float | None, cert_expiry_days: int | None
    ) -> ProbeResult:
        """UP, or DEGRADED when the answer was slow or the certificate expires soon."""
        if degraded_latency_ms is None and cert_expiry_days is None:
            return self.result(CheckStatus.UP)
        reasons: list[tuple[ErrorKind, str]] = []
        if (
            degraded_latency_ms is not None
            and self.latency_ms is not None
            and self.latency_ms > degraded_latency_ms
        ):
            reasons.append(
                (
                    ErrorKind.SLOW,
                    f"answered in {self.latency_ms:.0f} ms, above {degraded_latency_ms:g} ms",
                )
            )
        if cert_expiry_days is not None and self.tls_expires_at is not None:
            left = self.tls_expires_at - datetime.now(UTC)
            if left < timedelta(days=cert_expiry_days):
                when = (
                    "has expired"
                    if left.total_seconds() <= 0
                    else f"expires in {left.total_seconds() / 86400:.1f} days"
                )
                reasons.append(
                    (
                        ErrorKind.CERT_EXPIRING,
                        f"TLS certificate {when} (warning at {cert_expiry_days} days)",
                    )
                )
        if not reasons:
            return self.result(CheckStatus.UP)
        return self.result(
            CheckStatus.DEGRADED, reasons[0][0], "; ".join(message for _, message in reasons)
        )
