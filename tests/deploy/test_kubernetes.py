"""deploy/: it renders, every object is valid Kubernetes 1.32, and it means what it should."""

from __future__ import annotations

import copy
import secrets
import shutil
import subprocess
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import httpx
import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

from tests.deploy.conftest import StartProgram
from tests.deploy.dockerfile import Dockerfile
from tests.deploy.kustomize import Manifest, config_map_hash, containers_of, pod_spec
from tests.deploy.manifests import (
    COMPONENTS,
    REPO,
    container_env,
    container_ports,
    find,
    pod_labels,
    quantity,
    resolve_port,
    secret_data,
    selected_workloads,
    selects,
    settings_from,
    workloads,
)
from uptime_core.probes.validation import MAX_TIMEOUT_SECONDS
from uptime_core.runtime.health import READINESS_TIMEOUT_SECONDS
from uptime_core.runtime.settings import EXAMPLE_API_TOKENS, Settings, is_loopback
from uptime_worker.loop import RECORD_GRACE_SECONDS

KUBERNETES_VERSION = "1.32.0"

# deploy/secret.example.yaml and .env.example ship a placeholder token, which the program
# refuses (an example is no secret). Where a test reads them as a deployment would, the token
# an operator generates stands in for it.
GENERATED_TOKEN = secrets.token_hex(32)


