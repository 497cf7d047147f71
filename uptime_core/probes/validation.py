"""One validation for target settings, shared by the API (on input) and the probes (at run time).

Errors name the field as the API spells it: top-level fields in camelCase (`url`, `port`,
`timeoutSeconds`) and option fields as `options.` plus the camelCase path inside the options
JSON, with list indexes in brackets (`options.jsonAssertion.operator`, `options.headers`).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from uptime_core.probes.assertions import ORDERING_OPERATORS, JsonOperator
from uptime_core.probes.options import HttpOptions, IcmpOptions, ProbeOptions, TcpOptions
from uptime_core.probes.target import ProbeKind

MAX_TIMEOUT_SECONDS = 300.0
MIN_INTERVAL_SECONDS = 1.0
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_OPTIONS_MODELS: dict[ProbeKind, type[ProbeOptions]] = {
    ProbeKind.HTTP: HttpOptions,
    ProbeKind.TCP: TcpOptions,
    ProbeKind.ICMP: IcmpOptions,
}


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field; `field` uses the API's naming (see the module docstring)."""

    field: str
    message: str


class TargetSettingsError(ValueError):
    """Target settings that do not make sense; carries every problem found, not just the first."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors: tuple[FieldError, ...] = tuple(errors)
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in self.errors))


@dataclass(frozen=True, slots=True)
class ValidatedSettings:
    """Target settings in canonical form: what the database stores and the probes run."""

    kind: ProbeKind
    url: str | None
    host: str | None
    port: int | None
    timeout_seconds: float
    interval_seconds: float | None
    parsed_options: ProbeOptions

    @property
    def options(self) -> dict[str, Any]:
        """The options as the database stores them: camelCase, every default filled in."""
        return self.parsed_options.model_dump(mode="json", by_alias=True)


def _field_path(location: Sequence[int | str]) -> str:
    path = "options"
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _options_errors(error: ValidationError) -> list[FieldError]:
    errors = []
    for detail in error.errors(include_url=False):
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = "unknown option"
        errors.append(FieldError(_field_path(detail["loc"]), message))
    return errors


def _check_options(
    kind: ProbeKind, raw: Mapping[str, Any] | None
) -> tuple[ProbeOptions | None, list[FieldError]]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        return None, [FieldError("options", "must be an object")]
    try:
        options = _OPTIONS_MODELS[kind].model_validate(raw)
    except ValidationError as exc:
        return None, _options_errors(exc)
    errors: list[FieldError] = []
    if isinstance(options, HttpOptions):
        if options.keyword_absent and options.keyword is None:
            errors.append(FieldError("options.keywordAbsent", "needs a keyword to look for"))
        assertion = options.json_assertion
        if assertion is not None:
            value = assertion.value
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            if assertion.operator in ORDERING_OPERATORS and not is_number:
                errors.append(
                    FieldError(
                        "options.jsonAssertion.value",
                        f'operator "{assertion.operator.value}" needs a number',
                    )
                )
            if assertion.operator is JsonOperator.CONTAINS and value is None:
                errors.append(
                    FieldError("options.jsonAssertion.value", 'operator "contains" needs a value')
                )
    if isinstance(options, TcpOptions) and options.cert_expiry_days is not None and not options.tls:
        errors.append(FieldError("options.certExpiryDays", "needs options.tls to be true"))
    return options, errors


def _check_url(url: str | None, errors: list[FieldError]) -> str | None:
    if url is None or not url.strip():
        errors.append(FieldError("url", "is required for http targets"))
        return None
    url = url.strip()
    if len(url) > 2048:
        errors.append(FieldError("url", "is longer than 2048 characters"))
        return None
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        errors.append(FieldError("url", f"is not a valid URL: {exc}"))
        return None
    if parsed.scheme not in ("http", "https"):
        errors.append(FieldError("url", "must start with http:// or https://"))
        return None
    if not parsed.host:
        errors.append(FieldError("url", "has no host name"))
        return None
    return url


def normalize_host(host: str) -> str:
    """Strip spaces and IPv6 brackets; raise ValueError when `host` is no address or name."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise ValueError("is empty")
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        pass
    if "://" in host or "/" in host:
        raise ValueError("must be a host name or IP address, not a URL")
    try:
        ascii_name = host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{host!r} is not a valid host name") from None
    if len(ascii_name) > 253 or not all(_HOST_LABEL.fullmatch(p) for p in ascii_name.split(".")):
        raise ValueError(f"{host!r} is not a valid host name")
    return host


def _check_host(host: str | None, kind: ProbeKind, errors: list[FieldError]) -> str | None:
    if host is None or not host.strip():
        errors.append(FieldError("host", f"is required for {kind.value} targets"))
        return None
    try:
        return normalize_host(host)
    except ValueError as exc:
        errors.append(FieldError("host", str(exc)))
        return None


def validate_target_settings(
    *,
    kind: str,
    url: str | None = None,
    host: str | None = None,
    port: int | None = None,
    timeout_seconds: float,
    interval_seconds: float | None = None,
    options: Mapping[str, Any] | None = None,
) -> ValidatedSettings:
    """Check a target's settings and return them in canonical form (option defaults filled).

    Raises `TargetSettingsError` listing every problem, each naming its field.
    """
    errors: list[FieldError] = []
    try:
        probe_kind = ProbeKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in ProbeKind)
        raise TargetSettingsError([FieldError("kind", f"must be one of {kinds}")]) from None

    checked_url: str | None = None
    checked_host: str | None = None
    if probe_kind is ProbeKind.HTTP:
        checked_url = _check_url(url, errors)
        if host is not None:
            errors.append(FieldError("host", "is not used by http targets; put it in url"))
        if port is not None:
            errors.append(FieldError("port", "is not used by http targets; put it in url"))
    else:
        if url is not None:
            errors.append(FieldError("url", f"is not used by {probe_kind.value} targets; use host"))
        checked_host = _check_host(host, probe_kind, errors)
        if probe_kind is ProbeKind.TCP:
            if port is None:
                errors.append(FieldError("port", "is required for tcp targets"))
            elif isinstance(port, bool) or not 1 <= port <= 65535:
                errors.append(FieldError("port", "must be between 1 and 65535"))
        elif port is not None:
            errors.append(FieldError("port", "is not used by icmp targets"))

    if not math.isfinite(timeout_seconds) or not 0 < timeout_seconds <= MAX_TIMEOUT_SECONDS:
        errors.append(
            FieldError("timeoutSeconds", f"must be above 0 and at most {MAX_TIMEOUT_SECONDS:g}")
        )
    if interval_seconds is not None:
        if not math.isfinite(interval_seconds) or interval_seconds < MIN_INTERVAL_SECONDS:
            errors.append(
                FieldError("intervalSeconds", f"must be at least {MIN_INTERVAL_SECONDS:g}")
            )
        elif timeout_seconds > interval_seconds:
            errors.append(FieldError("timeoutSeconds", "must not exceed intervalSeconds"))

    parsed_options, option_errors = _check_options(probe_kind, options)
    errors.extend(option_errors)
    if errors or parsed_options is None:
        raise TargetSettingsError(errors)
    return ValidatedSettings(
        kind=probe_kind,
        url=checked_url,
        host=checked_host,
        port=port if probe_kind is ProbeKind.TCP else None,
        timeout_seconds=float(timeout_seconds),
        interval_seconds=None if interval_seconds is None else float(interval_seconds),
        parsed_options=parsed_options,
    )
