"""Sending one message to one channel: a JSON webhook (optionally signed with HMAC-SHA256), a
Slack-compatible incoming webhook, or email over SMTP.

Every attempt carries the delivery's idempotency key: the ``Idempotency-Key`` header on both
webhooks, and on email the ``Message-ID`` (built from the key) plus an
``X-Uptime-Idempotency-Key`` header. A failure raises ``SendError``; ``permanent`` says that
retrying cannot help (a 4xx answer other than 408, 425 and 429, a redirect, a refused
recipient, an address the policy refuses).

Every connection goes through the address policy (``uptime_core.address_policy``,
``send_policy()``): the host is resolved once, each address checked against
``UPTIME_BLOCKED_NETWORKS`` / ``UPTIME_ALLOWED_NETWORKS``, and the connection made to exactly
the checked address; TLS still verifies the certificate for the configured host name.
Redirects are never followed: a 3xx fails the delivery at once, naming where it pointed.

The whole of one attempt is bounded by its timeout (``asyncio.timeout``), not just each phase:
httpx's timeouts apply per connect, read and write, and aiosmtplib's per reply, so a server
that trickles its answer could otherwise stretch a send past the delivery's lease.

A webhook URL is treated as a secret (a Slack URL, a token in the path or query, a user and
password): errors name only its scheme, host and port.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from email.message import EmailMessage

import aiosmtplib
import httpx

from uptime_core.address_policy import (
    AddressBlocked,
    AddressPolicy,
    connect_checked,
    guarded_transport,
    send_policy,
)
from uptime_core.alerting.channels import url_origin
from uptime_core.alerting.messages import Message, render
from uptime_core.alerting.outbox import ClaimedDelivery
from uptime_core.enums import ChannelKind
from uptime_core.probes.errors import quote

SIGNATURE_HEADER = "X-Uptime-Signature"
USER_AGENT = "uptime-alerting"
# Answers worth retrying although they are 4xx.
_RETRYABLE_CLIENT_ERRORS = {408, 425, 429}


class SendError(Exception):
    """One attempt failed; the message is one line without secrets."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def signature(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def send(
    delivery: ClaimedDelivery, timeout_seconds: float, policy: AddressPolicy | None = None
) -> None:
    """Make one attempt at sending ``delivery``, all of it within ``timeout_seconds``, to an
    address ``policy`` (by default ``send_policy()``) allows; raise ``SendError`` when it did
    not go out."""
    if policy is None:
        policy = send_policy()
    try:
        async with asyncio.timeout(timeout_seconds):
            await _send(delivery, timeout_seconds, policy)
    except TimeoutError:
        raise SendError(f"no answer from {_where(delivery)} within {timeout_seconds:g} s") from None
    except AddressBlocked as refusal:
        raise SendError(
            f"not sent to {_where(delivery)}: {refusal.message}", permanent=True
        ) from None


def describe_unexpected(error: BaseException, delivery: ClaimedDelivery) -> str:
    """An unexpected error (a bug) as a delivery's ``last_error``: its type and a short message,
    with the channel's secrets and its URL (all of it but the origin) taken out."""
    text = str(error)
    config = delivery.config
    hidden = [config.get(name) for name in ("url", "secret", "password", "username")]
    url = config.get("url")
    if isinstance(url, str):
        try:
            parsed = httpx.URL(url)
            hidden += [parsed.raw_path.decode(errors="replace"), parsed.path]
            hidden += [parsed.userinfo.decode(errors="replace"), parsed.fragment]
        except (httpx.InvalidURL, TypeError):
            pass
    for value in sorted((v for v in hidden if isinstance(v, str) and len(v) > 1), key=len)[::-1]:
        text = text.replace(value, "[hidden]")
    text = " ".join(text.split())
    if len(text) > 200:
        text = text[:199] + "…"
    name = type(error).__name__
    return f"unexpected error: {name}: {text}" if text else f"unexpected error: {name}"


def _where(delivery: ClaimedDelivery) -> str:
    config = delivery.config
    if delivery.kind is ChannelKind.EMAIL:
        return f"{config.get('host')}:{config.get('port')}"
    return url_origin(str(config.get("url", "")))


async def _send(delivery: ClaimedDelivery, timeout_seconds: float, policy: AddressPolicy) -> None:
    message = render(delivery)
    if delivery.kind is ChannelKind.EMAIL:
        await _send_email(delivery, message, timeout_seconds, policy)
        return
    if delivery.kind is ChannelKind.SLACK:
        body = json.dumps({"text": f"*{message.title}*\n{message.text}"}).encode()
    else:
        body = json.dumps(message.document).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Idempotency-Key": delivery.idempotency_key,
        "X-Uptime-Event": delivery.event,
    }
    secret = delivery.config.get("secret")
    if delivery.kind is ChannelKind.WEBHOOK and secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    await _post(delivery.config["url"], body, headers, timeout_seconds, policy)


