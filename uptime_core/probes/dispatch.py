"""`probe(target)`: validate, dispatch on the kind, bound by the timeout, never raise."""

from __future__ import annotations

import asyncio
from typing import Any

from uptime_core.address_policy import AddressPolicy, probe_policy
from uptime_core.enums import CheckStatus, ErrorKind
from uptime_core.probes.deadline import Deadline
from uptime_core.probes.errors import ProbeFailure, classify_exception, shorten
from uptime_core.probes.http import probe_http
from uptime_core.probes.icmp import probe_icmp
from uptime_core.probes.observation import Observation
from uptime_core.probes.options import HttpOptions, IcmpOptions, TcpOptions
from uptime_core.probes.result import ProbeResult
from uptime_core.probes.target import ProbeTarget
from uptime_core.probes.tcp import probe_tcp
from uptime_core.probes.validation import ValidatedSettings, validate_target_settings
from uptime_core.validation import InvalidFields

_SETTINGS_CACHE_SIZE = 4096
_settings_cache: dict[tuple[Any, ...], ValidatedSettings | InvalidFields] = {}


def _settings_for(target: ProbeTarget) -> ValidatedSettings | InvalidFields:
    """Validated settings of `target`, remembered: the same targets come round every interval.

    The key holds `repr(options)`: for JSON values equal reprs mean equal options, and
    differently ordered but equal options only cost a second validation.
    """
    key = (
        target.kind,
        target.url,
        target.host,
        target.port,
        target.timeout_seconds,
        repr(target.options),
    )
    settings = _settings_cache.get(key)
    if settings is None:
        try:
            settings = validate_target_settings(
                kind=target.kind,
                url=target.url,
                host=target.host,
                port=target.port,
                timeout_seconds=target.timeout_seconds,
                options=target.options,
            )
        except InvalidFields as exc:
            settings = exc
        if len(_settings_cache) >= _SETTINGS_CACHE_SIZE:
            _settings_cache.clear()
        _settings_cache[key] = settings
    return settings


async def probe(target: ProbeTarget, policy: AddressPolicy | None = None) -> ProbeResult:
    """Run one check of `target` within `target.timeout_seconds`, connecting only where
    `policy` (by default the settings' `probe_policy()`) allows.

    Every failure comes back as a DOWN result with an error kind (settings that do not
    validate give `invalid_target`, a refused address `blocked`); nothing is raised except
    cancellation.
    """
    settings = _settings_for(target)
    if isinstance(settings, InvalidFields):
        return ProbeResult(
            CheckStatus.DOWN,
            error_kind=ErrorKind.INVALID_TARGET,
            message=shorten(f"invalid target settings: {settings}"),
        )
    return await probe_settings(settings, policy)


async def probe_settings(
    settings: ValidatedSettings, policy: AddressPolicy | None = None
) -> ProbeResult:
    """Like `probe`, for settings that `validate_target_settings` returned."""
    if policy is None:
        policy = probe_policy()
    observation = Observation()
    options = settings.parsed_options
    deadline = Deadline(settings.timeout_seconds)
    try:
        if isinstance(options, TcpOptions):
            assert settings.host is not None and settings.port is not None
            return await probe_tcp(settings.host, settings.port, options, observation, policy)
        if isinstance(options, HttpOptions):
            assert settings.url is not None
            return await probe_http(settings.url, options, observation, policy)
        if isinstance(options, IcmpOptions):
            assert settings.host is not None
            return await probe_icmp(
                settings.host, options, observation, settings.timeout_seconds, policy
            )
        raise AssertionError(f"no probe for {settings.kind}")  # pragma: no cover
    except asyncio.CancelledError:
        if deadline.stop():
            return observation.timed_out(settings.timeout_seconds)
        raise
    except TimeoutError:
        return observation.timed_out(settings.timeout_seconds)
    except ProbeFailure as exc:
        return observation.failed(exc.kind, exc.message)
    except Exception as exc:
        # Anything else from the network stack still ends as a result with a kind.
        kind, message = classify_exception(exc, where=observation.phase)
        return observation.failed(kind, message)
    finally:
        deadline.stop()
