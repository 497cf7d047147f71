"""Questions the deployment tests ask of rendered Kubernetes objects and of compose.yml."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest import mock

from tests.deploy.kustomize import Manifest, pod_spec
from uptime_core.runtime.settings import Settings

REPO = Path(__file__).resolve().parents[2]

# What each deployed component is, as the program sees it: the `uptime` subcommand, the
# Settings field holding the port it serves health on, and the variable that sets that port.
COMPONENTS = {
    "api": {"subcommand": "api", "port_field": "api_port", "port_variable": "UPTIME_API_PORT"},
    "worker": {
        "subcommand": "worker",
        "port_field": "worker_health_port",
        "port_variable": "UPTIME_WORKER_HEALTH_PORT",
    },
}


def find(objects: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def workloads(objects: list[Manifest]) -> list[Manifest]:
    return [o for o in objects if pod_spec(o) is not None]


def pod_labels(workload: Manifest) -> dict[str, str]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["metadata"].get("labels", {}))


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a label selector (plain map, or matchLabels/matchExpressions) selects labels."""
    if "matchLabels" in selector or "matchExpressions" in selector:
        match_labels = selector.get("matchLabels", {})
        for expression in selector.get("matchExpressions", []):
            key, operator, values = (
                expression["key"],
                expression["operator"],
                expression.get("values", []),
            )
            present = key in labels
            if operator == "In" and not (present and labels[key] in values):
                return False
            if operator == "NotIn" and present and labels[key] in values:
                return False
            if operator == "Exists" and not present:
                return False
            if operator == "DoesNotExist" and present:
                return False
    else:
        match_labels = selector
    return bool(selector) and all(labels.get(k) == v for k, v in match_labels.items())


def selected_workloads(objects: list[Manifest], selector: Mapping[str, Any]) -> list[Manifest]:
    """The workloads in the selector's namespace whose pods it selects."""
    return [w for w in workloads(objects) if selects(selector, pod_labels(w))]


def container_ports(workload: Manifest) -> list[Manifest]:
    spec = pod_spec(workload)
    assert spec is not None
    return [port for c in spec["containers"] for port in c.get("ports", [])]


def resolve_port(container: Manifest, port: int | str) -> int:
    """A probe's or Service's port (number, or the name of a container port) as a number,
    which must be one the container declares."""
    declared = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if isinstance(port, str):
        assert port in declared, f"{container['name']} declares no port named {port}"
        return int(declared[port])
    assert port in declared.values(), f"{container['name']} declares no port {port}"
    return port


def secret_data(secret: Manifest) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
    data.update(secret.get("stringData", {}))
    return data


def container_env(
    objects: list[Manifest], container: Manifest, image_env: Mapping[str, str]
) -> dict[str, str]:
    """The environment the container's process gets: the image's ENV, then envFrom, then env,
    with references to Secrets and ConfigMaps resolved from the rendered objects."""

    def source(kind: str, name: str) -> dict[str, str]:
        obj = find(objects, kind, name)
        return secret_data(obj) if kind == "Secret" else dict(obj.get("data", {}))

    env = dict(image_env)
    for item in container.get("envFrom", []):
        if "configMapRef" in item:
            env.update(source("ConfigMap", item["configMapRef"]["name"]))
        if "secretRef" in item:
            env.update(source("Secret", item["secretRef"]["name"]))
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"]
        kind, key_ref = (
            ("Secret", ref["secretKeyRef"])
            if "secretKeyRef" in ref
            else ("ConfigMap", ref["configMapKeyRef"])
        )
        values = source(kind, key_ref["name"])
        assert key_ref["key"] in values, f"{kind}/{key_ref['name']} has no key {key_ref['key']}"
        env[item["name"]] = values[key_ref["key"]]
    return env


def settings_from(env: Mapping[str, str]) -> Settings:
    """The program's own Settings, read from exactly this environment."""
    with mock.patch.dict(os.environ, dict(env), clear=True):
        return Settings()


def quantity(value: str | int) -> float:
    """A Kubernetes quantity (``100m``, ``512Mi``, ``1``) as a number."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(value))
    assert match, f"not a quantity: {value}"
    return float(match[1]) * units.get(match[2], 1)


def env_file(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of an .env file."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def compose_variables(text: str) -> set[str]:
    """The variables a compose file interpolates."""
    return {match[1] for match in _VARIABLE.finditer(text)}


def interpolate(value: Any, variables: Mapping[str, str]) -> Any:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}`` over a parsed file."""
    if isinstance(value, dict):
        return {k: interpolate(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, variables) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name, operator, argument = match[1], match[2], match[3]
        if name in variables and (variables[name] or not (operator or "").startswith(":")):
            return variables[name]
        if operator and operator.endswith("-"):
            return str(argument)
        raise AssertionError(f"compose needs {name}: {argument}")

    return _VARIABLE.sub(substitute, value)