def _socket_reason(error: BaseException, url: str) -> str:
    """What the socket layer said under an httpx error (``[Errno 111] Connect call failed
    ...``), which names at most the host; empty when there is no such cause or it quotes any
    part of the URL beyond the host."""
    seen: BaseException | None = error
    reason = ""
    for _ in range(10):  # a chain is short; this bounds a cyclic one
        if seen is None:
            break
        if isinstance(seen, OSError):
            reason = str(seen)
        seen = seen.__cause__ or seen.__context__
    parsed = httpx.URL(url)
    secrets = [url, parsed.userinfo.decode(errors="replace"), parsed.query.decode(errors="replace")]
    secrets += [parsed.path, parsed.raw_path.decode(errors="replace"), parsed.fragment]
    if any(part and part != "/" and part in reason for part in secrets):
        return ""
    return reason[:200]


async def _post(
    url: str, body: bytes, headers: dict[str, str], timeout_seconds: float, policy: AddressPolicy
) -> None:
    # The URL may itself be a secret (Slack's is, Telegram's path holds a token): errors name
    # only its origin, never the URL, and never an error message that might quote it.
    where = url_origin(url)
    # SSL_CERT_FILE / SSL_CERT_DIR are honoured as before; proxy variables are not: through a
    # proxy the policy could not see the address the message goes to.
    transport = guarded_transport(policy, httpx.create_ssl_context())
    try:
        async with httpx.AsyncClient(
            transport=transport, timeout=timeout_seconds, follow_redirects=False
        ) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        raise SendError(f"no answer from {where} within {timeout_seconds:g} s") from None
    except httpx.HTTPError as error:
        reason = _socket_reason(error, url)
        detail = f"{type(error).__name__}: {reason}" if reason else type(error).__name__
        raise SendError(f"cannot reach {where}: {detail}") from None
    if response.is_success:
        return
    status = response.status_code
    if response.is_redirect or 300 <= status < 400:
        # Following it would send the message (and its signature) somewhere nobody configured,
        # and retrying gets the same answer: the channel's URL needs changing.
        location = response.headers.get("location")
        to = f" to {quote(url_origin(str(response.url.join(location))))}" if location else ""
        raise SendError(
            f"{where} answered HTTP {status}, a redirect{to}: redirects are not followed, "
            "point the channel at the final URL",
            permanent=True,
        )
    permanent = 400 <= status < 500 and status not in _RETRYABLE_CLIENT_ERRORS
    raise SendError(f"{where} answered HTTP {status}", permanent=permanent)


async def _send_email(
    delivery: ClaimedDelivery, message: Message, timeout_seconds: float, policy: AddressPolicy
) -> None:
    config = delivery.config
    sender: str = config["from_address"]
    email = EmailMessage()
    email["Subject"] = message.title
    email["From"] = sender
    email["To"] = ", ".join(config["to_addresses"])
    email["Message-ID"] = f"<{delivery.idempotency_key}@{sender.rpartition('@')[2]}>"
    email["X-Uptime-Idempotency-Key"] = delivery.idempotency_key
    email["X-Uptime-Event"] = delivery.event
    email.set_content(message.text + "\n")
    security = config.get("security", "starttls")
    try:
        # Connected here, to an address the policy allows; aiosmtplib keeps the host name for
        # TLS (SNI and certificate verification) and owns the socket from here on.
        sock = await connect_checked(config["host"], config["port"], policy)
        try:
            await aiosmtplib.send(
                email,
                hostname=config["host"],
                sock=sock,
                username=config.get("username"),
                password=config.get("password"),
                use_tls=security == "tls",
                start_tls=security == "starttls",
                timeout=timeout_seconds,
            )
        except BaseException:
            # aiosmtplib's transport owns the socket once connected and closes it itself;
            # this covers a failure (or cancellation) before or during that hand-over.
            sock.close()
            raise
    except aiosmtplib.SMTPRecipientsRefused as error:
        raise SendError(
            f"SMTP server refused the recipients: {quote(str(error))}", permanent=True
        ) from None
    except aiosmtplib.SMTPAuthenticationError as error:
        raise SendError(f"SMTP authentication failed ({error.code})") from None
    except aiosmtplib.SMTPResponseException as error:
        permanent = 500 <= error.code < 600
        raise SendError(f"SMTP server answered {error.code}", permanent=permanent) from None
    except (aiosmtplib.SMTPException, OSError) as error:
        where = f"{config['host']}:{config['port']}"
        raise SendError(
            f"SMTP to {where} failed: {type(error).__name__}: {quote(str(error))}"
        ) from None
