"""`uptime run|api|worker --help` lists the address flags with the variable and default each
replaces (issue 17); in this process, through the parser `uptime` uses."""

from __future__ import annotations

import pytest

from uptime_cli.commands import build_parser


def help_text(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([*args, "--help"])
    assert exited.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines at any width


@pytest.mark.parametrize("command", ["run", "api"])
def test_run_and_api_list_host_and_port_with_their_defaults(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = help_text(capsys, command)
    assert "--host HOST address the API listens on (default: UPTIME_API_HOST, else 127.0.0.1)" in (
        text
    )
    assert "--port PORT port the API listens on (default: UPTIME_API_PORT, else 8000)" in text


def test_worker_lists_its_health_port_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_text(capsys, "worker")
    assert (
        "--health-port PORT port of the worker's health endpoints "
        "(default: UPTIME_WORKER_HEALTH_PORT, else 8001)"
    ) in text


def test_a_port_that_is_not_a_number_is_refused_by_the_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["api", "--port", "80000"])
    assert exited.value.code == 2
    assert "argument --port: '80000' is not a port number from 0 to 65535" in (
        capsys.readouterr().err
    )
