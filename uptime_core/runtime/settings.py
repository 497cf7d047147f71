"""Configuration from the environment: ``DATABASE_URL`` and ``UPTIME_*`` variables."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The values `.env.example` and `deploy/secret.example.yaml` ship: a token nobody changed is
# no secret.
EXAMPLE_API_TOKENS = frozenset({"change-me-to-a-long-random-token", "example-token-change-me"})

# Refused by default for probes and notification sends: link-local (where clouds serve
# instance metadata and credentials), the metadata addresses outside it, and "this network"
# (0.0.0.0/8 and ::, which Linux connects to the machine itself).
DEFAULT_BLOCKED_NETWORKS = (
    "169.254.0.0/16",
    "fe80::/10",
    "100.100.100.200/32",
    "fd00:ec2::254/128",
    "0.0.0.0/8",
    "::/128",
)


class ConfigurationError(Exception):
    """A setting or the environment stops the program; the message says what to change."""


def default_data_dir() -> Path:
    """``/var/lib/uptime`` for root, else ``$XDG_DATA_HOME/uptime`` or
    ``~/.local/share/uptime``."""
    if os.geteuid() == 0:
        return Path("/var/lib/uptime")
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "uptime"


def default_worker_id() -> str:
    # Containers often all run as pid 1 under reused host names: add a random part.
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Settings(BaseSettings):
    """Every setting of the program; README.md lists them with their defaults."""

    model_config = SettingsConfigDict(env_prefix="UPTIME_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "UPTIME_DATABASE_URL"),
        description="PostgreSQL URL; unset starts the embedded PostgreSQL in UPTIME_DATA_DIR.",
    )
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the embedded PostgreSQL keeps its files.",
    )
    api_host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    api_port: int = Field(default=8000, ge=0, le=65535, description="Port the API listens on.")
    api_token: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer token every operation needs (queries, mutations, subscriptions); without "
            "one the API listens on loopback only and answers loopback host names only."
        ),
    )
    url: str | None = Field(
        default=None,
        description=(
            "The API that `uptime targets` talks to, like https://uptime.example.com; unset: "
            "the local server, http://127.0.0.1:UPTIME_API_PORT."
        ),
    )
    api_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Comma-separated host names the API answers without a token, besides loopback "
            "names and addresses (a guard against DNS rebinding)."
        ),
    )
    api_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body the API reads; larger ones get 413 unread.",
    )
    blocked_networks: Annotated[list[Network], NoDecode] = Field(
        default_factory=lambda: [ipaddress.ip_network(n) for n in DEFAULT_BLOCKED_NETWORKS],
        description=(
            "Comma-separated CIDR networks probes and notification sends may not connect to "
            "(checked against the resolved address); replaces the default list; empty blocks "
            "nothing."
        ),
    )
    allowed_networks: Annotated[list[Network], NoDecode] = Field(
        default_factory=list,
        description=("Comma-separated CIDR networks allowed even inside UPTIME_BLOCKED_NETWORKS."),
    )
    worker_id: str = Field(
        default_factory=default_worker_id,
        description="Name this worker writes into the leases it takes (default: host-pid-random).",
    )
    worker_health_host: str = Field(
        default="127.0.0.1", description="Address of the worker's /healthz, /readyz and /metrics."
    )
    worker_health_port: int = Field(
        default=8001, ge=0, le=65535, description="Port of the worker's health endpoints."
    )
    worker_concurrency: int = Field(
        default=200, ge=1, description="Probes one worker runs at the same time."
    )
    worker_batch_size: int = Field(
        default=100, ge=1, description="Slots claimed, and results recorded, per statement."
    )
    worker_lease_margin_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Added to twice the probe timeout to make a lease's length.",
    )
    worker_claim_ahead_seconds: float = Field(
        default=1.0,
        ge=0.1,
        le=10.0,
        description=(
            "How far ahead of their time slots are claimed, so that each check starts at its "
            "slot; new or changed targets are seen within this time."
        ),
    )
    retention_days: int = Field(
        default=30,
        ge=1,
        description="Days of raw check results kept; rollups keep the statistics beyond.",
    )
    alert_concurrency: int = Field(
        default=20, ge=1, description="Deliveries one worker sends at the same time."
    )
    alert_send_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Seconds one attempt at sending may take."
    )
    alert_retry_initial_seconds: float = Field(
        default=1.0, gt=0, description="Wait before the first retry of a delivery (then doubles)."
    )
    alert_retry_max_seconds: float = Field(
        default=300.0, gt=0, description="Longest wait between two attempts of a delivery."
    )
    alert_deadline_seconds: float = Field(
        default=86400.0,
        gt=0,
        description="A delivery not sent this long after it was written is given up (failed).",
    )
    db_pool_size: int = Field(default=10, ge=1, description="Connections each process keeps.")
    db_connect_timeout: float = Field(
        default=5.0, gt=0, description="Seconds to wait for a database connection."
    )
    shutdown_grace_seconds: float = Field(
        default=30.0, gt=0, description="How long `uptime run` waits for API and worker to stop."
    )
    log_level: str = Field(default="info", description="debug, info, warning or error.")

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, url: str | None) -> str | None:
        if url and url.partition("://")[0].split("+")[0] not in ("postgres", "postgresql"):
            raise ValueError("must be a postgresql:// URL (PostgreSQL is the only database)")
        try:
            _ = urlsplit(url or "").port
        except ValueError:
            raise ValueError("has a port that is not a number from 1 to 65535") from None
        return url or None

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL, like http://127.0.0.1:8000")
        return url.rstrip("/")

    @field_validator("api_token")
    @classmethod
    def _real_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is None:
            return None
        value = token.get_secret_value()
        if not value.strip():
            raise ValueError(
                "is empty; set a long random token (openssl rand -hex 32) or unset it to serve "
                "loopback only"
            )
        if value.strip() in EXAMPLE_API_TOKENS:
            raise ValueError(
                "is the example value from .env.example or deploy/; set a long random token "
                "(openssl rand -hex 32)"
            )
        return token

    @field_validator("api_allowed_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [host.strip().lower() for host in value.split(",") if host.strip()]
        if isinstance(value, list | tuple):
            hosts = []
            for host in value:
                if not isinstance(host, str):
                    return value
                try:  # an IPv6 address, with or without brackets, as the Host rule compares it
                    hosts.append(str(ipaddress.ip_address(host.strip("[]"))))
                    continue
                except ValueError:
                    pass
                if any(c in host for c in ":/@ []"):
                    raise ValueError(
                        f"has {host!r}: list host names or addresses only, like "
                        "status.example.com (no scheme, port or path)"
                    )
                hosts.append(host.removesuffix("."))
            return hosts
        return value

    @field_validator("blocked_networks", "allowed_networks", mode="before")
    @classmethod
    def _network_list(cls, value: object) -> object:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        if isinstance(value, list | tuple):
            networks = []
            for item in value:
                try:
                    networks.append(ipaddress.ip_network(item, strict=False))
                except ValueError:
                    raise ValueError(
                        f"has {str(item)!r}, which is not a CIDR network like 10.0.0.0/8"
                    ) from None
            return networks
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, level: str) -> str:
        if level.lower() not in ("debug", "info", "warning", "error"):
            raise ValueError("must be one of debug, info, warning, error")
        return level.lower()


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
