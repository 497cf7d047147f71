"""Sending one message to one channel: a JSON webhook (optionally signed with HMAC-SHA256), a
Slack-compatible incoming webhook, or email over SMTP.

Every attempt carries the delivery's idempotency key: the ``Idempotency-Key`` header on both
webhooks, and on email the ``Message-ID`` (built from the key) plus an
``X-Uptime-Idempotency-Key`` header. A failure raises ``SendError``; ``permanent`` says that
retrying cannot help (a 4xx answer other than 408 and 429, a refused recipient).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from email.message import EmailMessage

import aiosmtplib
import httpx

from uptime_core.alerting import ClaimedDelivery, Message, render
from uptime_core.models import ChannelKind

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


async def send(delivery: ClaimedDelivery, timeout_seconds: float) -> None:
    """Make one attempt at sending ``delivery``; raise ``SendError`` when it did not go out."""
    message = render(delivery)
    if delivery.kind is ChannelKind.EMAIL:
        await _send_email(delivery, message, timeout_seconds)
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
    await _post(delivery.config["url"], body, headers, timeout_seconds)


async def _post(url: str, body: bytes, headers: dict[str, str], timeout_seconds: float) -> None:
    # The URL may itself be a secret (Slack's is): errors name only its host.
    host = httpx.URL(url).host
    try:
        async with httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=False) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        raise SendError(f"no answer from {host} within {timeout_seconds:g} s") from None
    except httpx.HTTPError as error:
        reason = str(error).replace(url, host)  # never the full URL: it may hold a secret
        raise SendError(f"cannot reach {host}: {type(error).__name__}: {reason}") from None
    if response.is_success:
        return
    status = response.status_code
    permanent = 400 <= status < 500 and status not in _RETRYABLE_CLIENT_ERRORS
    raise SendError(f"{host} answered HTTP {status}", permanent=permanent)


async def _send_email(delivery: ClaimedDelivery, message: Message, timeout_seconds: float) -> None:
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
        await aiosmtplib.send(
            email,
            hostname=config["host"],
            port=config["port"],
            username=config.get("username"),
            password=config.get("password"),
            use_tls=security == "tls",
            start_tls=security == "starttls",
            timeout=timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        raise SendError(f"SMTP server refused the recipients: {error}", permanent=True) from None
    except aiosmtplib.SMTPAuthenticationError as error:
        raise SendError(f"SMTP authentication failed ({error.code})") from None
    except aiosmtplib.SMTPResponseException as error:
        permanent = 500 <= error.code < 600
        raise SendError(f"SMTP server answered {error.code}", permanent=permanent) from None
    except (aiosmtplib.SMTPException, OSError) as error:
        where = f"{config['host']}:{config['port']}"
        raise SendError(f"SMTP to {where} failed: {type(error).__name__}: {error}") from None
