"""Probes: HTTP, TCP and ICMP checks behind one entry point, `probe(target)`.

Each check returns one `ProbeResult` saying whether the target is up, how fast it answered and,
when it is not plainly up, an `ErrorKind` from a closed set with a short message.
"""

from __future__ import annotations

from uptime_core.probes.assertions import JsonOperator
from uptime_core.probes.dispatch import probe, probe_settings
from uptime_core.probes.options import (
    HttpOptions,
    IcmpOptions,
    IpFamily,
    JsonAssertion,
    ProbeOptions,
    TcpOptions,
)
from uptime_core.probes.result import ProbeResult
from uptime_core.probes.target import ProbeTarget
from uptime_core.probes.validation import (
    ValidatedSettings,
    validate_target_settings,
)

__all__ = [
    "HttpOptions",
    "IcmpOptions",
    "IpFamily",
    "JsonAssertion",
    "JsonOperator",
    "ProbeOptions",
    "ProbeResult",
    "ProbeTarget",
    "TcpOptions",
    "ValidatedSettings",
    "probe",
    "probe_settings",
    "validate_target_settings",
]
