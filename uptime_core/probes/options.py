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
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE_FORBIDDEN = re.compile(r"[\r\n\x00]")


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

    @field_validator("headers")
    @classmethod
    def _valid_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid header name")
            if _HEADER_VALUE_FORBIDDEN.search(value):
                raise ValueError(f"the value of {name!r} contains a line break or NUL")
        return headers

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
