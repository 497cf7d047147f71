"""deploy/'s monitors as code: the ConfigMap generated from deploy/monitors/monitors.yaml, the
document in it (read by the project's own reader), and the Job that runs `uptime apply --prune`
on it. Strict schema validation, security contexts and resources are checked for every object
by test_kubernetes.py."""

from __future__ import annotations

import argparse
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy.kustomize import Manifest, config_map_hash, render
from tests.deploy.manifests import (
    REPO,
    container_env,
    find,
    secret_data,
    selected_workloads,
)
from uptime_cli.commands import build_parser
from uptime_core.configuration import Document, parse_document

DOCUMENT = REPO / "deploy" / "monitors" / "monitors.yaml"
GENERATOR = "uptime-monitors"
# What `${NAME}` looks like in a document (uptime_core/configuration/secrets.py).
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def strings_in(data: object) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, list):
        for item in data:
            yield from strings_in(item)
    elif isinstance(data, dict):
        for value in data.values():
            yield from strings_in(value)


def referenced_variables(data: object) -> set[str]:
    """Every NAME of a whole-value `${NAME}` in the document."""
    return {m[1] for text in strings_in(data) if (m := REFERENCE.fullmatch(text)) is not None}


def generated_config_map(objects: list[Manifest]) -> Manifest:
    (config_map,) = [
        o
        for o in objects
        if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith(f"{GENERATOR}-")
    ]
    return config_map


def apply_job(objects: list[Manifest]) -> tuple[Manifest, Manifest]:
    """The Job and its one container."""
    job = find(objects, "Job", "apply-monitors")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return job, container


def option(command: list[str], flag: str) -> str:
    """The value after ``flag`` in a command line (given once)."""
    assert command.count(flag) == 1, f"{flag} is given {command.count(flag)} times: {command}"
    return command[command.index(flag) + 1]


def mounted_document(objects: list[Manifest]) -> tuple[str, Manifest]:
    """The file the Job's command names with -f and the ConfigMap it is mounted from; the file
    must be one of that ConfigMap's keys."""
    job, container = apply_job(objects)
    path = PurePosixPath(option(container["command"], "-f"))
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    for mount in container["volumeMounts"]:
        if path.parent == PurePosixPath(mount["mountPath"]):
            source = volumes[mount["name"]]["configMap"]["name"]
            assert mount.get("readOnly") is True
            config_map = find(objects, "ConfigMap", source)
            assert path.name in config_map["data"], f"{source} has no key {path.name}"
            return path.name, config_map
    raise AssertionError(f"no volume is mounted where {path} is")


def test_the_configmap_is_the_document_file_named_with_a_hash_of_it(
    rendered: list[Manifest],
) -> None:
    text = DOCUMENT.read_text()
    config_map = generated_config_map(rendered)
    assert config_map["data"] == {"monitors.yaml": text}
    suffix = config_map_hash({"monitors.yaml": text})
    assert config_map["metadata"]["name"] == f"{GENERATOR}-{suffix}"
    assert config_map["metadata"]["labels"]["app.kubernetes.io/component"] == "monitors"
    # The Job mounts the generated one, by the name kustomize gave it.
    key, mounted = mounted_document(rendered)
    assert (key, mounted["metadata"]["name"]) == ("monitors.yaml", config_map["metadata"]["name"])


def test_the_hash_is_the_one_kustomize_5_computes() -> None:
    """Suffixes `kubectl kustomize` (kubectl 1.32, kustomize v5.5.0) gave these contents, for
    the machines without kubectl; test_kubernetes.py compares whole renderings where it is."""
    assert config_map_hash({"f.yaml": "a: 1\n"}) == "86552t2557"
    assert config_map_hash({"application.properties": "FOO=Bar\n"}) == "g4hk9g2ff8"


def test_a_changed_document_is_a_new_configmap_and_a_new_job_template(tmp_path: Path) -> None:
    """A Job's template cannot change in place: a changed document must change the template
    (the generated name), so that the Job is created anew (Argo CD, Flux, or by hand) and never
    applies a stale copy; nothing else in the Job may change."""
    copy = tmp_path / "deploy"
    shutil.copytree(REPO / "deploy", copy)
    changed = copy / "monitors" / "monitors.yaml"
    changed.write_text(
        DOCUMENT.read_text().replace("intervalSeconds: 30", "intervalSeconds: 45", 1)
    )
    assert changed.read_text() != DOCUMENT.read_text()
    before, after = render(REPO / "deploy"), render(copy)
    old, new = generated_config_map(before), generated_config_map(after)
    assert old["metadata"]["name"] != new["metadata"]["name"]
    old_job, new_job = apply_job(before)[0], apply_job(after)[0]
    assert mounted_document(after)[1]["metadata"]["name"] == new["metadata"]["name"]
    assert str(old_job).replace(old["metadata"]["name"], new["metadata"]["name"]) == str(new_job)


