"""``GET /metrics``: the Prometheus exposition of every target, with blackbox_exporter's names.

Per target, from its last recorded check: ``probe_success``, ``probe_duration_seconds``,
``probe_http_status_code`` (HTTP targets), ``probe_ssl_earliest_cert_expiry`` (where a
certificate was seen), labelled ``key``, ``name`` and ``kind``; then ``uptime_ratio`` and
``uptime_coverage_ratio`` per window, incident counts, the confirmed state, and the process's
own metrics. docs/metrics.md says what each means.

prometheus-client writes the text (escaping, types, OpenMetrics when the scraper asks for
it). The data is read with asyncpg in the route, before anything is written; a collector over
those rows then builds the families, so ``collect()`` (synchronous) never touches the
database. A token with the read scope is required (``require_http_scope``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from uptime_core.enums import CheckStatus, TargetStatus, TokenScope
from uptime_core.exposition import Exposition, read_exposition
from uptime_graphql.auth import require_http_scope

router = APIRouter()

TARGET_LABELS = ["key", "name", "kind"]


class TargetsCollector(Collector):
    """The metric families of one scrape, built from rows already read."""

    def __init__(self, data: Exposition) -> None:
        self.data = data

    def collect(self) -> Iterator[Metric]:
        success = GaugeMetricFamily(
            "probe_success",
            "Whether the last check succeeded (1: up or degraded, 0: down).",
            labels=TARGET_LABELS,
        )
        duration = GaugeMetricFamily(
            "probe_duration_seconds",
            "How long the last check took, in seconds.",
            labels=TARGET_LABELS,
        )
        http_status = GaugeMetricFamily(
            "probe_http_status_code",
            "HTTP status code of the last check's response (0: no response).",
            labels=TARGET_LABELS,
        )
        cert_expiry = GaugeMetricFamily(
            "probe_ssl_earliest_cert_expiry",
            "Expiry of the certificate the last check saw, in unix seconds.",
            labels=TARGET_LABELS,
        )
        last_check = GaugeMetricFamily(
            "uptime_last_check_timestamp_seconds",
            "When the last recorded check finished, in unix seconds.",
            labels=TARGET_LABELS,
        )
        state = GaugeMetricFamily(
            "uptime_target_status",
            "The target's confirmed state: one series, at 1, labelled with the state it is in.",
            labels=[*TARGET_LABELS, "status"],
        )
        ratio = GaugeMetricFamily(
            "uptime_ratio",
            "Share of passing checks over the rolling window (absent without checks).",
            labels=["key", "name", "window"],
        )
        coverage = GaugeMetricFamily(
            "uptime_coverage_ratio",
            "Share of the window's slots that have a recorded result.",
            labels=["key", "name", "window"],
        )
        open_incidents = GaugeMetricFamily(
            "uptime_incidents_open",
            "Incidents open now (0 or 1).",
            labels=["key", "name"],
        )
        incidents = CounterMetricFamily(
            "uptime_incidents",
            "Incidents ever opened for the target.",
            labels=["key", "name"],
        )
        for target in self.data.targets:
            labels = [target.key, target.name, target.kind]
            current = TargetStatus.PAUSED.value if target.paused else target.status
            state.add_metric([*labels, current], 1.0)
            open_incidents.add_metric([target.key, target.name], target.open_incidents)
            incidents.add_metric([target.key, target.name], target.incidents)
            for window, uptime in self.data.uptime.get(target.id, {}).items():
                if uptime.ratio is not None:
                    ratio.add_metric([target.key, target.name, window], uptime.ratio)
                coverage.add_metric([target.key, target.name, window], uptime.coverage)
            if target.check_status is None:
                continue  # never checked: no probe_* series, as blackbox_exporter before a probe
            success.add_metric(labels, 0.0 if target.check_status == CheckStatus.DOWN else 1.0)
            if target.latency_ms is not None:
                duration.add_metric(labels, target.latency_ms / 1000)
            if target.kind == "http":
                http_status.add_metric(labels, target.http_status or 0)
            if target.tls_expires_at is not None:
                cert_expiry.add_metric(labels, target.tls_expires_at.timestamp())
            if target.finished_at is not None:
                last_check.add_metric(labels, target.finished_at.timestamp())
        yield from (success, duration, http_status, cert_expiry, last_check, state)
        yield from (ratio, coverage, open_incidents, incidents)


def scrape_registry(data: Exposition) -> CollectorRegistry:
    """A registry for one scrape: the targets, and this process's own metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TargetsCollector(data))
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


@router.get(
    "/metrics",
    include_in_schema=False,
    dependencies=[Depends(require_http_scope(TokenScope.READ))],
)
async def metrics(request: Request) -> Response:
    data = await read_exposition(request.app.state.pool)
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    # Writing the text takes about 50 ms per 1,000 series: not on the event loop, which
    # serves every other request and subscription of this process.
    body = await asyncio.to_thread(encoder, scrape_registry(data))
    return Response(body, media_type=None, headers={"Content-Type": content_type})
