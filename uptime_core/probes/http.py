"""The HTTP(S) probe: one request on a fresh connection, redirects followed by hand.

httpx builds the requests (URL parsing and joining, header rules, cookies and the redirect
rules of its client), once per distinct target for the first hop; http_wire.py sends them.
"""

from __future__ import annotations

import base64
import functools
import json

import httpx

from uptime_core.address_policy import AddressPolicy
from uptime_core.enums import ErrorKind
from uptime_core.probes.assertions import evaluate_json_assertion, status_accepted
from uptime_core.probes.errors import InvalidResponse, quote, shorten
from uptime_core.probes.http_wire import Exchange, Hop, exchange
from uptime_core.probes.observation import Observation
from uptime_core.probes.options import HttpOptions
from uptime_core.probes.result import ProbeResult
from uptime_core.probes.tls import client_ssl_context
from uptime_core.probes.validation import redact_password

MAX_BODY_BYTES = 1024 * 1024
USER_AGENT = "uptime-probe/0.1"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What httpx's client sends by default, less keep-alive: every check pays for DNS, connect and
# TLS, as a first visitor would, so the connection is announced as closing. Only the encodings
# http_wire.py decodes are offered.
_DEFAULT_HEADERS = {
    "Accept": "*/*",
    "Accept-Encoding": "gzip, deflate",
    "Connection": "close",
    "User-Agent": USER_AGENT,
}
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_FIRST_HOP_CACHE_SIZE = 4096
_FirstHop = tuple[httpx.Request, Hop, str]


def _build_request(
    method: str, url: str | httpx.URL, headers: httpx.Headers, content: bytes | None
) -> httpx.Request:
    request = httpx.Request(method, url, headers=headers, content=content)
    user, password = request.url.username, request.url.password
    if user or password:
        # httpx's client adds this from the URL's user info (BasicAuth) before sending.
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        request.headers["Authorization"] = f"Basic {token}"
    return request


def _hop(request: httpx.Request) -> Hop:
    """The wire form of an httpx request: its head as httpcore would send it, then its body."""
    url = request.url
    if url.scheme not in _DEFAULT_PORTS:
        raise InvalidResponse(f"Request URL has an unsupported protocol {url.scheme!r}.")
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), url.raw_path)]
    lines.extend(b"%s: %s\r\n" % (name, value) for name, value in request.headers.raw)
    lines.append(b"\r\n")
    lines.append(request.content)
    return Hop(
        host=url.raw_host.decode("ascii"),
        port=url.port or _DEFAULT_PORTS[url.scheme],
        tls=url.scheme == "https",
        payload=b"".join(lines),
        head_only=request.method == "HEAD",
    )


def _first_hop(url: str, options: HttpOptions) -> _FirstHop:
    """The target's own request, built once per distinct URL, method, headers and body (the
    same targets come round every interval), the least recently used dropped past the
    cache's size."""
    return _built_first_hop(url, options.method, tuple(options.headers.items()), options.body)


@functools.lru_cache(maxsize=_FIRST_HOP_CACHE_SIZE)
def _built_first_hop(
    url: str, method: str, header_items: tuple[tuple[str, str], ...], body: str | None
) -> _FirstHop:
    headers = httpx.Headers(_DEFAULT_HEADERS)
    headers.update(dict(header_items))
    request = _build_request(method, url, headers, body.encode() if body is not None else None)
    return (request, _hop(request), str(request.url))


async def probe_http(
    url: str, options: HttpOptions, observation: Observation, policy: AddressPolicy
) -> ProbeResult:
    """Request `url` and judge the final response; never reuses a connection. Every
    connection, each redirect hop's too, is checked against `policy`."""
    request, hop, shown = _first_hop(url, options)
    ssl_context = client_ssl_context(options.verify_tls)
    target_url = request.url
    visited = [shown]
    cookies: httpx.Cookies | None = None
    while True:
        # The certificate reported is the one of the final hop's server.
        observation.tls_expires_at = None
        response = await exchange(hop, options.ip_family, ssl_context, observation, policy)
        try:
            status = response.status
            observation.http_status = status
            location = (
                response.header(b"location")
                if options.follow_redirects and status in _REDIRECT_STATUSES
                else None
            )
            if location is None:
                observation.mark_answered()
                return await _judge_response(response, options, observation)
            if response.header(b"set-cookie") is not None:
                cookies = cookies if cookies is not None else httpx.Cookies()
                cookies.extract_cookies(
                    httpx.Response(status, headers=response.headers, request=request)
                )
            next_request = _redirect_request(request, status, location, cookies)
        finally:
            response.abort()
        next_url = str(next_request.url)
        if len(visited) > options.max_redirects:
            return observation.failed(
                ErrorKind.TOO_MANY_REDIRECTS, _redirect_message(visited, next_url, options)
            )
        visited.append(next_url)
        request = _without_secrets(next_request, target_url, options)
        hop = _hop(request)


