"""Fixtures for the deployment tests: the rendered Kubernetes objects, compose.yml, the
Dockerfiles, and the programs started the way a container starts them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import dockerfile
from tests.deploy.kustomize import Manifest, render, split_image
from tests.deploy.manifests import REPO, env_file, interpolate
from tests.support.net import free_port, wait_for_http

# Dockerfiles by the image name they are tagged with.
DOCKERFILES = {"uptime-api": "Dockerfile.api", "uptime-worker": "Dockerfile.worker"}
# A database nobody listens on: the programs start and report it in /readyz.
UNREACHABLE_DATABASE = "postgresql://uptime:unused@127.0.0.1:9/uptime"


@pytest.fixture(scope="session")
def rendered() -> list[Manifest]:
    """Every object `kubectl kustomize deploy/` prints."""
    return render(REPO / "deploy")


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    return env_file(REPO / ".env.example")


@pytest.fixture(scope="session")
def compose_raw() -> dict[str, Any]:
    """compose.yml as written (anchors resolved, variables not)."""
    loaded: dict[str, Any] = yaml.safe_load((REPO / "compose.yml").read_text())
    return loaded


@pytest.fixture(scope="session")
def compose(compose_raw: dict[str, Any], env_example: dict[str, str]) -> dict[str, Any]:
    """compose.yml as Compose sees it with .env copied from .env.example."""
    interpolated: dict[str, Any] = interpolate(compose_raw, env_example)
    return interpolated


@pytest.fixture(scope="session")
def dockerfiles() -> dict[str, dockerfile.Dockerfile]:
    return {image: dockerfile.parse(REPO / path) for image, path in DOCKERFILES.items()}


@pytest.fixture(scope="session")
def image_env(
    dockerfiles: dict[str, dockerfile.Dockerfile],
) -> Callable[[str], dict[str, str]]:
    """``image_env("uptime-api:0.1.0")``: the environment the image's ENV sets (none for an
    image not built here)."""

    def env_of(reference: str) -> dict[str, str]:
        name, _ = split_image(reference)
        built = dockerfiles.get(name)
        if built is None:
            return {}
        # PATH belongs to the image's file system, not to the host that runs the tests.
        return {k: v for k, v in built.final.env().items() if k != "PATH"}

    return env_of


@dataclass
class RunningProgram:
    """An `uptime` subcommand running on this machine as its container would run it."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    health_port: int
    log_path: Path

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}"


StartProgram = Callable[[list[str], Mapping[str, str], str], RunningProgram]


@pytest.fixture
def start_program(tmp_path: Path) -> Iterator[StartProgram]:
    """``start_program(["uptime", "api"], container_env, "UPTIME_API_PORT")`` runs the
    container's command with the container's environment, but on a free port and with a
    database nobody listens on; waits until /healthz answers. Stopped with SIGTERM at the end,
    and each must stop cleanly."""
    started: list[RunningProgram] = []
    bin_dir = Path(sys.executable).parent

    def start(command: list[str], env: Mapping[str, str], port_variable: str) -> RunningProgram:
        assert command[0] == "uptime", command
        port = free_port()
        inherited = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("UPTIME_") and k != "DATABASE_URL"
        }
        full_env = {
            **inherited,
            **env,
            "DATABASE_URL": UNREACHABLE_DATABASE,
            port_variable: str(port),
        }
        log_path = tmp_path / f"{'-'.join(command)}-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(bin_dir / "uptime"), *command[1:]],
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        program = RunningProgram(process, full_env, port, log_path)
        started.append(program)
        try:
            wait_for_http(f"{program.base_url}/healthz", timeout=30)
        except AssertionError:
            process.kill()
            process.wait()
            raise AssertionError(f"{command} did not serve /healthz: {program.output}") from None
        return program

    yield start
    codes = []
    for program in started:
        if program.process.poll() is None:
            program.process.send_signal(signal.SIGTERM)
        try:
            codes.append(program.process.wait(timeout=30))
        finally:
            if program.process.poll() is None:
                program.process.kill()
                program.process.wait()
    outputs = [program.output for program in started]
    # uvicorn re-raises SIGTERM once it has shut down cleanly, so `uptime api` ends by it.
    clean = (0, -signal.SIGTERM)
    assert all(code in clean for code in codes), f"exit codes {codes}; output: {outputs}"
    assert not any("Traceback" in output for output in outputs), outputs
