"""One set of `uptime` subcommands starts uptime everywhere: Compose, Kubernetes, `make run`."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import entry_points
from typing import Any

import pytest

from tests.deploy.conftest import DOCKERFILES
from tests.deploy.dockerfile import Dockerfile
from tests.deploy.kustomize import Manifest, containers_of
from tests.deploy.manifests import REPO, workloads
from uptime_cli import commands as cli
from uptime_core.runtime.settings import Settings

EXPECTED = {
    "migrate": ["uptime", "migrate"],
    "api": ["uptime", "api"],
    "worker": ["uptime", "worker"],
}


class FakeChild:
    """Stands in for a spawned process; exits at once with code 2 (a configuration error, which
    `uptime run` does not start again), so `uptime run` stops supervising."""

    def __init__(self, argv: list[str], **_: Any) -> None:
        self.argv = argv

    def poll(self) -> int:
        return 2


def what_uptime_run_starts(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The `uptime` commands `uptime run` performs: the migration it runs in-process, then the
    subcommands it spawns (`python -m uptime_cli <subcommand>`, i.e. `uptime <subcommand>`)."""
    performed: list[list[str]] = []

    def migrate(url: str, settings: Settings) -> None:
        performed.append(["uptime", "migrate"])

    def spawn(argv: list[str], **kwargs: Any) -> FakeChild:
        assert argv[:3] == [sys.executable, "-m", "uptime_cli"], argv
        performed.append(["uptime", *argv[3:]])
        return FakeChild(argv, **kwargs)

    monkeypatch.setattr(cli, "migrate_to_head", migrate)
    # `uptime run` spawns through subprocess.Popen (restored when the test ends).
    monkeypatch.setattr(subprocess, "Popen", spawn)
    monkeypatch.setattr(cli, "stop_children", lambda children, grace: None)
    settings = Settings(database_url="postgresql://u@127.0.0.1:9/x", api_host="127.0.0.1")
    cli.command_run(settings)
    return performed


def test_the_uptime_script_is_the_cli_that_run_spawns() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "uptime"]
    assert script.value == "uptime_cli.entry:main"


def test_make_run_runs_uptime_run() -> None:
    makefile = (REPO / "Makefile").read_text()
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None
    assert re.search(r"\$\(BIN\)/uptime run\s*$", recipe[1].strip())


def test_uptime_run_migrates_and_starts_the_api_and_a_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert what_uptime_run_starts(monkeypatch) == list(EXPECTED.values())


def test_uptime_migrate_runs_the_migration_uptime_run_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    called: list[str] = []
    monkeypatch.setattr(cli, "migrate_to_head", lambda url, settings: called.append(url))
    cli.command_migrate(Settings(database_url="postgresql://u@127.0.0.1:9/x"))
    assert called == ["postgresql://u@127.0.0.1:9/x"]


def test_compose_kubernetes_images_and_make_run_start_the_same_subcommands(
    monkeypatch: pytest.MonkeyPatch,
    compose: dict[str, Any],
    rendered: list[Manifest],
    dockerfiles: dict[str, Dockerfile],
) -> None:
    in_compose = {
        name: service["command"]
        for name, service in compose["services"].items()
        if service.get("image", "").startswith(tuple(DOCKERFILES))
    }
    # The Job apply-monitors is a client of the API, not a part of uptime that Compose or
    # `uptime run` starts (tests/deploy/test_monitors.py checks its command).
    in_kubernetes = {
        workload["metadata"]["name"]: container["command"]
        for workload in workloads(rendered)
        for container in containers_of(workload)
        if container["image"].startswith(tuple(DOCKERFILES))
        and workload["metadata"]["name"] != "apply-monitors"
    }
    in_images: dict[str, list[str]] = {}
    for dockerfile in dockerfiles.values():
        cmd = dockerfile.final.last("CMD")
        assert cmd is not None
        in_images[cmd.exec_form()[1]] = cmd.exec_form()
    by_make_run = {command[1]: command for command in what_uptime_run_starts(monkeypatch)}

    assert in_compose == in_kubernetes == by_make_run == EXPECTED
    assert in_images == {k: v for k, v in EXPECTED.items() if k != "migrate"}
    # Each is a real subcommand of the `uptime` command.
    for command in EXPECTED.values():
        assert command[1] in cli.COMMANDS
