"""A small GraphQL client for the commands that speak to a running API (``uptime targets``).

One POST to ``/graphql`` per operation, through httpx. Whatever goes wrong on the way becomes an
``ApiError`` whose message is one line saying what to do: start the server or point ``--url``
at it, give the right token, and so on.
"""

from __future__ import annotations

import argparse
from typing import Any

import httpx

from uptime_core.runtime.settings import Settings

TIMEOUT_SECONDS = 30.0


class ApiError(Exception):
    """The API could not be asked, or refused; the message is one line for the person."""


def local_url(settings: Settings) -> str:
    """The local server's URL: UPTIME_API_HOST (127.0.0.1 when it listens on every address)
    and UPTIME_API_PORT."""
    host = settings.api_host
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.api_port}"


def resolve_url(given: str | None, settings: Settings) -> str:
    """``--url``, else UPTIME_URL, else the local server; without a trailing ``/graphql``."""
    url = (given or settings.url or local_url(settings)).rstrip("/")
    return url.removesuffix("/graphql")


def api_arguments() -> argparse.ArgumentParser:
    """The options of every command that speaks to the API, as a parent parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        help="the API's address, like https://uptime.example.com (default: UPTIME_URL, else "
        "the local server, http://127.0.0.1:UPTIME_API_PORT)",
    )
    common.add_argument(
        "--token",
        help="the API's bearer token (default: UPTIME_API_TOKEN; the variable keeps it out of "
        "the process list)",
    )
    return common


def client_for(
    args: argparse.Namespace, settings: Settings, timeout: float = TIMEOUT_SECONDS
) -> Client:
    """A client for ``--url`` and ``--token`` (or their defaults, see ``api_arguments``)."""
    token = args.token
    if token is None and settings.api_token is not None:
        token = settings.api_token.get_secret_value()
    return Client(resolve_url(args.url, settings), token, timeout)


class Client:
    """Speaks GraphQL to the API at ``url`` (its root, like http://127.0.0.1:8000)."""

    def __init__(self, url: str, token: str | None, timeout: float = TIMEOUT_SECONDS) -> None:
        self.endpoint = url
        self.url = _shown(url)  # as messages name it: never a password it may carry
        self.has_token = bool(token)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(headers=headers, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The ``data`` of the answer; an ``ApiError`` for anything else."""
        try:
            response = self._http.post(
                f"{self.endpoint}/graphql", json={"query": query, "variables": variables or {}}
            )
        except httpx.InvalidURL as error:
            raise ApiError(
                f"{self.url} is not a URL the client can use ({error}); fix --url or UPTIME_URL"
            ) from None
        except httpx.TransportError as error:
            reason = str(error) or type(error).__name__
            raise ApiError(
                f"cannot reach the API at {self.url} ({reason}); start it (`uptime run`) or "
                "point --url or UPTIME_URL at it"
            ) from None
        if response.status_code == 413:
            raise ApiError(
                f"the API at {self.url} refused a request this large (HTTP 413); raise "
                "UPTIME_API_MAX_BODY_BYTES on the server, or send less at once"
            )
        if response.status_code in (401, 403):
            raise ApiError(
                f"the API at {self.url} refused the request (HTTP {response.status_code}: "
                f"{_short(response.text)}); give its token with --token or UPTIME_API_TOKEN"
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not ("data" in body or "errors" in body):
            raise ApiError(
                f"{self.url} answered HTTP {response.status_code} ({_short(response.text)}), "
                "not GraphQL; is --url or UPTIME_URL the uptime API?"
            )
        errors = body.get("errors") or []
        if errors:
            first = errors[0] if isinstance(errors[0], dict) else {}
            message = str(first.get("message", errors[0]))
            code = (first.get("extensions") or {}).get("code")
            if code == "UNAUTHENTICATED":
                problem = "refused the token given" if self.has_token else "needs a token"
                raise ApiError(
                    f"the API at {self.url} {problem}; give its token with --token or "
                    "UPTIME_API_TOKEN"
                )
            if code == "FORBIDDEN":
                raise ApiError(
                    f"the API at {self.url} refused: {message}; give a token with that scope "
                    "with --token or UPTIME_API_TOKEN (`uptime tokens create --scope ...`)"
                )
            raise ApiError(f"the API at {self.url} answered: {message}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise ApiError(f"the API at {self.url} answered no data")
        return data


def _shown(url: str) -> str:
    """``url`` without the user and password it may hold (``https://***@host``)."""
    scheme, separator, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if not separator or "@" not in authority:
        return url
    return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{path}"


def _short(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
