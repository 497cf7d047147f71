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

from uptime_core.enums import ProbeKind
from uptime_core.probes.assertions import ORDERING_OPERATORS, JsonOperator
from uptime_core.probes.options import (
    HttpOptions,
    IcmpOptions,
    ProbeOptions,
    TcpOptions,
    header_problems,
)
from uptime_core.validation import FieldError, InvalidFields

MAX_TIMEOUT_SECONDS = 300.0
MIN_INTERVAL_SECONDS = 1.0
MAX_URL_LENGTH = 2048
HIDDEN_PASSWORD = "***"
# Whitespace, control characters (C0, DEL, C1) and backslashes: never sent as typed (httpx
# would percent-encode some, refuse others, and parsers disagree on backslashes).
_URL_FORBIDDEN = re.compile(r"[\s\x00-\x1f\x7f-\x9f\\]")
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")
_OPTIONS_MODELS: dict[ProbeKind, type[ProbeOptions]] = {
    ProbeKind.HTTP: HttpOptions,
    ProbeKind.TCP: TcpOptions,
    ProbeKind.ICMP: IcmpOptions,
}


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


def _options_errors(error: ValidationError, *, skip: str | None = None) -> list[FieldError]:
    errors = []
    for detail in error.errors(include_url=False):
        if skip is not None and detail["loc"][:1] == (skip,):
            continue
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
    # Header problems are named one by one (`options.headers[2].value`), pydantic's by field.
    header_errors = []
    if kind is ProbeKind.HTTP and raw.get("headers") is not None:
        header_errors = [
            FieldError(f"options.headers{where}", message)
            for where, message in header_problems(raw["headers"])
        ]
    try:
        options = _OPTIONS_MODELS[kind].model_validate(raw)
    except ValidationError as exc:
        return None, header_errors + _options_errors(exc, skip="headers" if header_errors else None)
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


@dataclass(frozen=True, slots=True)
class UrlParts:
    """An http(s) URL cut where the user info and the host are: `url == before + authority +
    after`, `authority == userinfo + "@" + hostport` (or just `hostport`)."""

    scheme: str
    before: str
    userinfo: str | None
    hostport: str
    after: str

    @property
    def user(self) -> str | None:
        return None if self.userinfo is None else self.userinfo.partition(":")[0]

    @property
    def password(self) -> str | None:
        if self.userinfo is None or ":" not in self.userinfo:
            return None
        return self.userinfo.partition(":")[2]

    def with_password(self, password: str) -> str:
        """The same URL with another password (the user name kept)."""
        return f"{self.before}{self.user}:{password}@{self.hostport}{self.after}"


def split_url(url: str) -> UrlParts | None:
    """`url` cut into its parts, or None when it has no `scheme://` authority."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return None
    end = len(rest)
    for mark in "/?#":
        found = rest.find(mark)
        if found != -1:
            end = min(end, found)
    authority, after = rest[:end], rest[end:]
    userinfo, at, hostport = authority.rpartition("@")
    return UrlParts(scheme.lower(), f"{scheme}://", userinfo if at else None, hostport, after)


def redact_password(url: str) -> str:
    """`url` with the password of its user info replaced by `***` (user info is write-only
    like header values): `http://user:***@host/`."""
    parts = split_url(url)
    if parts is None or parts.password is None:
        return url
    return parts.with_password(HIDDEN_PASSWORD)


def _url_problem(url: str) -> str | None:
    if len(url) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    bad = _URL_FORBIDDEN.search(url)
    if bad is not None:
        return f"contains {bad.group()!r}: spaces, control characters and backslashes must be " + (
            "percent-encoded"
        )
    parts = split_url(url)
    if parts is None or parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    host, port = parts.hostport, None
    if host.startswith("["):
        host, bracket, tail = host[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            return "has a malformed IPv6 address (write it as [::1])"
        port = tail[1:] if tail else None
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"[{host}] is not an IPv6 address"
    elif ":" in host:
        host, _, port = host.rpartition(":")
    if not host:
        return "has no host name"
    if port == "":
        return "has an empty port (leave out the colon)"
    if port is not None and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        return "has a port outside 1-65535"
    if not parts.hostport.startswith("["):
        try:
            normalize_host(host)
        except ValueError:
            return f"{host[:64]!r} is not a valid host name"
    try:
        httpx.Request("GET", url)
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        return f"is not a valid URL: {exc}"
    return None


def _check_url(url: str | None, errors: list[FieldError]) -> str | None:
    if url is None or not url.strip():
        errors.append(FieldError("url", "is required for http targets"))
        return None
    url = url.strip()
    problem = _url_problem(url)
    if problem is not None:
        errors.append(FieldError("url", problem))
        return None
    return url


def _check_request_builds(url: str, options: HttpOptions, errors: list[FieldError]) -> None:
    """The request the probe will send must build: what the rules above missed, httpx says."""
    try:
        httpx.Request(
            options.method,
            url,
            headers=options.headers,
            content=None if options.body is None else options.body.encode(),
        )
    except (httpx.InvalidURL, UnicodeError, ValueError, TypeError) as exc:
        errors.append(FieldError("options.headers", f"cannot be sent: {exc}"))


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

    Raises `InvalidFields` listing every problem, each naming its field.
    """
    errors: list[FieldError] = []
    try:
        probe_kind = ProbeKind(kind)
    except ValueError:
        kinds = ", ".join(k.value for k in ProbeKind)
        raise InvalidFields([FieldError("kind", f"must be one of {kinds}")]) from None

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
    if isinstance(parsed_options, HttpOptions) and checked_url is not None and not errors:
        _check_request_builds(checked_url, parsed_options, errors)
    if errors or parsed_options is None:
        raise InvalidFields(errors)
    return ValidatedSettings(
        kind=probe_kind,
        url=checked_url,
        host=checked_host,
        port=port if probe_kind is ProbeKind.TCP else None,
        timeout_seconds=float(timeout_seconds),
        interval_seconds=None if interval_seconds is None else float(interval_seconds),
        parsed_options=parsed_options,
    )
