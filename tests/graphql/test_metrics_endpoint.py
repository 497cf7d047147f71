"""The API's /metrics, scraped over real HTTP and read by prometheus-client's own parser:
blackbox_exporter's names per target from its last check, uptime per window, incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pydantic import SecretStr

from tests.graphql.conftest import ServeApi
from tests.support.targets import TargetSpec, insert_targets, record_history
from uptime_core.enums import TokenScope
from uptime_core.runtime.db import create_pool
from uptime_core.runtime.settings import Settings
from uptime_core.tokens import create_token, revoke_token


def samples(text: str) -> dict[str, list[Sample]]:
    """Every sample of a scrape, by sample name."""
    found: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def by_key(found: dict[str, list[Sample]], name: str) -> dict[str, float]:
    values = {s.labels["key"]: s.value for s in found.get(name, [])}
    assert len(values) == len(found.get(name, [])), f"{name}: one sample per key"
    return values


async def seed(db: asyncpg.Connection) -> dict[str, int]:
    """Four targets: one whose last check is up (HTTP 200, a certificate), one down after an up
    (HTTP, no answer), one degraded (TCP), one never checked. Their ids by key."""
    ids = await insert_targets(
        db,
        [
            TargetSpec(kind="http", url="https://a.example/", name="Alpha"),
            TargetSpec(kind="http", url="https://b.example/", name="Beta"),
            TargetSpec(kind="tcp", host="127.0.0.1", port=9, name="Gamma"),
            TargetSpec(kind="icmp", host="127.0.0.1", name="Delta"),
        ],
    )
    now = datetime.now(UTC).replace(microsecond=0)
    earlier, last = now - timedelta(minutes=2), now - timedelta(minutes=1)
    await record_history(db, ids[0], [(earlier, "down", None), (last, "up", 120.0)])
    await record_history(db, ids[1], [(earlier, "up", 80.0), (last, "down", None)])
    await record_history(db, ids[2], [(last, "degraded", 900.0)])
    expiry = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    await db.execute(
        "UPDATE check_result SET http_status = 200, tls_expires_at = $2 "
        "WHERE target_id = $1 AND scheduled_for = $3",
        ids[0],
        expiry,
        last,
    )
    await db.execute(
        "INSERT INTO incident (target_id, started_at, resolved_at) "
        "VALUES ($1, $2, $3), ($1, $3, NULL)",
        ids[1],
        earlier - timedelta(hours=1),
        earlier,
    )
    keys = await db.fetch("SELECT id, key FROM target")
    return {row["key"]: row["id"] for row in keys}


async def test_one_probe_success_per_checked_target_matching_its_last_check(
    serve_api: ServeApi, database_url: str, db: asyncpg.Connection
) -> None:
    keys = await seed(db)
    assert set(keys) == {"alpha", "beta", "gamma", "delta"}
    await db.execute("UPDATE target SET status = 'down' WHERE key = 'beta'")
    await db.execute("UPDATE target SET paused = true, next_run_at = NULL WHERE key = 'delta'")
    async with serve_api(database_url) as base, httpx.AsyncClient(base_url=base) as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(answer.text)

    assert by_key(found, "probe_success") == {"alpha": 1, "beta": 0, "gamma": 1}
    [alpha] = [s for s in found["probe_success"] if s.labels["key"] == "alpha"]
    assert alpha.labels == {"key": "alpha", "name": "Alpha", "kind": "http"}
    assert by_key(found, "probe_duration_seconds") == {"alpha": 0.12, "gamma": 0.9}
    assert by_key(found, "probe_http_status_code") == {"alpha": 200, "beta": 0}
    assert by_key(found, "probe_ssl_earliest_cert_expiry") == {
        "alpha": datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC).timestamp()
    }
    assert "probe_dns_lookup_time_seconds" not in found  # not measured (docs/metrics.md)

    ratios = {(s.labels["key"], s.labels["window"]): s.value for s in found["uptime_ratio"]}
    for window in ("24h", "7d", "30d"):
        assert ratios[("alpha", window)] == 0.5
        assert ratios[("beta", window)] == 0.5
        assert ratios[("gamma", window)] == 1.0
        assert ("delta", window) not in ratios, "no checks: no ratio, never 0 or 1"
    assert by_key(found, "uptime_incidents_open") == {"alpha": 0, "beta": 1, "gamma": 0, "delta": 0}
    assert by_key(found, "uptime_incidents_total") == {
        "alpha": 0,
        "beta": 2,
        "gamma": 0,
        "delta": 0,
    }
    states = {
        s.labels["key"]: s.labels["status"] for s in found["uptime_target_status"] if s.value == 1
    }
    assert states == {"alpha": "unknown", "beta": "down", "gamma": "unknown", "delta": "paused"}
    assert len(found["uptime_target_status"]) == 4, "one series per target, its state"
    # The process's own metrics come too.
    assert "process_cpu_seconds_total" in found
    assert "python_info" in found


async def test_openmetrics_when_the_scraper_asks_for_it(
    serve_api: ServeApi, database_url: str, db: asyncpg.Connection
) -> None:
    await seed(db)
    async with serve_api(database_url) as base, httpx.AsyncClient(base_url=base) as client:
        answer = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/openmetrics-text")
    assert answer.text.endswith("# EOF\n")


async def test_metrics_need_a_token_when_one_is_configured(
    serve_api: ServeApi, database_url: str
) -> None:
    settings = Settings(database_url=database_url, api_token=SecretStr("s3cret-token"))
    async with (
        serve_api(database_url, settings) as base,
        httpx.AsyncClient(base_url=base) as client,
    ):
        refused = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        accepted = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-token"})
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == "Bearer"
    assert wrong.status_code == 401
    assert accepted.status_code == 200
    assert "process_cpu_seconds_total" in accepted.text


async def test_a_named_read_token_scrapes_until_it_is_revoked(
    serve_api: ServeApi, database_url: str
) -> None:
    settings = Settings(database_url=database_url, api_token=SecretStr("s3cret-token"))
    pool = await create_pool(database_url, settings)
    try:
        token, row = await create_token(pool, "prometheus", TokenScope.READ)
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            serve_api(database_url, settings) as base,
            httpx.AsyncClient(base_url=base) as client,
        ):
            assert (await client.get("/metrics", headers=headers)).status_code == 200
            await revoke_token(pool, row.id)
            assert (await client.get("/metrics", headers=headers)).status_code == 401
    finally:
        await pool.close()
