"""Notification channels (secrets never shown) and their deliveries."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import strawberry

from uptime_core.alerting import channels, outbox
from uptime_graphql.types.enums import ChannelKind, DeliveryEvent, DeliveryState
from uptime_graphql.types.node import Node, global_id
from uptime_graphql.types.pagination import Connection, connection


@strawberry.type(
    description="A generic JSON webhook. Its URL is write-only, like the signing secret: it "
    "may hold a credential (a token in the path or query)."
)
class WebhookSettings:
    url_host: str = strawberry.field(
        description="The URL's scheme, host and port only (https://hooks.example.com)."
    )


@strawberry.type(description="An SMTP relay and the message's addresses (no password shown).")
class EmailSettings:
    host: str
    port: int
    security: str = strawberry.field(description="starttls, tls (implicit) or none.")
    username: str | None
    from_address: str = strawberry.field(name="from")
    to_addresses: list[str] = strawberry.field(name="to")


@strawberry.type(description="Somewhere incident changes are sent.")
class NotificationChannel(Node):
    name: str
    key: str = strawberry.field(
        description="Stable and unique among channels: lowercase letters and digits in runs "
        "joined by single dashes, at most 63 characters; derived from the name unless given."
    )
    kind: ChannelKind
    enabled: bool
    all_targets: bool = strawberry.field(description="Watches every target, present and future.")
    target_ids: list[strawberry.ID] = strawberry.field(
        description="The targets watched (empty with allTargets)."
    )
    reminder_interval_seconds: int | None = strawberry.field(
        description="While a target stays down, a reminder this often; null: none."
    )
    has_secret: bool = strawberry.field(
        description="A secret is set (webhook signing secret, Slack URL, SMTP password); "
        "secrets, and webhook URLs, are write-only."
    )
    webhook: WebhookSettings | None
    email: EmailSettings | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: channels.ChannelRow) -> NotificationChannel:
        config = channels.public_config(row.kind, row.config)
        return cls(
            id=global_id("NotificationChannel", row.id),
            name=row.name,
            key=row.key,
            kind=row.kind,
            enabled=row.enabled,
            all_targets=row.all_targets,
            target_ids=[global_id("Target", t) for t in row.target_ids],
            reminder_interval_seconds=row.reminder_interval_seconds,
            has_secret=channels.has_secret(row.kind, row.config),
            webhook=WebhookSettings(url_host=channels.url_origin(config["url"]))
            if row.kind is ChannelKind.WEBHOOK
            else None,
            email=EmailSettings(
                host=config["host"],
                port=config["port"],
                security=config["security"],
                username=config.get("username"),
                from_address=config["from_address"],
                to_addresses=config["to_addresses"],
            )
            if row.kind is ChannelKind.EMAIL
            else None,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


NotificationChannelConnection = Connection[NotificationChannel]


@strawberry.type(description="One message to one channel: the outbox row and its attempts.")
class Delivery(Node):
    channel_id: strawberry.ID
    incident_id: strawberry.ID | None = strawberry.field(description="Null for test messages.")
    event: DeliveryEvent
    reminder: int = strawberry.field(description="The reminder's number (0 if not one).")
    idempotency_key: str = strawberry.field(
        description="The same on every attempt (Idempotency-Key header, email Message-ID)."
    )
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = strawberry.field(
        description="The last failed attempt's error (kept after success or final failure)."
    )
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def from_row(cls, row: outbox.DeliveryRow) -> Delivery:
        return cls(
            id=global_id("Delivery", row.id),
            channel_id=global_id("NotificationChannel", row.channel_id),
            incident_id=None if row.incident_id is None else global_id("Incident", row.incident_id),
            event=DeliveryEvent(row.event),
            reminder=row.sequence,
            idempotency_key=row.idempotency_key,
            state=DeliveryState(row.state),
            attempts=row.attempts,
            next_attempt_at=row.next_attempt_at,
            last_error=row.last_error,
            created_at=row.created_at,
            sent_at=row.sent_at,
        )


DeliveryConnection = Connection[Delivery]


# -- pages (the queries' resolvers call these) ------------------------------------------------


async def channels_page(
    pool: asyncpg.Pool, first: int, after: int | None
) -> NotificationChannelConnection:
    found = await channels.list_channels(pool, first, after)
    return connection(found, lambda row: row.id, NotificationChannel.from_row)


async def deliveries_page(
    pool: asyncpg.Pool,
    first: int,
    after: int | None,
    channel_id: int | None,
    state: DeliveryState | None,
) -> DeliveryConnection:
    found = await outbox.list_deliveries(
        pool, first, after, channel_id, None if state is None else state.value
    )
    return connection(found, lambda row: row.id, Delivery.from_row)