def test_the_document_parses_with_the_projects_own_reader() -> None:
    data = yaml.safe_load(DOCUMENT.read_text())
    variables = referenced_variables(data)
    assert variables, "the example shows a secret read from the environment"
    # Long enough for any secret's rule (a webhook's signing secret needs 16 characters).
    document = parse_document(
        data, environ={name: "d" * 32 for name in variables}, source="monitors.yaml"
    )
    assert isinstance(document, Document)
    assert 2 <= len(document.targets) <= 3
    assert len(document.channels) == 1


def test_the_job_has_every_secret_the_document_references_from_a_secret(
    rendered: list[Manifest], image_env: Callable[[str], dict[str, str]]
) -> None:
    _, container = apply_job(rendered)
    key, config_map = mounted_document(rendered)
    data = yaml.safe_load(config_map["data"][key])
    # Each `${NAME}` comes from a Secret the container takes whole (envFrom)...
    from_secrets: dict[str, str] = {}
    for item in container["envFrom"]:
        if "secretRef" in item:
            from_secrets.update(secret_data(find(rendered, "Secret", item["secretRef"]["name"])))
    missing = referenced_variables(data) - set(from_secrets)
    assert not missing, f"no Secret of the Job holds {missing}"
    # ...and the document, read in the environment the container really gets, is valid.
    env = container_env(rendered, container, image_env(container["image"]))
    parse_document(data, environ=env, source=key)


def test_the_job_runs_uptime_apply_with_prune_on_the_mounted_file(
    rendered: list[Manifest],
) -> None:
    _, container = apply_job(rendered)
    command: list[str] = container["command"]
    assert command[:2] == ["uptime", "apply"]
    assert "--prune" in command
    assert "--dry-run" not in command
    assert option(command, "-f") == "/monitors/monitors.yaml"
    mounted_document(rendered)  # the path is a key of the ConfigMap mounted there


def test_the_job_speaks_to_the_api_service_with_the_apis_token(
    rendered: list[Manifest],
) -> None:
    _, container = apply_job(rendered)
    url = urlsplit(option(container["command"], "--url"))
    service = find(rendered, "Service", str(url.hostname))
    assert url.scheme == "http" and url.port in [p["port"] for p in service["spec"]["ports"]]
    chosen = selected_workloads(rendered, service["spec"]["selector"])
    assert [w["metadata"]["name"] for w in chosen] == ["api"]

    def token_source(of: Manifest) -> Any:
        (item,) = [e for e in of.get("env", []) if e["name"] == "UPTIME_API_TOKEN"]
        return item["valueFrom"]

    (api,) = find(rendered, "Deployment", "api")["spec"]["template"]["spec"]["containers"]
    assert token_source(container) == token_source(api)


def test_the_job_retries_until_the_api_answers_and_goes_away_after(
    rendered: list[Manifest],
) -> None:
    job, _ = apply_job(rendered)
    spec = job["spec"]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    # `uptime apply` exits 1 while the API is not up yet (PostgreSQL, the migration): retried.
    assert spec["backoffLimit"] >= 6  # back-off 10 s doubling: over 10 minutes of tries
    assert spec["activeDeadlineSeconds"] >= 600
    # Long enough for Argo CD to see the hook finish (a TTL of 0 leaves it waiting forever).
    assert spec["ttlSecondsAfterFinished"] >= 600


def test_the_job_is_recreated_by_argo_cd_and_flux(rendered: list[Manifest]) -> None:
    annotations = apply_job(rendered)[0]["metadata"]["annotations"]
    assert annotations == {
        "argocd.argoproj.io/hook": "PostSync",
        "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
        "kustomize.toolkit.fluxcd.io/force": "enabled",
    }


def test_the_uptime_command_accepts_the_jobs_arguments(rendered: list[Manifest]) -> None:
    _, container = apply_job(rendered)
    parser = build_parser()
    commands = [
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    ]
    if not any("apply" in action.choices for action in commands):
        pytest.skip("`uptime apply` is not built yet")
    parser.parse_args(container["command"][1:])  # exits 2 on an unknown or missing argument