def _redirect_request(
    request: httpx.Request, status: int, location: str, cookies: httpx.Cookies | None
) -> httpx.Request:
    """The next hop of a redirect, by the rules of httpx's client (`_build_redirect_request`):
    303, and 302 except for HEAD, become GET, a POST answered with 301 too; the URL is joined
    with the request's; Authorization stays only within the origin or on an upgrade to https;
    a request turned GET loses its body; cookies come from what the hops have set."""
    method = request.method
    if (status in (302, 303) and method != "HEAD") or (status == 301 and method == "POST"):
        method = "GET"
    try:
        url = httpx.URL(location)
    except httpx.InvalidURL as exc:
        raise InvalidResponse(f"Invalid URL in location header: {exc}.") from None
    if url.scheme and not url.host:
        url = url.copy_with(host=request.url.host)
    if url.is_relative_url:
        url = request.url.join(url)
    if request.url.fragment and not url.fragment:
        url = url.copy_with(fragment=request.url.fragment)
    headers = request.headers.copy()
    if _origin(url) != _origin(request.url):
        upgrade = (*_origin(request.url), url.scheme, _origin(url)[2])
        if upgrade != ("http", url.host, 80, "https", 443):
            headers.pop("Authorization", None)
        headers["Host"] = url.netloc.decode("ascii")
    content: bytes | None = request.content
    if method != request.method and method == "GET":
        headers.pop("Content-Length", None)
        headers.pop("Transfer-Encoding", None)
        content = None
    headers.pop("Cookie", None)
    return httpx.Request(method, url, headers=headers, content=content, cookies=cookies)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme))


def _without_secrets(
    request: httpx.Request, target_url: httpx.URL, options: HttpOptions
) -> httpx.Request:
    """A redirect hop as httpx built it, less what the target stores as secret (its header
    values, its body, its URL's user and password) when the hop leaves the scheme, host and
    port of the target's URL: httpx itself drops only Authorization and Cookie, and keeps a
    307/308's body. Once dropped, nothing comes back on a later hop."""
    if _origin(request.url) == _origin(target_url):
        return request
    headers = request.headers.copy()
    for name in options.headers:
        if name.lower() != "host":  # httpx already set it to the hop's host
            headers.pop(name, None)
    # From the URL's user info, which httpx keeps on a same-host upgrade to https.
    headers.pop("Authorization", None)
    url = request.url
    if url.userinfo and url.userinfo == target_url.userinfo:
        url = url.copy_with(username=None, password=None)
    # A request without a body: a POST kept by a 307/308 goes on with Content-Length: 0.
    headers.pop("Content-Length", None)
    headers.pop("Transfer-Encoding", None)
    return httpx.Request(request.method, url, headers=headers, extensions=request.extensions)


def _redirect_message(visited: list[str], next_url: str, options: HttpOptions) -> str:
    # A URL's password is write-only: messages reach the API, incidents and notifications.
    if next_url in visited:
        cycle_start = len(visited) - 1 - visited[::-1].index(next_url)
        loop = [*visited[cycle_start:], next_url]
        hops = " -> ".join(quote(redact_password(url)) for url in loop)
        return shorten(f"redirect loop: {hops}")
    last = quote(redact_password(next_url))
    return shorten(f"more than {options.max_redirects} redirects (last to {last})")


async def _judge_response(
    response: Exchange, options: HttpOptions, observation: Observation
) -> ProbeResult:
    status = response.status
    if not status_accepted(status, options.status_ranges):
        accepted = ", ".join(options.accepted_status_codes)
        reason = quote(response.reason.decode("ascii", errors="ignore"))
        return observation.failed(
            ErrorKind.HTTP_STATUS,
            shorten(f"HTTP {status} {reason} is not accepted ({accepted})"),
        )
    if options.keyword is None and options.json_assertion is None:
        return observation.passed(options.degraded_latency_ms, options.cert_expiry_days)

    observation.enter("reading the body")
    body, truncated = await response.read_body(MAX_BODY_BYTES)
    scope = "the first 1 MiB of the body" if truncated else "the body"
    if options.keyword is not None:
        text = body.decode(response.charset(), errors="replace")
        found = options.keyword in text
        if found and options.keyword_absent:
            return observation.failed(
                ErrorKind.KEYWORD, shorten(f"{options.keyword!r} found in {scope}")
            )
        if not found and not options.keyword_absent:
            return observation.failed(
                ErrorKind.KEYWORD, shorten(f"{options.keyword!r} not found in {scope}")
            )
    assertion = options.json_assertion
    if assertion is not None:
        if truncated:
            return observation.failed(
                ErrorKind.INVALID_RESPONSE, "body is larger than 1 MiB; cannot check JSON"
            )
        try:
            document = json.loads(body)
        except ValueError as exc:
            return observation.failed(
                ErrorKind.INVALID_RESPONSE, shorten(f"body is not JSON: {quote(str(exc))}")
            )
        failure = evaluate_json_assertion(
            document, assertion.parsed_path, assertion.operator, assertion.value
        )
        if failure is not None:
            return observation.failed(ErrorKind.JSON_ASSERTION, shorten(failure))
    return observation.passed(options.degraded_latency_ms, options.cert_expiry_days)