def with_generated_token(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with its example ``UPTIME_API_TOKEN`` replaced, as the examples tell an operator
    to; after checking that the program refuses the example as it stands."""
    assert env.get("UPTIME_API_TOKEN") in EXAMPLE_API_TOKENS, "the example token changed"
    with pytest.raises(ValidationError, match="example value"):
        settings_from(env)
    return {**env, "UPTIME_API_TOKEN": GENERATED_TOKEN}


def all_containers(objects: list[Manifest]) -> list[tuple[Manifest, Manifest]]:
    return [(w, c) for w in workloads(objects) for c in containers_of(w)]


def test_the_kustomization_renders_every_component_into_the_uptime_namespace(
    rendered: list[Manifest],
) -> None:
    kinds = sorted(f"{o['kind']}/{o['metadata']['name']}" for o in rendered)
    monitors = (REPO / "deploy" / "monitors" / "monitors.yaml").read_text()
    assert kinds == [
        "ConfigMap/uptime",
        # Generated from deploy/monitors/monitors.yaml, its name ends in a hash of the content.
        f"ConfigMap/uptime-monitors-{config_map_hash({'monitors.yaml': monitors})}",
        "Deployment/api",
        "Deployment/worker",
        "Job/apply-monitors",
        "Job/migrate",
        "Namespace/uptime",
        "PodDisruptionBudget/api",
        "PodDisruptionBudget/worker",
        "Secret/uptime",
        "Secret/uptime-monitors",
        "Service/api",
        "Service/postgres",
        "StatefulSet/postgres",
    ]
    for obj in rendered:
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "uptime", obj["metadata"]["name"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "uptime"


def test_every_object_passes_strict_schema_validation_for_kubernetes_1_32(
    rendered: list[Manifest],
) -> None:
    for obj in rendered:
        # strict: the schemas with additionalProperties false, so unknown fields are errors.
        version = kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        assert version == "1.32"


def test_strict_validation_rejects_a_misspelt_field(rendered: list[Manifest]) -> None:
    api = copy.deepcopy(find(rendered, "Deployment", "api"))
    api["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(api, KUBERNETES_VERSION, strict=True)


def test_a_real_kustomize_renders_the_same_objects(rendered: list[Manifest]) -> None:
    """Where kubectl or kustomize is installed, the test renderer must agree with it."""
    if kubectl := shutil.which("kubectl"):
        command = [kubectl, "kustomize", str(REPO / "deploy")]
    elif kustomize := shutil.which("kustomize"):
        command = [kustomize, "build", str(REPO / "deploy")]
    else:
        pytest.skip("neither kubectl nor kustomize is on PATH (PyPI ships neither)")
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60)
    real = list(yaml.safe_load_all(output.stdout))

    def key(o: Manifest) -> str:
        return f"{o['kind']}/{o['metadata']['name']}"

    assert sorted(real, key=key) == sorted(rendered, key=key)


def test_workload_selectors_match_their_own_pod_labels(rendered: list[Manifest]) -> None:
    for workload in workloads(rendered):
        if workload["kind"] == "Job":
            continue  # Kubernetes generates a Job's selector.
        assert selects(workload["spec"]["selector"], pod_labels(workload)), workload["metadata"]


def test_services_and_budgets_select_exactly_their_workload(rendered: list[Manifest]) -> None:
    expected = {
        ("Service", "api"): ("Deployment", "api"),
        ("Service", "postgres"): ("StatefulSet", "postgres"),
        ("PodDisruptionBudget", "api"): ("Deployment", "api"),
        ("PodDisruptionBudget", "worker"): ("Deployment", "worker"),
    }
    for (kind, name), target in expected.items():
        selector = find(rendered, kind, name)["spec"]["selector"]
        chosen = [
            (w["kind"], w["metadata"]["name"]) for w in selected_workloads(rendered, selector)
        ]
        assert chosen == [target], f"{kind}/{name} selects {chosen}"
    # A budget for each Deployment.
    budgets = [o for o in rendered if o["kind"] == "PodDisruptionBudget"]
    for deployment in (o for o in rendered if o["kind"] == "Deployment"):
        assert any(selects(b["spec"]["selector"], pod_labels(deployment)) for b in budgets), (
            deployment["metadata"]["name"]
        )


def test_services_point_at_declared_container_ports(rendered: list[Manifest]) -> None:
    for service in (o for o in rendered if o["kind"] == "Service"):
        for workload in selected_workloads(rendered, service["spec"]["selector"]):
            spec = pod_spec(workload)
            assert spec is not None
            for port in service["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                assert any(
                    p.get("name") == target or p["containerPort"] == target
                    for p in container_ports(workload)
                ), f"Service/{service['metadata']['name']} targets {target}, which no pod declares"
    api = find(rendered, "Service", "api")
    assert [p["port"] for p in api["spec"]["ports"]] == [8000]


def test_postgres_is_a_statefulset_with_a_volume_claim_and_its_headless_service(
    rendered: list[Manifest],
) -> None:
    postgres = find(rendered, "StatefulSet", "postgres")
    service = find(rendered, "Service", postgres["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    claims = [c["metadata"]["name"] for c in postgres["spec"]["volumeClaimTemplates"]]
    mounts = [
        m["name"] for m in postgres["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    ]
    assert claims == ["data"] and "data" in mounts


def test_migration_is_a_job_running_uptime_migrate(rendered: list[Manifest]) -> None:
    job = find(rendered, "Job", "migrate")
    spec = job["spec"]["template"]["spec"]
    assert spec["restartPolicy"] in ("Never", "OnFailure")
    assert [c["command"] for c in spec["containers"]] == [["uptime", "migrate"]]
    assert job["spec"]["backoffLimit"] > 0  # PostgreSQL may still be starting: try again


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_probes_use_the_port_the_program_listens_on(
    rendered: list[Manifest], image_env: Callable[[str], dict[str, str]], name: str
) -> None:
    deployment = find(rendered, "Deployment", name)
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = container_env(rendered, container, image_env(container["image"]))
    settings = settings_from(with_generated_token(env) if name == "api" else env)
    listens_on = getattr(settings, COMPONENTS[name]["port_field"])
    probes = {kind: container[kind] for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for kind, probe in probes.items():
        assert resolve_port(container, probe["httpGet"]["port"]) == listens_on, kind
    # /readyz gives up on the database after READINESS_TIMEOUT_SECONDS; the probe must wait longer.
    assert probes["readinessProbe"]["timeoutSeconds"] > READINESS_TIMEOUT_SECONDS
    # The kubelet probes the pod's address, not loopback.
    host = settings.api_host if name == "api" else settings.worker_health_host
    assert not is_loopback(host)


def test_the_api_container_has_the_token_a_public_address_needs(
    rendered: list[Manifest], image_env: Callable[[str], dict[str, str]]
) -> None:
    (container,) = find(rendered, "Deployment", "api")["spec"]["template"]["spec"]["containers"]
    env = container_env(rendered, container, image_env(container["image"]))
    # The Secret's token reaches the container, and only a real one starts it.
    settings = settings_from(with_generated_token(env))
    assert settings.api_token is not None
    assert settings.api_token.get_secret_value() == GENERATED_TOKEN


@pytest.mark.parametrize("name", sorted(COMPONENTS))
def test_probes_hit_paths_the_program_serves(
    rendered: list[Manifest],
    image_env: Callable[[str], dict[str, str]],
    start_program: StartProgram,
    name: str,
) -> None:
    (container,) = find(rendered, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    env = container_env(rendered, container, image_env(container["image"]))
    if name == "api":
        env = with_generated_token(env)
    program = start_program(container["command"], env, COMPONENTS[name]["port_variable"])
    for kind in ("startupProbe", "livenessProbe"):
        path = container[kind]["httpGet"]["path"]
        assert httpx.get(program.base_url + path).status_code == 200, (kind, path)
    readiness = httpx.get(program.base_url + container["readinessProbe"]["httpGet"]["path"])
    # Served, and honest: no database here, so not ready.
    assert readiness.status_code == 503
    assert "database" in readiness.json()["reason"]


def test_only_the_worker_adds_a_capability_and_that_is_net_raw(rendered: list[Manifest]) -> None:
    for workload, container in all_containers(rendered):
        capabilities = container["securityContext"]["capabilities"]
        assert capabilities["drop"] == ["ALL"], container["name"]
        expected = ["NET_RAW"] if workload["metadata"]["name"] == "worker" else []
        assert capabilities.get("add", []) == expected, container["name"]


def test_every_container_has_requests_and_limits(rendered: list[Manifest]) -> None:
    for _, container in all_containers(rendered):
        resources = container["resources"]
        for resource in ("cpu", "memory"):
            request = quantity(resources["requests"][resource])
            limit = quantity(resources["limits"][resource])
            assert 0 < request <= limit, (container["name"], resource)


def test_every_container_runs_as_non_root_with_a_restrictive_context(
    rendered: list[Manifest], dockerfiles: dict[str, Dockerfile]
) -> None:
    for workload, container in all_containers(rendered):
        pod = pod_spec(workload)
        assert pod is not None
        context = {**pod.get("securityContext", {}), **container["securityContext"]}
        assert context["runAsNonRoot"] is True and context["runAsUser"] != 0, container["name"]
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}
        assert context["readOnlyRootFilesystem"] is True
        assert pod["automountServiceAccountToken"] is False
        # Only the worker may escalate, to its interpreter's file capability (NET_RAW).
        escalates = workload["metadata"]["name"] == "worker"
        assert context["allowPrivilegeEscalation"] is escalates, container["name"]
        image = container["image"].split(":")[0]
        if image in dockerfiles:
            user = dockerfiles[image].final.last("USER")
            assert user is not None
            assert user.arguments == f"{context['runAsUser']}:{context['runAsGroup']}"


def test_worker_grace_period_outlasts_the_longest_probe_and_the_recording(
    rendered: list[Manifest],
) -> None:
    worker = find(rendered, "Deployment", "worker")["spec"]["template"]["spec"]
    assert worker["terminationGracePeriodSeconds"] > MAX_TIMEOUT_SECONDS + RECORD_GRACE_SECONDS


def test_two_replicas_each_and_workers_scale_without_per_replica_settings(
    rendered: list[Manifest],
) -> None:
    for name in ("api", "worker"):
        assert find(rendered, "Deployment", name)["spec"]["replicas"] == 2
    worker = find(rendered, "Deployment", "worker")["spec"]["template"]["spec"]
    (container,) = worker["containers"]
    # Each replica names itself; a fixed id would make replicas share leases.
    assert "UPTIME_WORKER_ID" not in {e["name"] for e in container.get("env", [])}
    assert all("emptyDir" in volume for volume in worker.get("volumes", []))
    assert all("hostPort" not in port for port in container["ports"])


def test_the_example_secret_connects_the_programs_to_the_postgres_it_creates(
    rendered: list[Manifest],
) -> None:
    secret = secret_data(find(rendered, "Secret", "uptime"))
    postgres = find(rendered, "StatefulSet", "postgres")
    (container,) = postgres["spec"]["template"]["spec"]["containers"]
    env = container_env(rendered, container, {})
    url = urlsplit(secret["database-url"])
    service = find(rendered, "Service", "postgres")
    assert url.hostname == service["metadata"]["name"]
    assert url.port == service["spec"]["ports"][0]["port"]
    assert (url.username, url.password, url.path) == (
        env["POSTGRES_USER"],
        env["POSTGRES_PASSWORD"],
        "/" + env["POSTGRES_DB"],
    )


def test_the_configmap_holds_only_settings_the_program_reads(rendered: list[Manifest]) -> None:
    data = find(rendered, "ConfigMap", "uptime")["data"]
    known = {f"UPTIME_{name.upper()}" for name in Settings.model_fields}
    assert set(data) <= known, set(data) - known
    settings_from(data)  # the values are valid, or this raises


def test_the_images_are_the_ones_built_here_at_this_version(rendered: list[Manifest]) -> None:
    from uptime_core import __version__

    images = {
        (w["metadata"]["name"], c["image"], c["imagePullPolicy"])
        for w, c in all_containers(rendered)
        if c["image"].startswith("uptime-")
    }
    assert images == {
        ("api", f"uptime-api:{__version__}", "IfNotPresent"),
        ("apply-monitors", f"uptime-api:{__version__}", "IfNotPresent"),
        ("migrate", f"uptime-api:{__version__}", "IfNotPresent"),
        ("worker", f"uptime-worker:{__version__}", "IfNotPresent"),
    }
