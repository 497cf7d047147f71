"""The HTTP(S) probe: one request on a fresh connection, redirects followed by hand."""

from __future__ import annotations

import json

import httpx

from uptime_core.address_policy import AddressBlocked, AddressPolicy, guarded_transport
from uptime_core.enums import ErrorKind
from uptime_core.probes.assertions import evaluate_json_assertion, status_accepted
from uptime_core.probes.errors import ProbeFailure, quote, shorten
from uptime_core.probes.observation import Observation
from uptime_core.probes.options import HttpOptions, IpFamily
from uptime_core.probes.result import ProbeResult
from uptime_core.probes.tls import client_ssl_context
from uptime_core.probes.validation import redact_password

MAX_BODY_BYTES = 1024 * 1024
USER_AGENT = "uptime-probe/0.1"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOCAL_ADDRESS = {IpFamily.ANY: None, IpFamily.IPV4: "0.0.0.0", IpFamily.IPV6: "::"}
# No keep-alive: every check pays for DNS, connect and TLS, as a first visitor would.
_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=0)


async def probe_http(
    url: str, options: HttpOptions, observation: Observation, policy: AddressPolicy
) -> ProbeResult:
    """Request `url` and judge the final response; never reuses a connection. Every
    connection, each redirect hop's too, is checked against `policy`."""
    transport = guarded_transport(
        policy,
        client_ssl_context(options.verify_tls),
        limits=_LIMITS,
        local_address=_LOCAL_ADDRESS[options.ip_family],
    )
    async with httpx.AsyncClient(
        transport=transport, timeout=None, trust_env=False, headers={"User-Agent": USER_AGENT}
    ) as client:
        request = client.build_request(
            options.method,
            url,
            headers=options.headers,
            content=options.body.encode() if options.body is not None else None,
            extensions={"trace": observation.on_httpcore_event},
        )
        target_url = request.url
        visited = [str(request.url)]
        while True:
            # The certificate reported is the one of the final hop's server.
            observation.tls_expires_at = None
            try:
                response = await client.send(request, stream=True, follow_redirects=False)
            except AddressBlocked as refusal:
                observation.resolved_address = refusal.address
                raise ProbeFailure(ErrorKind.BLOCKED, shorten(refusal.message)) from None
            try:
                observation.http_status = response.status_code
                next_request = response.next_request if options.follow_redirects else None
                if next_request is None:
                    observation.mark_answered()
                    return await _judge_response(response, options, observation)
            finally:
                await response.aclose()
            next_url = str(next_request.url)
            if len(visited) > options.max_redirects:
                return observation.failed(
                    ErrorKind.TOO_MANY_REDIRECTS, _redirect_message(visited, next_url, options)
                )
            visited.append(next_url)
            request = _without_secrets(next_request, target_url, options)


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


async def _read_body(response: httpx.Response) -> tuple[bytes, bool]:
    """Read at most MAX_BODY_BYTES of the (decoded) body; say whether there was more."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        room = MAX_BODY_BYTES - size
        if len(chunk) > room:
            chunks.append(chunk[:room])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


async def _judge_response(
    response: httpx.Response, options: HttpOptions, observation: Observation
) -> ProbeResult:
    status = response.status_code
    if not status_accepted(status, options.status_ranges):
        accepted = ", ".join(options.accepted_status_codes)
        return observation.failed(
            ErrorKind.HTTP_STATUS,
            shorten(f"HTTP {status} {quote(response.reason_phrase)} is not accepted ({accepted})"),
        )
    if options.keyword is None and options.json_assertion is None:
        return observation.passed(options.degraded_latency_ms, options.cert_expiry_days)

    observation.enter("reading the body")
    body, truncated = await _read_body(response)
    scope = "the first 1 MiB of the body" if truncated else "the body"
    if options.keyword is not None:
        text = body.decode(response.encoding or "utf-8", errors="replace")
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
