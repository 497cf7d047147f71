"""The schema of `target.options`: kind-specific settings, camelCase in JSON, `{}` valid."""

from __future__ import annotations

import enum
import re
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    field_validator,
)
from pydantic.alias_generators import to_camel

from uptime_core.probes.assertions import (
    JsonOperator,
    JsonPath,
    parse_json_path,
    parse_status_ranges,
)

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_HEADERS = 50
MAX_HEADER_BYTES = 8192  # every "name: value" line together, as sent
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# httpx sends header values as ASCII: visible characters, spaces and tabs, nothing else.
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
# Hop-by-hop and framing headers belong to the connection, which the probe owns: a stored
# `Transfer-Encoding` or `Content-Length` would contradict the body actually sent. `Host` is
# allowed on purpose (checking one virtual host of a shared address is a real use).
_CONNECTION_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}
)


def _header_pairs(headers: Any) -> list[Any] | None:
    """Headers as a list of `{"name", "value"}`: the API's form, or the stored object's."""
    if isinstance(headers, dict):
        return [{"name": name, "value": value} for name, value in headers.items()]
    return headers if isinstance(headers, list) else None


def header_problems(headers: Any) -> list[tuple[str, str]]:
    """What is wrong with request headers given as a `{name: value}` object or a list of
    `{"name", "value"}` objects: `(where, message)` pairs, `where` like `[2].value`."""
    pairs = _header_pairs(headers)
    if pairs is None:
        return [("", "must be a list of names and values")]
    problems: list[tuple[str, str]] = []
    if len(pairs) > MAX_HEADERS:
        problems.append(("", f"at most {MAX_HEADERS} headers"))
    seen: set[str] = set()
    size = 0
    for index, pair in enumerate(pairs):
        name = pair.get("name") if isinstance(pair, dict) else None
        value = pair.get("value") if isinstance(pair, dict) else None
        if not isinstance(name, str) or not isinstance(value, str):
            problems.append((f"[{index}]", "needs a name and a value, both text"))
            continue
        lowered = name.lower()
        if not _HEADER_NAME.fullmatch(name):
            problems.append((f"[{index}].name", f"{name[:64]!r} is not a valid header name"))
        elif lowered in _CONNECTION_HEADERS or lowered.startswith("proxy-"):
            message = f"{name} is a hop-by-hop or framing header: the probe sets those itself"
            problems.append((f"[{index}].name", message))
        elif lowered in seen:
            problems.append((f"[{index}].name", f"{name} is given twice"))
        seen.add(lowered)
        if not _HEADER_VALUE.fullmatch(value):
            problems.append(
                (
                    f"[{index}].value",
                    "may hold only printable ASCII, spaces and tabs "
                    "(no line breaks, control or non-ASCII characters)",
                )
            )
        size += len(name) + 2 + len(value.strip())
    if size > MAX_HEADER_BYTES:
        problems.append(("", f"are {size} bytes together; at most {MAX_HEADER_BYTES}"))
    return problems


class IpFamily(enum.StrEnum):
    """Which address family to use when a name resolves to both."""

    ANY = "any"
    IPV4 = "ipv4"
    IPV6 = "ipv6"


class _Options(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class JsonAssertion(_Options):
    """`{"path": "$.status", "operator": "==", "value": "ok"}` checked against a JSON body."""

    path: str = Field(min_length=1, max_length=500)
    operator: JsonOperator = JsonOperator.EQ
    value: JsonValue = None

    @field_validator("path")
    @classmethod
    def _path_parses(cls, path: str) -> str:
        parse_json_path(path)
        return path.strip()

    @property
    def parsed_path(self) -> JsonPath:
        """The path as keys and indexes."""
        return parse_json_path(self.path)


class _CommonOptions(_Options):
    degraded_latency_ms: float | None = Field(default=None, gt=0, le=3_600_000)
    ip_family: IpFamily = IpFamily.ANY


class _TlsOptions(_CommonOptions):
    verify_tls: bool = True
    cert_expiry_days: int | None = Field(default=None, ge=1, le=3650)


class HttpOptions(_TlsOptions):
    """Settings of an HTTP(S) check."""

    method: str = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = Field(default=None, max_length=1_048_576)
    accepted_status_codes: list[str] = Field(default_factory=lambda: ["200-399"], min_length=1)
    follow_redirects: bool = True
    max_redirects: int = Field(default=10, ge=0, le=50)
    keyword: str | None = Field(default=None, min_length=1, max_length=10_000)
    keyword_absent: bool = False
    json_assertion: JsonAssertion | None = None

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: str) -> str:
        method = method.strip().upper()
        if method not in HTTP_METHODS:
            raise ValueError(f"must be one of {', '.join(HTTP_METHODS)}")
        return method

    @field_validator("headers", mode="before")
    @classmethod
    def _valid_headers(cls, headers: Any) -> Any:
        # Given as the API's list or the stored object; kept as an object, values stripped.
        problems = header_problems(headers)
        if problems:
            where, message = problems[0]
            raise ValueError(f"{where}: {message}" if where else message)
        pairs = _header_pairs(headers) or []
        return {pair["name"]: pair["value"].strip() for pair in pairs}

    @field_validator("accepted_status_codes", mode="before")
    @classmethod
    def _codes_as_text(cls, codes: Any) -> Any:
        if isinstance(codes, list):
            return [str(code) if isinstance(code, int) else code for code in codes]
        return codes

    @field_validator("accepted_status_codes")
    @classmethod
    def _codes_parse(cls, codes: list[str]) -> list[str]:
        codes = [code.replace(" ", "") for code in codes]
        parse_status_ranges(codes)
        return codes

    @property
    def status_ranges(self) -> tuple[tuple[int, int], ...]:
        """Accepted status codes as inclusive ranges."""
        return parse_status_ranges(self.accepted_status_codes)


class TcpOptions(_TlsOptions):
    """Settings of a TCP check, optionally followed by a TLS handshake."""

    tls: bool = False


class IcmpOptions(_CommonOptions):
    """Settings of an ICMP echo check (one echo request per check)."""


ProbeOptions = HttpOptions | TcpOptions | IcmpOptions
