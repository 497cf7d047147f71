"""compose.yml: valid by the Compose specification, and the same deployment as deploy/."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from tests.deploy.conftest import DOCKERFILES
from tests.deploy.dockerfile import Dockerfile
from tests.deploy.kustomize import Manifest
from tests.deploy.manifests import (
    REPO,
    compose_variables,
    find,
    settings_from,
)
from tests.deploy.test_kubernetes import with_generated_token
from uptime_core.runtime.settings import Settings, is_loopback

CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"


def check_compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema with the Compose specification's schema it ships (no network)."""
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def service_env(
    service: dict[str, Any], image_env: Callable[[str], dict[str, str]]
) -> dict[str, str]:
    return {**image_env(service["image"]), **service.get("environment", {})}


def test_compose_file_passes_the_compose_specification_schema(tmp_path: Path) -> None:
    result = check_compose_schema(REPO / "compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    # The schema is strict: an unknown field in a service is an error.
    broken = yaml.safe_load((REPO / "compose.yml").read_text())
    broken["services"]["api"]["depends_onn"] = ["postgres"]
    (tmp_path / "compose.yml").write_text(yaml.safe_dump(broken))
    assert check_compose_schema(tmp_path / "compose.yml").returncode != 0


def test_api_and_worker_start_only_after_the_migration_succeeds(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
    migrate = services["migrate"]
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert migrate["restart"] == "no"  # one-shot: a finished migration is not restarted


def test_every_long_running_service_has_a_healthcheck(
    compose: dict[str, Any], dockerfiles: dict[str, Dockerfile]
) -> None:
    services = compose["services"]
    postgres = services["postgres"]
    assert postgres["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    # The postgres data lives in a named volume that compose.yml declares.
    (volume,) = postgres["volumes"]
    assert volume.split(":")[0] in compose["volumes"]
    assert volume.split(":")[1] == "/var/lib/postgresql/data"
    for name in ("api", "worker"):
        service = services[name]
        assert not service.get("healthcheck", {}).get("disable", False)
        image = service["image"].split(":")[0]
        # The service is built from the Dockerfile of the image it names, whose HEALTHCHECK
        # (tested in test_dockerfiles.py) it inherits.
        assert service["build"]["dockerfile"] == DOCKERFILES[image]
        assert dockerfiles[image].final.last("HEALTHCHECK") is not None, image


def test_the_api_publishes_the_port_it_listens_on_and_can_listen_there(
    compose: dict[str, Any], image_env: Callable[[str], dict[str, str]]
) -> None:
    api = compose["services"]["api"]
    settings = settings_from(with_generated_token(service_env(api, image_env)))
    (published,) = api["ports"]
    host_address, _, container_port = published.rpartition(":")
    assert int(container_port) == settings.api_port
    # By default the host publishes to itself only.
    assert is_loopback(host_address.rsplit(":", 1)[0])
    # Listening on every address inside the container needs the token; .env.example sets it.
    assert not is_loopback(settings.api_host) and settings.api_token is not None


def test_workers_run_as_two_replicas_with_net_raw_only_and_time_to_finish(
    compose: dict[str, Any], rendered: list[Manifest]
) -> None:
    worker = compose["services"]["worker"]
    assert worker["deploy"]["replicas"] == 2
    assert (worker["cap_drop"], worker["cap_add"]) == (["ALL"], ["NET_RAW"])
    assert "ports" not in worker  # replicas would fight over a published port
    grace = find(rendered, "Deployment", "worker")["spec"]["template"]["spec"][
        "terminationGracePeriodSeconds"
    ]
    assert worker["stop_grace_period"] == f"{grace}s"
    for name in ("api", "migrate"):
        assert compose["services"][name]["cap_drop"] == ["ALL"]
        assert "cap_add" not in compose["services"][name]
        assert "no-new-privileges:true" in compose["services"][name]["security_opt"]


def test_compose_uses_the_same_images_and_commands_as_kubernetes(
    compose: dict[str, Any], rendered: list[Manifest]
) -> None:
    in_kubernetes = {
        "migrate": find(rendered, "Job", "migrate"),
        "api": find(rendered, "Deployment", "api"),
        "worker": find(rendered, "Deployment", "worker"),
        "postgres": find(rendered, "StatefulSet", "postgres"),
    }
    for name, workload in in_kubernetes.items():
        (container,) = workload["spec"]["template"]["spec"]["containers"]
        service = compose["services"][name]
        assert service["image"] == container["image"], name
        assert service.get("command") == container.get("command"), name


def test_compose_variables_and_env_example_agree(
    compose_raw: dict[str, Any], env_example: dict[str, str]
) -> None:
    used = compose_variables((REPO / "compose.yml").read_text())
    assert used == set(env_example), f"only in compose.yml: {used - set(env_example)}, " + (
        f"only in .env.example: {set(env_example) - used}"
    )
    # What .env.example sets for the program, the program accepts once its placeholder token
    # is replaced (and refuses before).
    known = {f"UPTIME_{name.upper()}" for name in Settings.model_fields}
    settings_from(with_generated_token({k: v for k, v in env_example.items() if k in known}))


def test_the_database_url_points_at_the_postgres_service(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]["environment"]
    for name in ("migrate", "api", "worker"):
        url = urlsplit(compose["services"][name]["environment"]["DATABASE_URL"])
        assert (url.hostname, url.port) == ("postgres", 5432), name
        assert (url.username, url.password, url.path) == (
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
            "/" + postgres["POSTGRES_DB"],
        ), name
