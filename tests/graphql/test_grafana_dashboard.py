"""deploy/grafana/uptime-dashboard.json: a Grafana dashboard whose every metric is one the
API's /metrics exports (found by a real scrape, read by prometheus-client's parser)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from tests.graphql.conftest import ServeApi
from tests.graphql.test_metrics_endpoint import samples, seed

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "uptime-dashboard.json"

# PromQL words that are not metric names.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "inf", "nan",
}  # fmt: skip


def expressions(node: Any) -> Iterator[str]:
    """Every PromQL expression of the dashboard: panel targets' ``expr`` and the queries of
    its variables."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name in ("expr", "definition") and isinstance(value, str):
                yield value
            else:
                yield from expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers left once strings, label
    matchers, ranges, grouping clauses and function calls are taken out."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\blabel_values\s*\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,[^)]*\)", r"\1", text)
    text = re.sub(r"\$\{?\w+\}?", " ", text)  # Grafana variables ($__range, ${window})
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


def test_metric_names_are_found_in_promql() -> None:
    assert metric_names('max by (key, name) (probe_success{key=~"$target"})') == {"probe_success"}
    assert metric_names(
        'sum(increase(uptime_incidents_total{key=~"a"}[$__range])) or vector(0)'
    ) == {"uptime_incidents_total"}
    assert metric_names("(probe_ssl_earliest_cert_expiry - time()) / 86400") == {
        "probe_ssl_earliest_cert_expiry"
    }
    assert metric_names("label_values(probe_success, key)") == {"probe_success"}


def test_the_dashboard_is_an_importable_grafana_dashboard() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["schemaVersion"] >= 39
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
            assert panel["targets"], panel["title"]
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for part in ("status", "uptime", "p50", "p95", "incidents"):
        assert part in titles, part


async def test_every_metric_the_dashboard_names_is_exported(
    serve_api: ServeApi, database_url: str, db: asyncpg.Connection
) -> None:
    await seed(db)
    async with serve_api(database_url) as base, httpx.AsyncClient(base_url=base) as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 200
    exported = set(samples(answer.text))
    named = set().union(*map(metric_names, expressions(json.loads(DASHBOARD.read_text()))))
    assert {"probe_success", "probe_duration_seconds", "uptime_ratio"} <= named
    assert {"uptime_incidents_open", "uptime_incidents_total"} <= named
    missing = sorted(named - exported)
    assert not missing, f"the dashboard names metrics /metrics does not export: {missing}"
