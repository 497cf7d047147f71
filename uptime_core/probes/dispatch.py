"""`probe(target)`: validate, dispatch on the kind, bound by the timeout, never raise."""

from __future__ import annotations

import asyncio

from uptime_core.probes.errors import ProbeFailure, classify_exception, shorten
from uptime_core.probes.http import probe_http
from uptime_core.probes.icmp import probe_icmp
from uptime_core.probes.observation import Observation
from uptime_core.probes.options import HttpOptions, IcmpOptions, TcpOptions
from uptime_core.probes.result import CheckStatus, ErrorKind, ProbeResult
from uptime_core.probes.target import ProbeTarget
from uptime_core.probes.tcp import probe_tcp
from uptime_core.probes.validation import (
    TargetSettingsError,
    ValidatedSettings,
    validate_target_settings,
)


async def _run(settings: ValidatedSettings, observation: Observation) -> ProbeResult:
    options = settings.parsed_options
    if isinstance(options, HttpOptions) and settings.url is not None:
        return await probe_http(settings.url, options, observation)
    if isinstance(options, TcpOptions) and settings.host is not None and settings.port is not None:
        return await probe_tcp(settings.host, settings.port, options, observation)
    if isinstance(options, IcmpOptions) and settings.host is not None:
        return await probe_icmp(settings.host, options, observation, settings.timeout_seconds)
    raise AssertionError(f"validated settings do not fit {settings.kind}")  # pragma: no cover


async def probe(target: ProbeTarget) -> ProbeResult:
    """Run one check of `target` within `target.timeout_seconds`.

    Every failure comes back as a DOWN result with an error kind; nothing is raised except
    cancellation.
    """
    try:
        settings = validate_target_settings(
            kind=target.kind,
            url=target.url,
            host=target.host,
            port=target.port,
            timeout_seconds=target.timeout_seconds,
            options=target.options,
        )
    except TargetSettingsError as exc:
        return ProbeResult(
            CheckStatus.DOWN,
            error_kind=ErrorKind.INVALID_TARGET,
            message=shorten(f"invalid target settings: {exc}"),
        )
    return await probe_settings(settings)


async def probe_settings(settings: ValidatedSettings) -> ProbeResult:
    """Like `probe`, for settings already validated (saves the validation per check)."""
    observation = Observation()
    try:
        async with asyncio.timeout(settings.timeout_seconds):
            return await _run(settings, observation)
    except TimeoutError:
        return observation.timed_out(settings.timeout_seconds)
    except ProbeFailure as exc:
        return observation.failed(exc.kind, exc.message)
    except Exception as exc:
        # Anything else from the network stack still ends as a result with a kind.
        kind, message = classify_exception(exc, where=observation.phase)
        return observation.failed(kind, message)
